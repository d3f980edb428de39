package pcapgen

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Frag is one IP fragment of a segment's outermost IP packet: bytes
// [Off, End) of its payload (End 0: to the end), sent with MF (IPv4) or M
// (IPv6) set unless it reaches the end. Off must be a multiple of 8.
type Frag struct {
	Off, End int
	// Corrupt flips every byte of this fragment's data: overlapping it
	// with another fragment makes overlapping fragments with different
	// bytes.
	Corrupt bool
}

// fragID is the identification of every fragmented packet.
const fragID = 0x4242

// fragment cuts the Ethernet frame f into the fragments fs, in that order.
// An IPv6 packet gets a fragment header after its fixed header; extension
// headers are not expected.
func fragment(f []byte, fs []Frag) ([][]byte, error) {
	eth, ip := f[:14], f[14:]
	v6 := binary.BigEndian.Uint16(f[12:14]) == 0x86DD
	hl := int(ip[0]&0x0F) * 4
	if v6 {
		hl = 40
	}
	payload := ip[hl:]
	var out [][]byte
	for _, fr := range fs {
		end := fr.End
		if end == 0 || end > len(payload) {
			end = len(payload)
		}
		if fr.Off%8 != 0 || fr.Off >= end {
			return nil, fmt.Errorf("pcapgen: fragment [%d, %d) of a %d-byte payload", fr.Off, end, len(payload))
		}
		data := append([]byte(nil), payload[fr.Off:end]...)
		if fr.Corrupt {
			for i := range data {
				data[i] ^= 0xFF
			}
		}
		more := end < len(payload)
		b := append([]byte(nil), eth...)
		if v6 {
			h := append([]byte(nil), ip[:40]...)
			next := h[6]
			h[6] = 44 // fragment header
			binary.BigEndian.PutUint16(h[4:6], uint16(8+len(data)))
			fh := []byte{next, 0, 0, 0, 0, 0, fragID >> 8, fragID & 0xFF}
			off := uint16(fr.Off/8) << 3
			if more {
				off |= 1
			}
			binary.BigEndian.PutUint16(fh[2:4], off)
			b = append(append(append(b, h...), fh...), data...)
		} else {
			h := append([]byte(nil), ip[:hl]...)
			binary.BigEndian.PutUint16(h[2:4], uint16(hl+len(data)))
			binary.BigEndian.PutUint16(h[4:6], fragID)
			ff := uint16(fr.Off / 8)
			if more {
				ff |= 0x2000
			}
			binary.BigEndian.PutUint16(h[6:8], ff)
			h[10], h[11] = 0, 0
			binary.BigEndian.PutUint16(h[10:12], Checksum(0, h))
			b = append(append(b, h...), data...)
		}
		out = append(out, b)
	}
	return out, nil
}

// appendFragmented appends the records of a segment with Fragments, the
// i-th stamped i µs after s.Time.
func appendFragmented(dst []byte, frame []byte, s Seg, nano bool) ([]byte, error) {
	frames, err := fragment(frame, s.Fragments)
	if err != nil {
		return nil, err
	}
	for i, f := range frames {
		dst = AppendRawRecord(dst, s.Time.Add(time.Duration(i)*time.Microsecond), f, nano)
	}
	return dst, nil
}
