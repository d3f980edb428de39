package report

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"testing"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// fill sets every field reachable from v to a random non-zero value, so a
// field the codec forgets shows up as a difference.
func fill(t *testing.T, rng *rand.Rand, v reflect.Value) {
	switch v.Interface().(type) {
	case netip.AddrPort:
		var a netip.Addr
		switch rng.IntN(3) {
		case 0:
			a = netip.AddrFrom4([4]byte{byte(rng.Uint32()), 2, 3, 4})
		case 1:
			a = netip.AddrFrom16([16]byte{0x20, 1, 13: byte(rng.Uint32())})
		default:
			a = netip.AddrFrom16([16]byte{0xfe, 0x80, 15: 1}).WithZone("eth0")
		}
		v.Set(reflect.ValueOf(netip.AddrPortFrom(a, uint16(1+rng.IntN(65535)))))
		return
	case connstate.Summary:
		// History holds HistLen bytes, the rest is zero.
		var c connstate.Summary
		v.Set(reflect.ValueOf(c))
		for i := range v.NumField() {
			if f := v.Field(i); f.Kind() != reflect.Array {
				fill(t, rng, f)
			}
		}
		c = v.Interface().(connstate.Summary)
		c.HistLen = uint8(rng.IntN(connstate.HistoryCap + 1))
		for i := range c.HistLen {
			c.History[i] = "ShADadFfRrTtGg^"[rng.IntN(15)]
		}
		v.Set(reflect.ValueOf(c))
		return
	case *decode.Tunnel:
		// Unexported fields: build one through Push (nil = plain traffic
		// is covered by flows of other tests).
		tun := new(decode.Tunnel)
		for i := range 1 + rng.IntN(decode.MaxNesting) {
			tun.Push(decode.TunnelLevel{Type: decode.TunnelType(1 + i), HasID: i%2 == 0, ID: rng.Uint32(),
				Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Dst: netip.AddrFrom16([16]byte{0x20, 1, 15: byte(i)})})
		}
		v.Set(reflect.ValueOf(tun))
		return
	case handshake.Tale:
		// Unexported fields: decode one from random bytes, with the
		// ICMP part (bits 0x04) present or not.
		b := make([]byte, 40)
		for i := range b {
			b[i] = byte(1 + rng.IntN(127)) // single-byte varints
		}
		var tale handshake.Tale
		if _, err := tale.DecodeBinary(b); err != nil {
			t.Fatal(err)
		}
		v.Set(reflect.ValueOf(tale))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				t.Fatalf("%s has unexported field %s: the codec cannot see it", v.Type(), v.Type().Field(i).Name)
			}
			fill(t, rng, v.Field(i))
		}
	case reflect.Slice:
		n := 1 + rng.IntN(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(t, rng, s.Index(i))
		}
		v.Set(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(1 + rng.IntN(1<<(v.Type().Bits()-2))))
		if rng.IntN(2) == 0 {
			v.SetInt(-v.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1 + rng.Uint64N(1<<(v.Type().Bits()-1)))
	case reflect.String:
		v.SetString([]string{handshake.FieldAck, "weird field"}[rng.IntN(2)])
	default:
		t.Fatalf("fill: no rule for %s (%s): teach fill and the codec", v.Type(), v.Kind())
	}
}

// TestFlowCodecCoversEveryField round-trips flows with every field set:
// a field added to reassembly.Flow or handshake.Result and not to the
// codec fails here.
func TestFlowCodecCoversEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var got reassembly.Flow
	for range 200 {
		var f reassembly.Flow
		fill(t, rng, reflect.ValueOf(&f).Elem())
		rec := appendFlowRecord(nil, &f)
		if err := decodeFlowRecord(rec, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("round trip changed the flow:\n got %+v\nwant %+v", got, f)
		}
		for n := range len(rec) {
			if decodeFlowRecord(rec[:n], &got) == nil {
				t.Fatalf("a record cut to %d of %d bytes decoded", n, len(rec))
			}
		}
	}
	var zero reassembly.Flow
	if err := decodeFlowRecord(appendFlowRecord(nil, &zero), &got); err != nil || !reflect.DeepEqual(got, zero) {
		t.Errorf("zero flow: %v, %+v", err, got)
	}
}

