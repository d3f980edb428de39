package reassembly

import (
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// memoryFor is a MaxMemory that gives a table of n SYN-only (compact)
// attempts.
func memoryFor(n int) int64 { return int64(n)*compactBytes*4/3 + compactBytes }

// flooder is source i of a flood against srv.
func flooder(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}), 40000)
}

// TestEarlyDecisionsKeepEveryCount floods a table of 10 attempts with 100
// unanswered SYNs, each retransmitted a second later: every attempt is
// emitted once, half_open, the retransmissions are absorbed, and the
// oldest attempts are the ones decided early.
func TestEarlyDecisionsKeepEveryCount(t *testing.T) {
	var pkts []*decode.Packet
	for i := range 100 {
		pkts = append(pkts, pkt(flooder(i), srv, int64(i)*ms, fSYN, uint32(1000+i), 0, 0))
	}
	for i := range 100 {
		pkts = append(pkts, pkt(flooder(i), srv, sec+int64(i)*ms, fSYN, uint32(1000+i), 0, 0))
	}
	opts := Options{MaxMemory: memoryFor(10)}
	var flows []*Flow
	tr := New(opts, func(f *Flow) { flows = append(flows, keep(f)) })
	tr.early.maxTombs = 1000 // the test is about attempts
	for i, p := range pkts {
		p.Segment.Frame = uint64(i + 1)
		tr.Add(p)
	}
	tr.Flush()
	if got := tr.Early().MaxAttempts; got != 10 {
		t.Fatalf("MaxMemory %d held %d attempts, want 10", opts.MaxMemory, got)
	}
	if len(flows) != 100 {
		t.Fatalf("%d flows, want 100", len(flows))
	}
	early := 0
	for i, f := range flows {
		if f.Verdict != handshake.HalfOpen {
			t.Errorf("flow %d: %v", i, f.Verdict)
		}
		if f.Has(handshake.DecidedEarly) {
			early++
			if f.Client != flooder(i) {
				t.Errorf("early decision %d is %v, want the oldest, %v", i, f.Client, flooder(i))
			}
			if ev := f.Evidence[len(f.Evidence)-1]; ev.Code != handshake.DecidedEarly || ev.Frame != uint64(i+11) {
				t.Errorf("flow %d: evidence %+v, want decided_early at frame %d (the 11th attempt after it)", i, ev, i+11)
			}
		}
	}
	// 90 decided early by the first SYNs, then the last 10 by nothing: the
	// retransmissions of the first 90 are absorbed, those of the last 10
	// join their attempts.
	st := tr.Early()
	if early != 90 || st.Decided != 90 || st.Absorbed != 90 || st.TombstonesDropped != 0 {
		t.Errorf("%d flows decided early, stats %+v; want 90 decided, 90 absorbed", early, st)
	}
	for _, f := range flows[90:] {
		if f.SYNRetransmits != 1 {
			t.Errorf("%v: %d retransmissions, want 1", f.Client, f.SYNRetransmits)
		}
	}
	again := New(opts, func(f *Flow) { flows = append(flows, keep(f)) })
	again.early.maxTombs = 1000
	for _, p := range pkts {
		again.Add(p)
	}
	again.Flush()
	if !reflect.DeepEqual(flowsText(flows[100:]), flowsText(flows[:100])) {
		t.Error("a second run decided differently")
	}
}

func flowsText(flows []*Flow) []string {
	var s []string
	for _, f := range flows {
		s = append(s, fmt.Sprintf("%v %v %v %v %d", f.Client, f.Server, f.Verdict, f.Anomalies, f.SYNRetransmits))
	}
	return s
}

