package decode

import (
	"encoding/binary"
	"net/netip"
)

// IP, TCP and ICMP are decoded by hand rather than with gopacket's IPv4,
// IPv6, TCP and ICMP layers, because hsanalyze needs to tell apart cases
// those layers merge or reject:
//   - a snap length that cut the packet (lengths from the IP header are
//     still right) from an IP length that lies (the packet is bad);
//   - IPv6 extension headers: layers.IPv6 decodes hop-by-hop options into
//     a slice and each further extension header is another layer with its
//     own slices; we only need to skip them and look at the fragment offset;
//   - ICMP errors: the quoted IP header is usually cut inside its TCP
//     header, which layers.TCP rejects;
//   - TCP options: layers.TCP appends options to a slice (reusing an
//     [4]TCPOption array, so allocating once more than 4 options appear)
//     and rejects a header whose options were cut by the snap length.

// Protocol numbers (IANA "Assigned Internet Protocol Numbers").
const (
	protoHopByHop = 0
	protoICMPv4   = 1
	protoTCP      = 6
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoICMPv6   = 58
	protoNoNext   = 59
	protoDestOpts = 60
)

// Fixed header sizes.
const (
	ipv4MinHeader = 20
	ipv6Header    = 40
	tcpMinHeader  = 20
	icmpHeader    = 8 // type, code, checksum, 4 bytes of unused/pointer/MTU
	icmpQuotedTCP = 8 // RFC 792/4443: at least 8 bytes of the original datagram's payload
)

// kindContinue is returned internally by walkIPv6Ext when the walk ended at
// an upper-layer protocol; it is never a Packet.Kind.
const kindContinue Kind = 255

// decodeIP decodes a raw IPv4 or IPv6 packet, told apart by the version
// nibble.
func (d *Decoder) decodeIP(b []byte, wire int, p *Packet) Kind {
	// The version nibble is in the first byte.
	if len(b) < 1 {
		return KindBadPacket
	}
	switch b[0] >> 4 {
	case 4:
		return d.decodeIPv4(b, wire, p)
	case 6:
		return d.decodeIPv6(b, wire, p)
	}
	return KindBadPacket
}

