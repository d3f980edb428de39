package partial

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// TestFlowBlockRoundTrip checks that a flow block gives back its flows,
// in emission order, whatever their times, frames and closes (which
// predict the order), and whichever fields they share with the head
// packets they refer to: negative and sub-microsecond times, frames
// absent, equal (in two files) or far apart, and byte and packet counts
// that wrap, of IPv4 and IPv6 clients.
func TestFlowBlockRoundTrip(t *testing.T) {
	c, err := newCodecs()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	edge := []int64{0, 1, -1, 999, -999, 1000, -1001, math.MaxInt64, math.MinInt64, 1_700_000_000_123_456_789}
	pick := func() int64 {
		if rng.IntN(3) == 0 {
			return edge[rng.IntN(len(edge))]
		}
		return rng.Int64() >> rng.IntN(64)
	}
	frames := []uint64{0, 1, 2, math.MaxUint64, 1 << 63, 12345}
	frame := func() uint64 {
		if rng.IntN(2) == 0 {
			return frames[rng.IntN(len(frames))]
		}
		return rng.Uint64() >> rng.IntN(64)
	}
	var flows []flowRecord
	for i := range 3000 {
		var r flowRecord
		r.HeadFirst = i%7 == 0
		f := &r.Flow
		f.Attempt = uint64(rng.IntN(500)) // ties keep their order
		f.Close = handshake.Close(rng.IntN(5))
		f.Client = netip.MustParseAddrPort("10.0.0.1:40000")
		f.FirstTS, f.LastTS = pick(), pick()
		f.Conn.FirstTS, f.Conn.Duration = pick(), pick()
		f.SYNToSYNACK, f.SYNACKToACK = pick(), pick()
		f.SYNFrame, f.SYNACKFrame, f.ACKFrame = frame(), frame(), frame()
		if i%5 == 0 {
			f.SYNACKFrame = f.SYNFrame
		}
		if i%4 == 0 {
			f.Client = netip.MustParseAddrPort("[2001:db8::1]:40000")
		}
		f.Conn.OrigIsA = i%3 != 0
		f.ClientPackets, f.ServerPackets = rng.Uint32()>>rng.IntN(32), rng.Uint32()>>rng.IntN(32)
		f.Conn.OrigPkts, f.Conn.RespPkts = rng.Uint64()>>rng.IntN(64), uint64(f.ServerPackets)
		f.Conn.OrigBytes, f.Conn.OrigIPBytes = rng.Uint64(), rng.Uint64()>>rng.IntN(64)
		f.Conn.RespBytes, f.Conn.RespIPBytes = rng.Uint64()>>rng.IntN(64), rng.Uint64()
		flows = append(flows, r)
	}
	// Head packets that some flows refer to, sharing some of their fields
	// (each with a chance of differing), in two blocks.
	pkts := make([]headPacket, blockSize+100)
	for i := range pkts {
		s := &pkts[i].Packet.Segment
		s.Src, s.Dst = netip.MustParseAddrPort("10.9.9.9:1"), netip.MustParseAddrPort("10.9.9.8:2")
		s.Timestamp, s.Frame, s.Seq = pick(), frame(), decode.Seq(rng.Uint32())
	}
	refs := make([]headRef, len(flows))
	free := rng.Perm(len(pkts)) // a packet is the first of one 4-tuple
	for i := range flows {
		if !flows[i].HeadFirst || i%3 == 0 {
			continue
		}
		at := 1 + free[i]
		f, s := &flows[i].Flow, &pkts[at-1].Packet.Segment
		for k, set := range []func(){
			func() { s.Src = f.Client }, func() { s.Dst = f.Server }, func() { s.Seq = f.ClientISN },
			func() { s.Timestamp = f.FirstTS }, func() { s.Frame = f.SYNFrame },
		} {
			if rng.IntN(4) != 0 || k == i%5 {
				set()
			}
		}
		refs[i] = refOf(at, s)
	}
	head := &storedHead{blocks: [][]byte{c.appendHeadBlock(nil, slices.Clone(pkts[:blockSize])), c.appendHeadBlock(nil, slices.Clone(pkts[blockSize:]))}}
	index, err := newHeadIndex(c, head)
	if err != nil {
		t.Fatal(err)
	}
	// Delays that order some flows against their emission (the predicted
	// order is only a prediction), with ties in the prediction.
	opts := Options{IdleTimeout: 1 << 40, CloseLinger: 1 << 20}
	fb := newFlowBlock(opts)
	body := fb.append(c, nil, flows, refs)
	dec := newFlowBlock(opts)
	got, err := dec.read(c, body, nil, index)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, flows) {
		for i := range flows {
			if !reflect.DeepEqual(got[i], flows[i]) {
				t.Fatalf("flow %d: got %+v\nwant %+v", i, got[i].Flow, flows[i].Flow)
			}
		}
		t.Fatalf("got %d flows, want %d", len(got), len(flows))
	}
	// Read without the head, it names the farthest packet referred to.
	check := newFlowBlock(opts)
	if _, err := check.read(c, body, nil, nil); err != nil || check.maxAt == 0 || check.maxAt > len(pkts) {
		t.Errorf("read without the head: err %v, farthest reference %d of %d", err, check.maxAt, len(pkts))
	}
	// A head without the packets referred to is refused.
	short, err := newHeadIndex(c, &storedHead{blocks: head.blocks[:1]})
	if err != nil {
		t.Fatal(err)
	}
	if check.maxAt > blockSize {
		if _, err := dec.read(c, body, nil, short); err == nil {
			t.Errorf("flows referring to head packet %d were read with %d head packets", check.maxAt, blockSize)
		}
	}
	// A damaged order is refused, not misread.
	for _, cut := range []int{1, 2, len(body) / 2} {
		if _, err := dec.read(c, body[:cut], nil, index); err == nil {
			t.Errorf("a block cut at %d bytes was read", cut)
		}
	}
}
