package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// randomFlow is a flow with random fields of every kind a row or a
// record formats: addresses of both families (mapped, zoned, invalid),
// durations with and without values, anomalies with evidence.
func randomFlow(rng *rand.Rand) *reassembly.Flow {
	addr := func() netip.AddrPort {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		port := uint16(rng.Uint32())
		switch rng.IntN(6) {
		case 0:
			return netip.AddrPortFrom(netip.AddrFrom16(b), port)
		case 1:
			return netip.AddrPortFrom(netip.AddrFrom16(b).WithZone("eth0"), port)
		case 2:
			return netip.AddrPortFrom(netip.AddrFrom16(netip.AddrFrom4([4]byte(b[:4])).As16()), port)
		case 3:
			return netip.AddrPort{}
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[:4])), port)
	}
	dur := func() int64 {
		switch rng.IntN(4) {
		case 0:
			return rng.Int64N(2e6) - 1e6
		case 1:
			return rng.Int64N(1e6) * 1000
		case 2:
			return int64(rng.Uint64())
		}
		return rng.Int64N(1e12)
	}
	f := &reassembly.Flow{Client: addr(), Server: addr()}
	f.Verdict = handshake.Verdict(rng.IntN(5))
	f.SYNToSYNACK, f.HasSYNToSYNACK = dur(), rng.IntN(3) > 0
	f.SYNACKToACK, f.HasSYNACKToACK = dur(), rng.IntN(3) > 0
	if rng.IntN(2) == 0 {
		f.SYNRetransmits, f.SYNACKRetransmits = uint16(rng.IntN(3)), uint16(rng.IntN(20000))
	}
	for range rng.IntN(3) {
		a := handshake.Anomaly{Code: handshake.Code(1 + rng.IntN(20)), Frame: rng.Uint64N(1e7), File: rng.IntN(3)}
		if rng.IntN(2) == 0 {
			a.Field, a.Seen, a.Expected, a.HasValues = handshake.FieldAck, rng.Uint64N(1<<32), rng.Uint64N(1<<32), true
		}
		f.Evidence = append(f.Evidence, a)
		f.Anomalies = append(f.Anomalies, a.Code)
	}
	f.FirstTS = int64(rng.Uint64()) >> rng.IntN(4)
	f.LastTS = f.FirstTS + rng.Int64N(1e11)
	f.Conn = connstate.Summary{OrigIsA: rng.IntN(2) == 0, FirstTS: f.FirstTS, HasDuration: rng.IntN(2) == 0, Duration: rng.Int64N(1e12),
		OrigPkts: rng.Uint64N(100), RespPkts: rng.Uint64N(100), OrigBytes: rng.Uint64N(1e9), HistLen: uint8(rng.IntN(4))}
	copy(f.Conn.History[:], "ShAD")
	return f
}

// oldCells is cells as it was written with strings, fmt and strconv:
// what appendCells must equal.
func oldCells(t *tableWriter, f *reassembly.Flow) [7]string {
	millis := func(ns int64, ok bool) string {
		if !ok {
			return "-"
		}
		return strconv.FormatFloat(float64(ns)/1e6, 'f', 3, 64) + " ms"
	}
	retransmits := "-"
	if f.SYNRetransmits != 0 || f.SYNACKRetransmits != 0 {
		retransmits = fmt.Sprintf("SYN %d, SYN-ACK %d", f.SYNRetransmits, f.SYNACKRetransmits)
	}
	return [7]string{
		f.Client.String() + tunnelNote(f.Tunnel), f.Server.String(), t.verdict(f.Verdict),
		oldWhy(f, t.opts.Files), millis(f.SYNToSYNACK, f.HasSYNToSYNACK), millis(f.SYNACKToACK, f.HasSYNACKToACK),
		retransmits,
	}
}

// oldWhy is a row's explanation: its anomalies with their evidence, or,
// when it has none, its reason.
func oldWhy(f *reassembly.Flow, files []string) string {
	if len(f.Anomalies) > 0 {
		return anomalyLines(f, files)
	}
	return string(f.AppendReason(nil))
}

func TestAppendCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, opts := range []Options{{}, {Color: true, Files: []string{"a.pcap", "b.pcap"}}} {
		tw := newTable(&bytes.Buffer{}, opts)
		for range 20000 {
			f := randomFlow(rng)
			if got, want := tw.cells(f), oldCells(tw, f); got != want {
				t.Fatalf("%+v:\n got %q\nwant %q", f, got, want)
			}
		}
	}
}

func TestAppendMillis3(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	check := func(ns int64) {
		t.Helper()
		if got, want := appendMillis3([]byte("x"), ns), strconv.AppendFloat([]byte("x"), float64(ns)/1e6, 'f', 3, 64); !bytes.Equal(got, want) {
			t.Fatalf("%d: %s, want %s", ns, got, want)
		}
	}
	for ns := int64(-1_000_000); ns < 1_000_000; ns++ {
		check(ns)
	}
	for _, ns := range []int64{1e15 - 1, 1e15, -1e15, -(1e15 - 1), math.MaxInt64, math.MinInt64, 1<<53 - 1, 1 << 53} {
		check(ns)
	}
	for range 300_000 {
		check(rng.Int64N(2e15) - 1e15)
		check(rng.Int64N(1e12)/1000*1000 + 500)
		check(int64(rng.Uint64()))
	}
}

// TestZeekAllocs checks that a conn.log record costs no allocation once
// the writer's buffers have grown.
func TestZeekAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	f := randomFlow(rng)
	f.Client, f.Server = netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("[2001:db8::1]:443")
	for _, w := range []interface {
		record(*reassembly.Flow, *connstate.Summary)
		flush() error
	}{newZeek(io.Discard, 0), newZeekJSON(io.Discard, 0)} {
		w.record(f, &f.Conn)
		if n := testing.AllocsPerRun(100, func() { w.record(f, &f.Conn); w.flush() }); n != 0 {
			t.Errorf("%T: %v allocations a record", w, n)
		}
	}
}

// TestStatsCounts compares the per-server failed counts (kept with a
// pending run of the last server) and the anomaly counts with plain maps,
// on flows whose servers come in runs and interleaved.
func TestStatsCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	var s Stats
	failed := map[netip.Addr]uint64{}
	anomalies := map[handshake.Code]uint64{}
	server := netip.AddrFrom4([4]byte{192, 0, 2, 1})
	for i := range 50000 {
		if rng.IntN(10) == 0 {
			server = netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.IntN(8))})
		}
		f := randomFlow(rng)
		f.Server = netip.AddrPortFrom(server, 80)
		s.Add(f)
		switch f.Verdict {
		case handshake.HalfOpen, handshake.Refused, handshake.Malformed:
			failed[server]++
		}
		for _, c := range f.Anomalies {
			anomalies[c]++
		}
		if i%9999 == 0 || i == 49999 {
			less := func(a, b netip.Addr) int { return a.Compare(b) }
			if got, exact := s.TopFailedServers(100); !exact || !slices.Equal(got, top(failed, 100, less)) {
				t.Fatalf("after %d flows: failed servers %v (exact %v), want %v", i+1, got, exact, top(failed, 100, less))
			}
			byName := func(a, b handshake.Code) int { return cmp.Compare(a.String(), b.String()) }
			if got, want := s.TopAnomalies(s.AnomalyCodes()), top(anomalies, len(anomalies), byName); !slices.Equal(got, want) {
				t.Fatalf("after %d flows: anomalies %v, want %v", i+1, got, want)
			}
		}
	}
}
