package partial

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"

	"github.com/hsanalyze/hsanalyze/handshake"
)

// TestFlowBlockRoundTrip checks that a flow block gives back its flows,
// in emission order, whatever their times, frames and closes (which
// predict the order): negative and
// sub-microsecond times, frames absent, equal (in two files) or far
// apart, and byte counts that wrap.
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
		f.Conn.OrigBytes, f.Conn.OrigIPBytes = rng.Uint64(), rng.Uint64()>>rng.IntN(64)
		f.Conn.RespBytes, f.Conn.RespIPBytes = rng.Uint64()>>rng.IntN(64), rng.Uint64()
		flows = append(flows, r)
	}
	// Delays that order some flows against their emission (the predicted
	// order is only a prediction), with ties in the prediction.
	opts := Options{IdleTimeout: 1 << 40, CloseLinger: 1 << 20}
	fb := newFlowBlock(opts)
	body := fb.append(c, nil, flows)
	dec := newFlowBlock(opts)
	got, err := dec.read(c, body, nil)
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
	// A damaged order is refused, not misread.
	for _, cut := range []int{1, 2, len(body) / 2} {
		if _, err := dec.read(c, body[:cut], nil); err == nil {
			t.Errorf("a block cut at %d bytes was read", cut)
		}
	}
}