// TestFlowStoreOrder checks that the store yields flows by first_ts, ties
// in arrival order, the same in memory and when spilled in many runs.
func TestFlowStoreOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	flows := make([]reassembly.Flow, 5000)
	for i := range flows {
		fill(t, rng, reflect.ValueOf(&flows[i]).Elem())
		flows[i].FirstTS = int64(rng.IntN(300)) // many ties
		flows[i].Attempt = uint64(i)
	}
	var want []uint64
	for ts := range int64(300) {
		for i := range flows {
			if flows[i].FirstTS == ts {
				want = append(want, uint64(i))
			}
		}
	}
	for _, spillAt := range []int{0, 4096, 1} {
		s := flowStore{spillAt: spillAt}
		for i := range flows {
			if err := s.add(&flows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if spillAt != 0 && len(s.runs) < 2 {
			t.Errorf("spillAt %d: %d runs", spillAt, len(s.runs))
		}
		var got []uint64
		err := s.each(func(f *reassembly.Flow) error {
			got = append(got, f.Attempt)
			if !reflect.DeepEqual(*f, flows[f.Attempt]) {
				t.Fatalf("spillAt %d: flow %d changed", spillAt, f.Attempt)
			}
			return nil
		})
		s.close()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("spillAt %d: order differs", spillAt)
		}
	}
}

// TestFlowStoreBytesPerFlow measures the memory a held flow costs: live
// heap and what the store holds outside it.
func TestFlowStoreBytesPerFlow(t *testing.T) {
	const n = 100000
	f := benchFlow()
	var s flowStore
	before := liveHeap()
	for i := range n {
		f.FirstTS += int64(i % 7)
		if err := s.add(&f); err != nil {
			t.Fatal(err)
		}
	}
	heap := float64(liveHeap()) - float64(before)
	per := (heap + float64(s.held())) / n
	t.Logf("%.0f bytes per flow held (%.0f on the heap)", per, heap/n)
	s.close()
	if per > 200 {
		t.Errorf("%.0f bytes per flow held, want at most 200", per)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// benchFlow is a complete flow as the 200k bench has them.
func benchFlow() reassembly.Flow {
	f := reassembly.Flow{
		Client: netip.MustParseAddrPort("10.1.2.3:40000"), Server: netip.MustParseAddrPort("172.16.0.9:443"),
		FirstTS: 1_795_000_000_000_000_000, LastTS: 1_795_000_004_000_000_000, Attempt: 123456,
	}
	r := &f.Result
	r.Verdict, r.HasClientISN, r.HasServerISN, r.ClientISN, r.ServerISN = handshake.Complete, true, true, 3_000_000_000, 2_000_000_000
	r.SYNFrame, r.SYNACKFrame, r.ACKFrame = 1_000_001, 1_000_050, 1_000_090
	r.SYNToSYNACK, r.SYNACKToACK, r.HasSYNToSYNACK, r.HasSYNACKToACK = 14_000_000, 15_000, true, true
	r.ClientPackets, r.ServerPackets = 6, 5
	r.ClientOptions = handshake.SynOptions{Present: 0xf, MSS: 1460, WindowScale: 7}
	r.ServerOptions = r.ClientOptions
	r.Close, r.ClientState, r.ServerState = handshake.ClientFIN, handshake.TimeWait, handshake.Closed
	return f
}

func BenchmarkFlowStore(b *testing.B) {
	f := benchFlow()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		var s flowStore
		for range 1000 {
			s.add(&f)
		}
		buf.Reset()
		s.each(func(f *reassembly.Flow) error {
			buf.Write(appendFlow(nil, f, false, 0))
			return nil
		})
	}
}