// decodeIPv4 decodes an IPv4 packet (RFC 791). b is what was captured of
// it, possibly followed by link-layer padding; wire is how many bytes were
// on the wire from the start of the IP header (≥ len(b)).
func (d *Decoder) decodeIPv4(b []byte, wire int, p *Packet) Kind {
	d.sawIP = true
	// The fixed header must be captured.
	if len(b) < ipv4MinHeader || b[0]>>4 != 4 {
		return KindBadPacket
	}
	ihl := int(b[0]&0x0F) * 4
	// IHL must cover the fixed header, and the options must be captured:
	// without them we cannot find the TCP header.
	if ihl < ipv4MinHeader || ihl > len(b) {
		return KindBadPacket
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total == 0 {
		// Captured on the sending host before TCP segmentation offload
		// split the packet: Linux writes a total length of 0. Trust the
		// frame.
		total = wire
	}
	// The total length must cover the header and cannot exceed what was
	// on the wire (snap length cuts are fine: wire counts them).
	if total < ihl || total > wire {
		return KindBadPacket
	}
	// Drop link-layer padding (Ethernet pads frames to 60 bytes).
	if len(b) > total {
		b = b[:total]
	}
	src, dst := b[12:16], b[16:20] // inside the fixed header
	// Fragment offset (low 13 bits of bytes 6-7, 8-byte units) and MF:
	// any fragment, the first one too, is handed out whole for
	// reassembly (package defrag), not decoded.
	fragField := binary.BigEndian.Uint16(b[6:8])
	if fragField&0x3FFF != 0 {
		p.Frag = Fragment{
			Src: addrFrom(src), Dst: addrFrom(dst),
			ID:     uint32(binary.BigEndian.Uint16(b[4:6])),
			Proto:  b[9],
			Offset: int(fragField&0x1FFF) * 8,
			More:   fragField&0x2000 != 0,
			Wire:   total - ihl,
		}
		d.fragData = b[ihl:]
		p.Frag.HdrLen = ihl
		return KindFragment
	}
	p.Segment.IPLen = total
	return d.decodeUpper(b[9], false, b[ihl:], total-ihl, src, dst, p)
}

// decodeUpper decodes the payload b of an IP packet (what was captured of
// it; wire bytes on the wire) from src to dst, 4 or 16 bytes each, whose
// upper-layer protocol is proto.
func (d *Decoder) decodeUpper(proto uint8, v6 bool, b []byte, wire int, src, dst []byte, p *Packet) Kind {
	switch proto {
	case protoTCP:
		return d.decodeTCP(b, wire, src, dst, p)
	case protoICMPv4:
		if !v6 {
			return decodeICMPv4(b, src, p)
		}
	case protoICMPv6:
		if v6 {
			return decodeICMPv6(b, src, p)
		}
	case protoIPv4, protoIPv6:
		return d.decodeIPinIP(proto, v6, b, wire, src, dst, p)
	case protoGRE:
		return d.decodeGRE(b, wire, src, dst, p)
	case protoUDP:
		return d.decodeUDP(b, wire, src, dst, p)
	}
	return KindOther
}

// decodeIPv6 decodes an IPv6 packet (RFC 8200) and its extension headers.
// b and wire are as for decodeIPv4.
func (d *Decoder) decodeIPv6(b []byte, wire int, p *Packet) Kind {
	d.sawIP = true
	// The fixed header must be captured.
	if len(b) < ipv6Header || b[0]>>4 != 6 {
		return KindBadPacket
	}
	total := ipv6Header + int(binary.BigEndian.Uint16(b[4:6]))
	if total == ipv6Header {
		// Payload length 0: a jumbogram (RFC 2675) or a TSO capture, as
		// for IPv4. Trust the frame.
		total = wire
	}
	// The payload cannot exceed what was on the wire.
	if total > wire {
		return KindBadPacket
	}
	// Drop link-layer padding.
	if len(b) > total {
		b = b[:total]
	}
	src, dst := b[8:24], b[24:40] // inside the fixed header
	proto, off, frag, k := walkIPv6Ext(b, ipv6Header, b[6])
	if k == KindFragment {
		// RFC 8200 §4.5: the fragment header holds the offset (8-byte
		// units), the M flag and the 32-bit identification; what follows
		// it (off) is this fragment's part of the fragmentable part.
		f := binary.BigEndian.Uint16(b[frag+2 : frag+4])
		p.Frag = Fragment{
			V6:  true,
			Src: addrFrom(src), Dst: addrFrom(dst),
			ID:     binary.BigEndian.Uint32(b[frag+4 : frag+8]),
			Proto:  proto,
			Offset: int(f>>3) * 8,
			More:   f&1 != 0,
			Wire:   total - off,
		}
		d.fragData = b[off:]
		p.Frag.HdrLen = frag
		return KindFragment
	}
	if k != kindContinue {
		return k
	}
	// walkIPv6Ext keeps off ≤ len(b) ≤ total.
	p.Segment.IPLen = total
	return d.decodeUpper(proto, true, b[off:], total-off, src, dst, p)
}

// walkIPv6Ext skips the IPv6 extension headers in b from off on,
// starting with next (the fixed header's Next Header when off is 40). It
// returns the upper-layer protocol and its offset in b, with kindContinue;
// or the packet's Kind when the walk ends early: KindOther for No Next
// Header, KindBadPacket for an extension header that was not captured, and
// KindFragment for a fragment header with a non-zero offset or the M flag,
// with its offset in b (frag), the offset after it and its Next Header as
// proto. A fragment header with offset 0 and M clear (an atomic fragment,
// RFC 6946) is skipped like any other.
func walkIPv6Ext(b []byte, off int, next uint8) (proto uint8, end, frag int, k Kind) {
	// Every extension header is at least 8 bytes, so off grows each round
	// and the loop ends.
	for {
		switch next {
		case protoHopByHop, protoRouting, protoDestOpts:
			// Next Header and Hdr Ext Len must be captured.
			if off+2 > len(b) {
				return 0, 0, 0, KindBadPacket
			}
			n := (int(b[off+1]) + 1) * 8 // Hdr Ext Len: 8-octet units, not counting the first 8
			// The whole header must be captured to find what follows.
			if off+n > len(b) {
				return 0, 0, 0, KindBadPacket
			}
			next = b[off]
			off += n
		case protoFragment:
			// The fragment header is 8 bytes: next, reserved, offset+flags, ID.
			if off+8 > len(b) {
				return 0, 0, 0, KindBadPacket
			}
			f := binary.BigEndian.Uint16(b[off+2 : off+4]) // offset (13 bits), res, M
			if f>>3 != 0 || f&1 != 0 {
				return b[off], off + 8, off, KindFragment
			}
			next = b[off]
			off += 8
		case protoAH:
			// Next Header and Payload Len must be captured.
			if off+2 > len(b) {
				return 0, 0, 0, KindBadPacket
			}
			n := (int(b[off+1]) + 2) * 4 // RFC 4302 §2.2: 4-octet units, minus 2
			// The whole header must be captured.
			if off+n > len(b) {
				return 0, 0, 0, KindBadPacket
			}
			next = b[off]
			off += n
		case protoNoNext:
			return 0, 0, 0, KindOther
		default:
			return next, off, 0, kindContinue
		}
	}
}

// isICMPv4Error reports whether an ICMP type quotes the datagram that
// caused it: destination unreachable, source quench, time exceeded,
// parameter problem (RFC 792).
func isICMPv4Error(typ uint8) bool {
	return typ == 3 || typ == 4 || typ == 11 || typ == 12
}

// decodeICMPv4 decodes an ICMP message (RFC 792) from the host at from.
// Errors quoting a TCP segment become KindICMPError; other messages are
// KindOther.
func decodeICMPv4(b []byte, from []byte, p *Packet) Kind {
	// Type must be captured to tell an error from other messages.
	if len(b) < 1 || !isICMPv4Error(b[0]) {
		return KindOther
	}
	// The 8-byte ICMP header precedes the quote.
	if len(b) < icmpHeader {
		return KindBadPacket
	}
	q := b[icmpHeader:]
	// The quoted fixed IPv4 header must be captured.
	if len(q) < ipv4MinHeader || q[0]>>4 != 4 {
		return KindBadPacket
	}
	ihl := int(q[0]&0x0F) * 4
	// The quoted header, options included, must be captured. Its total
	// length is not checked: the quote is cut by design.
	if ihl < ipv4MinHeader || ihl > len(q) {
		return KindBadPacket
	}
	// Only a quote of TCP that starts with the TCP header (not a later
	// fragment) is useful.
	if q[9] != protoTCP || binary.BigEndian.Uint16(q[6:8])&0x1FFF != 0 {
		return KindOther
	}
	if !quotedTCP(q[ihl:], q[12:16], q[16:20], p) {
		return KindBadPacket
	}
	p.ICMP = ICMPError{From: addrFrom(from), Type: b[0], Code: b[1], Quoted: p.ICMP.Quoted}
	return KindICMPError
}

// decodeICMPv6 decodes an ICMPv6 message (RFC 4443) from the host at from.
// Error messages (types 1 to 4) quoting a TCP segment become
// KindICMPError; other messages are KindOther.
func decodeICMPv6(b []byte, from []byte, p *Packet) Kind {
	// Type must be captured; errors are types 1 to 4 (RFC 4443 §2.1).
	if len(b) < 1 || b[0] < 1 || b[0] > 4 {
		return KindOther
	}
	// The 8-byte ICMPv6 header precedes the quote.
	if len(b) < icmpHeader {
		return KindBadPacket
	}
	q := b[icmpHeader:]
	// The quoted fixed IPv6 header must be captured.
	if len(q) < ipv6Header || q[0]>>4 != 6 {
		return KindBadPacket
	}
	// The quoted payload length is not checked: the quote is cut by design.
	proto, off, frag, k := walkIPv6Ext(q, ipv6Header, q[6])
	if k == KindFragment && binary.BigEndian.Uint16(q[frag+2:frag+4])>>3 == 0 {
		// A quoted first fragment starts with the TCP header.
		k = kindContinue
	}
	switch {
	case k == KindBadPacket:
		return KindBadPacket
	case k != kindContinue || proto != protoTCP:
		// A later fragment, No Next Header, or not TCP.
		return KindOther
	}
	if !quotedTCP(q[off:], q[8:24], q[24:40], p) {
		return KindBadPacket
	}
	p.ICMP = ICMPError{From: addrFrom(from), Type: b[0], Code: b[1], V6: true, Quoted: p.ICMP.Quoted}
	return KindICMPError
}

// quotedTCP fills p.Segment from the start of a TCP header quoted in an
// ICMP error, sent from src to dst. It sets p.ICMP.Quoted and reports
// whether the 8 guaranteed bytes were there.
func quotedTCP(t []byte, src, dst []byte, p *Packet) bool {
	// Ports and sequence number: the 8 bytes RFC 792 guarantees.
	if len(t) < icmpQuotedTCP {
		return false
	}
	s := &p.Segment
	s.Src = netip.AddrPortFrom(addrFrom(src), binary.BigEndian.Uint16(t[0:2]))
	s.Dst = netip.AddrPortFrom(addrFrom(dst), binary.BigEndian.Uint16(t[2:4]))
	s.Seq = Seq(binary.BigEndian.Uint32(t[4:8]))
	n := min(len(t), tcpMinHeader)
	p.ICMP.Quoted = n
	// Acknowledgment number, if quoted (bytes 8-11).
	if n >= 12 {
		s.Ack = Seq(binary.BigEndian.Uint32(t[8:12]))
	}
	// Flags, if quoted (bytes 12-13: NS is bit 0 of byte 12).
	if n >= 14 {
		s.Flags = tcpFlags(t[12], t[13])
	}
	// Window, if quoted (bytes 14-15).
	if n >= 16 {
		s.Window = binary.BigEndian.Uint16(t[14:16])
	}
	return true
}

// addrFrom returns the address in a, which is 4 or 16 bytes long (callers
// slice it from a captured header). An IPv4-mapped IPv6 address stays an
// IPv6 address.
func addrFrom(a []byte) netip.Addr {
	if len(a) == 4 {
		return netip.AddrFrom4([4]byte(a))
	}
	return netip.AddrFrom16([16]byte(a))
}
