package handshake

import (
	"encoding/binary"
	"errors"
)

// AppendBinary appends a compact, lossless encoding of t (varints; the
// ICMP sender only when an ICMP error was captured): 6 bytes for a typical
// attempt. DecodeBinary reads it back.
func (t *Tale) AppendBinary(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, t.frame)
	for _, v := range [...]uint32{t.synSpan, t.ackSpan, t.endDelay, t.endGap, uint32(t.synAfterAck)} {
		dst = binary.AppendUvarint(dst, uint64(v))
	}
	dst = append(dst, t.icmpType, t.icmpCode, t.bits, byte(t.ending))
	if t.bits&tICMP != 0 {
		dst = append(dst, t.icmpFrom[:]...)
	}
	return dst
}

// errBadTale reports an encoding DecodeBinary cannot read.
var errBadTale = errors.New("handshake: corrupt tale encoding")

// DecodeBinary sets t from the encoding AppendBinary wrote at the start of
// b and returns how many bytes it took.
func (t *Tale) DecodeBinary(b []byte) (int, error) {
	*t = Tale{}
	n := 0
	uv := func(max uint64) uint64 {
		v, k := binary.Uvarint(b[n:])
		if k <= 0 || v > max {
			n = -1
			return 0
		}
		n += k
		return v
	}
	t.frame = uv(1<<64 - 1)
	for _, p := range [...]*uint32{&t.synSpan, &t.ackSpan, &t.endDelay, &t.endGap} {
		if n < 0 {
			return 0, errBadTale
		}
		*p = uint32(uv(1<<32 - 1))
	}
	if n < 0 {
		return 0, errBadTale
	}
	t.synAfterAck = uint16(uv(1<<16 - 1))
	if n < 0 || len(b)-n < 4 {
		return 0, errBadTale
	}
	t.icmpType, t.icmpCode, t.bits, t.ending = b[n], b[n+1], b[n+2], Ending(b[n+3])
	n += 4
	if t.bits&tICMP != 0 {
		if len(b)-n < 16 {
			return 0, errBadTale
		}
		copy(t.icmpFrom[:], b[n:n+16])
		n += 16
	}
	return n, nil
}
