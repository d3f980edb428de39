package decode

import (
	"encoding/binary"
	"net/netip"
)

// TCP option kinds (IANA "TCP Option Kind Numbers").
const (
	optKindEOL           = 0
	optKindNOP           = 1
	optKindMSS           = 2
	optKindWindowScale   = 3
	optKindSACKPermitted = 4
	optKindTimestamps    = 8
	optKindFastOpen      = 34
	optKindExperimental  = 254
	fastOpenMagic        = 0xF989 // RFC 7413 §4.1.1: experimental kind 254 with this ExID
)

// decodeTCP decodes the TCP header (RFC 9293 §3.1) at the start of b, what
// was captured of a segment whose length per the IP header is l4len bytes
// (len(b) ≤ l4len), sent from the address src to dst (4 or 16 bytes each,
// as in the IP header).
//
// A data offset that points past the captured bytes but not past l4len is
// a snap length cut: the segment is still KindTCP, its options are parsed
// as far as they were captured and OptTruncated is set.
func (d *Decoder) decodeTCP(b []byte, l4len int, src, dst []byte, p *Packet) Kind {
	// The IP payload must be long enough to hold the fixed header.
	if l4len < tcpMinHeader {
		return KindBadTCP
	}
	// The fixed header must be captured.
	if len(b) < tcpMinHeader {
		return KindBadTCP
	}
	dataOff := int(b[12]>>4) * 4
	// The data offset must cover the fixed header...
	if dataOff < tcpMinHeader {
		return KindBadTCP
	}
	// ...and end inside the IP payload.
	if dataOff > l4len {
		return KindBadTCP
	}
	s := &p.Segment
	s.Src = netip.AddrPortFrom(addrFrom(src), binary.BigEndian.Uint16(b[0:2]))
	s.Dst = netip.AddrPortFrom(addrFrom(dst), binary.BigEndian.Uint16(b[2:4]))
	s.Seq = Seq(binary.BigEndian.Uint32(b[4:8]))
	s.Ack = Seq(binary.BigEndian.Uint32(b[8:12]))
	s.Flags = tcpFlags(b[12], b[13])
	s.Window = binary.BigEndian.Uint16(b[14:16])
	s.PayloadLen = l4len - dataOff
	s.PayloadCut = s.PayloadLen > 0 && len(b) < l4len
	// Options end at the data offset, or where the capture ends.
	parseOptions(b[tcpMinHeader:min(dataOff, len(b))], dataOff-tcpMinHeader, &s.Options)
	// The checksum covers the whole segment, so it can only be checked if
	// the whole segment was captured.
	if d.opts.VerifyChecksums && len(b) >= l4len {
		if tcpChecksum(src, dst, b[:l4len]) == 0 {
			s.Checksum = ChecksumGood
		} else {
			s.Checksum = ChecksumBad
		}
	}
	return KindTCP
}

// tcpFlags returns the 9 flags from bytes 12 and 13 of a TCP header: NS is
// bit 0 of byte 12, the other 8 are byte 13 in Flags bit order.
func tcpFlags(b12, b13 byte) Flags {
	return Flags(b13) | Flags(b12&1)<<8
}

// parseOptions parses the TCP option list b into o. declared is the length
// of the option list per the data offset; b is what was captured of it
// (len(b) ≤ declared). Parsing stops at EOL, at the first malformed option
// (OptBad, BadKind), or where the capture ends (OptTruncated).
func parseOptions(b []byte, declared int, o *Options) {
	if len(b) < declared {
		o.Present |= OptTruncated
	}
	bad := func(kind uint8) {
		o.Present |= OptBad
		o.BadKind = kind
	}
	for i := 0; i < len(b); {
		kind := b[i]
		switch kind {
		case optKindEOL:
			return
		case optKindNOP:
			i++
			continue
		}
		// The length byte must lie inside the option list...
		if i+1 >= declared {
			bad(kind)
			return
		}
		// ...and have been captured.
		if i+1 >= len(b) {
			return // OptTruncated is set
		}
		n := int(b[i+1])
		// The length counts kind and length bytes, and the option must
		// end inside the option list.
		if n < 2 || i+n > declared {
			bad(kind)
			return
		}
		// The whole option must have been captured.
		if i+n > len(b) {
			return // OptTruncated is set
		}
		v := b[i : i+n] // len(v) == n, checked against each kind's size below
		switch kind {
		case optKindMSS:
			if n != 4 {
				bad(kind)
				return
			}
			o.Present |= OptMSS
			o.MSS = binary.BigEndian.Uint16(v[2:4])
		case optKindWindowScale:
			if n != 3 {
				bad(kind)
				return
			}
			o.Present |= OptWindowScale
			o.WindowScale = v[2]
		case optKindSACKPermitted:
			if n != 2 {
				bad(kind)
				return
			}
			o.Present |= OptSACKPermitted
		case optKindTimestamps:
			if n != 10 {
				bad(kind)
				return
			}
			o.Present |= OptTimestamps
			o.TSval = binary.BigEndian.Uint32(v[2:6])
			o.TSecr = binary.BigEndian.Uint32(v[6:10])
		case optKindFastOpen:
			// n ≥ 2 was checked: an empty cookie is a cookie request.
			o.Present |= OptFastOpen
			o.CookieLen = uint8(n - 2)
		case optKindExperimental:
			// RFC 6994 shared experimental option: a 2-byte ExID follows
			// kind and length. Other experiments are ignored.
			if n >= 4 && binary.BigEndian.Uint16(v[2:4]) == fastOpenMagic {
				o.Present |= OptFastOpen
				o.CookieLen = uint8(n - 4)
			}
		}
		i += n
	}
}

// tcpChecksum returns the ones' complement of the ones' complement sum of
// the TCP pseudo-header (RFC 9293 §3.1 for IPv4 src/dst of 4 bytes, RFC
// 8200 §8.1 for IPv6 of 16 bytes) and seg, the whole segment with its
// checksum field. It is 0 iff the checksum is correct.
func tcpChecksum(src, dst, seg []byte) uint16 {
	// Protocol and length: the IPv4 pseudo-header has them as two 16-bit
	// words, IPv6 as 32-bit words; summed and folded both come out equal.
	sum := sum16(src) + sum16(dst) + protoTCP + uint64(len(seg))
	sum += sum16(seg)
	for sum>>16 != 0 {
		sum = sum>>16 + sum&0xFFFF
	}
	return ^uint16(sum)
}

// sum16 returns the sum of b as big-endian 16-bit words (a trailing odd
// byte padded with zero), not yet folded. Adding 32-bit words and folding
// later gives the same ones' complement result (RFC 1071 §2(B)).
func sum16(b []byte) uint64 {
	var sum uint64
	// 8 bytes per round while 8 remain.
	for len(b) >= 8 {
		sum += uint64(binary.BigEndian.Uint32(b[0:4])) + uint64(binary.BigEndian.Uint32(b[4:8]))
		b = b[8:]
	}
	// Then 2 bytes per round while 2 remain.
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b[0:2]))
		b = b[2:]
	}
	// A last odd byte is the high byte of a zero-padded word.
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}
