package connstate

import (
	"encoding/binary"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
)

// FuzzConn turns bytes into segments (10 bytes each: direction and flags,
// seq and ack deltas, payload length, window, time step) and checks the
// invariants: no panic, one of the 13 states, a history within its cap
// of Zeek's letters, packet counts that add up, sizes within sequence
// space.
func FuzzConn(f *testing.F) {
	// A handshake, data, both FINs.
	f.Add([]byte{0x02, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0x92, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0x10, 1, 0, 1, 0, 0, 0, 1, 0, 1})
	// A RST storm and retransmissions.
	f.Add([]byte{0x04, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0x18, 0, 0, 0, 0, 5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Conn
		a := decode.Segment{Src: hostA, Dst: hostB}
		var seq, ack [2]uint32
		ts := int64(0)
		var pkts uint64
		for len(b) >= 10 {
			fromA := b[0]&0x80 == 0
			s := 0
			if !fromA {
				s = 1
			}
			seq[s] += uint32(binary.BigEndian.Uint16(b[1:3])) << (b[3] & 15)
			ack[s] += uint32(b[4]) << (b[4] & 7)
			seg := a
			if !fromA {
				seg.Src, seg.Dst = hostB, hostA
			}
			seg.Flags = decode.Flags(b[0] & 0x3f)
			seg.Seq, seg.Ack = decode.Seq(seq[s]), decode.Seq(ack[s])
			seg.PayloadLen = int(binary.BigEndian.Uint16(b[5:7]))
			seg.IPLen = 40 + seg.PayloadLen
			seg.Window = uint16(b[7])
			ts += int64(b[8]) * 1e8
			seg.Timestamp = ts
			seg.Checksum = decode.ChecksumState(b[9] % 3)
			if c.Expired(ts) {
				c = Conn{}
				pkts = 0
			}
			c.Add(&seg, fromA)
			if seg.Checksum != decode.ChecksumBad {
				pkts++
			}
			b = b[10:]
		}
		sum := c.Summary()
		if sum.State >= numStates || int(sum.HistLen) > HistoryCap || sum.OrigPkts+sum.RespPkts != pkts {
			t.Fatalf("%+v (packets %d)", sum, pkts)
		}
		for _, h := range sum.HistoryString() {
			if !containsRune("SHADFRCGTWIQshadfrcgtwiq^+", h) {
				t.Fatalf("history %q has %q", sum.HistoryString(), h)
			}
		}
	})
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}