// TestEarlyTombstone checks what becomes of later segments: a SYN-ACK
// answering an early-decided SYN is absorbed (no midstream flow), a SYN
// with a new ISN starts a new attempt, and a tombstone expires with the
// idle timeout it stands for.
func TestEarlyTombstone(t *testing.T) {
	other := netip.MustParseAddrPort("10.0.0.3:41000")
	pkts := []*decode.Packet{
		pkt(cli, srv, 0, fSYN, 1000, 0, 0),
		pkt(other, srv, ms, fSYN, 7000, 0, 0),          // decides cli's attempt early
		pkt(srv, cli, 2*ms, fSYNACK, 5000, 1001, 0),    // absorbed
		pkt(cli, srv, 3*ms, fACK, 1001, 5001, 0),       // absorbed
		pkt(cli, srv, 4*ms, fSYN, 2000, 0, 0),          // a new attempt: decides other's early
		pkt(other, srv, 200*sec, fSYN, 7000, 0, 0),     // tombstone expired: a new attempt, deciding cli's early
		pkt(cli, srv, 200*sec+ms, fRSTACK, 1, 2001, 0), // past cli's tombstone: new traffic
	}
	var flows []*Flow
	tr := New(Options{MaxMemory: memoryFor(1)}, func(f *Flow) { flows = append(flows, keep(f)) })
	for i, p := range pkts {
		p.Segment.Frame = uint64(i + 1)
		tr.Add(p)
	}
	tr.Flush()
	got := flowsText(flows)
	want := []string{
		"10.0.0.1:40000 10.0.0.2:80 half_open [decided_early] 0",
		"10.0.0.3:41000 10.0.0.2:80 half_open [decided_early] 0",
		"10.0.0.1:40000 10.0.0.2:80 half_open [decided_early] 0",
		"10.0.0.3:41000 10.0.0.2:80 half_open [decided_early] 0",
		"10.0.0.1:40000 10.0.0.2:80 midstream [] 0",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flows\n%q\nwant\n%q", got, want)
	}
	if st := tr.Early(); st.Absorbed != 2 {
		t.Errorf("%+v, want 2 absorbed", st)
	}
}

// TestEarlyTombstoneBound checks that tombstones stay within their share
// of MaxMemory.
func TestEarlyTombstoneBound(t *testing.T) {
	var flows int
	tr := New(Options{MaxMemory: memoryFor(4)}, func(*Flow) { flows++ })
	for i := range 5000 {
		p := pkt(flooder(i), srv, int64(i)*us, fSYN, 1, 0, 0)
		tr.Add(p)
	}
	tr.Flush()
	st := tr.Early()
	if flows != 5000 || tr.early.tombs.len() > tr.early.maxTombs || st.TombstonesDropped == 0 {
		t.Errorf("%d flows, %d tombstones (bound %d), %+v", flows, tr.early.tombs.len(), tr.early.maxTombs, st)
	}
}

// BenchmarkAttemptMemory reports the live heap of an open attempt and the
// allocations per new attempt, for SYN-only attempts (a flood) and for
// established ones, with Zeek's view (zeek formats, partials) and without
// (every other format), and the table's own estimate beside them.
func BenchmarkAttemptMemory(b *testing.B) {
	for _, kind := range []string{"syn-only", "established"} {
		for _, conn := range []string{"noconn", "conn"} {
			b.Run(kind+"/"+conn, func(b *testing.B) {
				const n = 50000
				opts := Options{NoConnState: conn == "noconn"}
				var perAttempt, allocs, estimate float64
				for b.Loop() {
					pkts := make([]decode.Packet, 0, 3*n)
					for i := range n {
						a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
						pkts = append(pkts, *pkt(a, srv, int64(i)*us, fSYN, 1000, 0, 0))
						if kind == "established" {
							pkts = append(pkts, *pkt(srv, a, int64(i)*us+1, fSYNACK, 5000, 1001, 0), *pkt(a, srv, int64(i)*us+2, fACK, 1001, 5001, 0))
						}
					}
					tr := New(opts, func(*Flow) {})
					var m0, m1 runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&m0)
					for i := range pkts {
						tr.Add(&pkts[i])
					}
					runtime.GC()
					runtime.ReadMemStats(&m1)
					if tr.Open() != n {
						b.Fatalf("%d open", tr.Open())
					}
					perAttempt = float64(m1.HeapAlloc-m0.HeapAlloc) / n
					allocs = float64(m1.Mallocs-m0.Mallocs) / n
					estimate = float64(attemptCost(tr.conn))
					if kind == "syn-only" {
						estimate = float64(compactBytes)
					}
					runtime.KeepAlive(tr)
					runtime.KeepAlive(pkts)
				}
				b.ReportMetric(perAttempt, "B/attempt")
				b.ReportMetric(allocs, "allocs/attempt")
				b.ReportMetric(estimate, "B/attempt-estimate")
			})
		}
	}
}
