package partial

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
)

// TestHeadBlockRoundTrip checks that a head block gives back its packets
// whatever their times (negative, sub-microsecond, extreme) and sequence,
// acknowledgement and timestamp values (close to or far from those of
// the packet before in the same direction, which they are written
// relative to), and that a packed block is smaller than the plain one
// when the values follow on.
func TestHeadBlockRoundTrip(t *testing.T) {
	c, err := newCodecs()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	ends := []netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:443"),
		netip.MustParseAddrPort("[2001:db8::1]:5000"), netip.MustParseAddrPort("[2001:db8::2]:80"),
	}
	times := []int64{0, -1, 999, -1001, math.MaxInt64, math.MinInt64, 1_700_000_000_123_456_789}
	pkts := make([]headPacket, blockSize)
	ts := int64(1_764_000_000_000_000_000)
	for i := range pkts {
		s := &pkts[i].Packet.Segment
		s.Src, s.Dst = ends[rng.IntN(4)], ends[rng.IntN(4)]
		ts += rng.Int64N(1e6) * 1000
		s.Timestamp = ts
		if i%97 == 0 {
			s.Timestamp = times[rng.IntN(len(times))]
		}
		s.Seq, s.Ack = decode.Seq(i*1448), decode.Seq(rng.Uint32())
		s.Options.TSval, s.Options.TSecr = uint32(i), rng.Uint32()
		pkts[i].Term, pkts[i].Cut = i%5 == 0, i%7 == 0
	}
	for _, n := range []int{0, 1, 2, len(pkts)} {
		want := pkts[:n]
		b := c.appendHeadBlock(nil, slices.Clone(want))
		got, rest, err := c.readHeadBlock(b, nil)
		if err != nil || len(rest) != 0 {
			t.Fatalf("%d packets: %v, %d bytes left", n, err, len(rest))
		}
		if n > 0 && !reflect.DeepEqual(got, want) {
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("%d packets: packet %d: got %+v\nwant %+v", n, i, got[i].Packet.Segment, want[i].Packet.Segment)
				}
			}
		}
	}
	if packed, plain := len(c.appendHeadBlock(nil, slices.Clone(pkts))), len(c.head.AppendBlock(nil, pkts)); packed >= plain {
		t.Errorf("a packed block takes %d bytes, a plain one %d", packed, plain)
	}
}
