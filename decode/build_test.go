package decode

// Frame builders for the tests. Each writes its header field by field; the
// TCP checksum is filled by slowChecksum, a deliberately obvious version
// that the fast tcpChecksum is checked against.

import (
	"encoding/binary"
	"net/netip"
)

var (
	cli4 = netip.MustParseAddr("192.0.2.1")
	srv4 = netip.MustParseAddr("198.51.100.2")
	cli6 = netip.MustParseAddr("2001:db8::1")
	srv6 = netip.MustParseAddr("2001:db8:1::2")
	rtr4 = netip.MustParseAddr("203.0.113.9")
	rtr6 = netip.MustParseAddr("2001:db8:ff::9")
)

// synHdr is a 40-byte SYN header as Linux sends it (tcpdump: "Flags [S],
// seq 1000, win 64240, options [mss 1460,sackOK,TS val 100 ecr 0,nop,wscale
// 7]"), checksum zero until an IP builder fills it.
func synHdr() []byte {
	return []byte{
		0xc3, 0x50, // source port 50000
		0x01, 0xbb, // destination port 443
		0x00, 0x00, 0x03, 0xe8, // sequence number 1000
		0x00, 0x00, 0x00, 0x00, // acknowledgment number 0
		0xa0,       // data offset 10 words (40 bytes), reserved 0, NS 0
		0x02,       // flags: SYN
		0xfa, 0xf0, // window 64240
		0x00, 0x00, // checksum (filled later)
		0x00, 0x00, // urgent pointer
		0x02, 0x04, 0x05, 0xb4, // MSS 1460
		0x04, 0x02, // SACK permitted
		0x08, 0x0a, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, // timestamps TSval 100, TSecr 0
		0x01,             // NOP
		0x03, 0x03, 0x07, // window scale 7
	}
}

// synOpts is what synHdr's options decode to.
var synOpts = Options{
	Present:     OptMSS | OptSACKPermitted | OptTimestamps | OptWindowScale,
	MSS:         1460,
	WindowScale: 7,
	TSval:       100,
}

// synSeg returns the Segment synHdr decodes to when sent from src to dst.
func synSeg(src, dst netip.Addr) Segment {
	return Segment{
		Src:     netip.AddrPortFrom(src, 50000),
		Dst:     netip.AddrPortFrom(dst, 443),
		Seq:     1000,
		Flags:   SYN,
		Window:  64240,
		Options: synOpts,
	}
}

// tcpSpec describes a TCP header for tcpHdr.
type tcpSpec struct {
	sport, dport uint16
	seq, ack     uint32
	off          uint8 // data offset in words; 0 means 5 + len(opts)/4
	flags        Flags
	win          uint16
	opts         []byte // padded with EOL to a multiple of 4
	payload      []byte
}

// tcpHdr builds the TCP header and payload of t, checksum zero.
func tcpHdr(t tcpSpec) []byte {
	opts := append([]byte(nil), t.opts...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0) // EOL padding
	}
	off := t.off
	if off == 0 {
		off = uint8(5 + len(opts)/4)
	}
	b := make([]byte, 20, 20+len(opts)+len(t.payload))
	binary.BigEndian.PutUint16(b[0:2], t.sport)
	binary.BigEndian.PutUint16(b[2:4], t.dport)
	binary.BigEndian.PutUint32(b[4:8], t.seq)
	binary.BigEndian.PutUint32(b[8:12], t.ack)
	b[12] = off<<4 | uint8(t.flags>>8&1) // data offset, NS
	b[13] = uint8(t.flags)               // CWR ... FIN
	binary.BigEndian.PutUint16(b[14:16], t.win)
	// checksum and urgent pointer stay 0
	b = append(b, opts...)
	return append(b, t.payload...)
}

// slowChecksum computes the TCP checksum of seg (checksum field zero)
// from src to dst the obvious way: build the pseudo-header, then add
// 16-bit words one at a time, folding as we go.
func slowChecksum(src, dst netip.Addr, seg []byte) uint16 {
	var pseudo []byte
	if src.Is4() {
		pseudo = append(pseudo, src.AsSlice()...)
		pseudo = append(pseudo, dst.AsSlice()...)
		pseudo = append(pseudo, 0, protoTCP)
		pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(seg)))
	} else {
		pseudo = append(pseudo, src.AsSlice()...)
		pseudo = append(pseudo, dst.AsSlice()...)
		pseudo = binary.BigEndian.AppendUint32(pseudo, uint32(len(seg)))
		pseudo = append(pseudo, 0, 0, 0, protoTCP)
	}
	all := append(pseudo, seg...)
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var sum uint32
	for i := 0; i < len(all); i += 2 {
		sum += uint32(all[i])<<8 | uint32(all[i+1])
		if sum > 0xFFFF {
			sum = sum&0xFFFF + 1
		}
	}
	return ^uint16(sum)
}

// withChecksum returns a copy of the TCP segment seg with its checksum
// field set for src → dst.
func withChecksum(src, dst netip.Addr, seg []byte) []byte {
	seg = append([]byte(nil), seg...)
	if len(seg) >= 18 {
		seg[16], seg[17] = 0, 0
		binary.BigEndian.PutUint16(seg[16:18], slowChecksum(src, dst, seg))
	}
	return seg
}

// ip4Spec describes an IPv4 header for ip4.
type ip4Spec struct {
	src, dst netip.Addr
	proto    uint8
	opts     []byte // IP options, a multiple of 4 bytes
	frag     uint16 // flags and fragment offset field (bytes 6-7)
	total    int    // total length; 0 means header + payload
	ihl      int    // IHL in words; 0 means computed
}

// ip4 builds an IPv4 packet carrying payload; a TCP payload gets its
// checksum filled in.
func ip4(s ip4Spec, payload []byte) []byte {
	if s.proto == protoTCP {
		payload = withChecksum(s.src, s.dst, payload)
	}
	hl := 20 + len(s.opts)
	total := s.total
	if total == 0 {
		total = hl + len(payload)
	}
	ihl := s.ihl
	if ihl == 0 {
		ihl = hl / 4
	}
	b := make([]byte, 20, hl+len(payload))
	b[0] = 0x40 | uint8(ihl)                            // version 4, IHL
	b[1] = 0                                            // DSCP, ECN
	binary.BigEndian.PutUint16(b[2:4], uint16(total))   // total length
	binary.BigEndian.PutUint16(b[4:6], 0x1234)          // identification
	binary.BigEndian.PutUint16(b[6:8], s.frag)          // flags, fragment offset
	b[8] = 64                                           // TTL
	b[9] = s.proto                                      // protocol
	copy(b[12:16], s.src.AsSlice())                     // source address
	copy(b[16:20], s.dst.AsSlice())                     // destination address
	b = append(b, s.opts...)                            // options
	binary.BigEndian.PutUint16(b[10:12], ipSum(b[:hl])) // header checksum
	return append(b, payload...)
}

// ipSum is the IPv4 header checksum of h (checksum field zero).
func ipSum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for sum > 0xFFFF {
		sum = sum>>16 + sum&0xFFFF
	}
	return ^uint16(sum)
}

// ext is one IPv6 extension header for ip6: its type and its bytes after
// the Next Header byte (the builder writes Next Header).
type ext struct {
	typ  uint8
	rest []byte
}

// Extension headers of 8 bytes each.
var (
	// hbhPad is a hop-by-hop header holding one PadN option.
	hbhPad = ext{protoHopByHop, []byte{
		0,                // Hdr Ext Len 0: 8 bytes
		1, 4, 0, 0, 0, 0, // PadN, 4 bytes of padding
	}}
	// routing0 is a routing header with no segments left.
	routing0 = ext{protoRouting, []byte{
		0,          // Hdr Ext Len 0: 8 bytes
		4,          // routing type 4 (segment routing)
		0,          // segments left 0
		0, 0, 0, 0, // reserved / type-specific
	}}
	// destPad is a destination options header holding one PadN option.
	destPad = ext{protoDestOpts, []byte{
		0,                // Hdr Ext Len 0: 8 bytes
		1, 4, 0, 0, 0, 0, // PadN, 4 bytes of padding
	}}
)

// fragExt is a fragment header with the given offset (8-octet units) and
// M flag.
func fragExt(offset uint16, more bool) ext {
	f := offset << 3
	if more {
		f |= 1 // M flag
	}
	return ext{protoFragment, []byte{
		0,                     // reserved
		byte(f >> 8), byte(f), // fragment offset, res, M
		0xde, 0xad, 0xbe, 0xef, // identification
	}}
}

// ip6 builds an IPv6 packet with the given extension headers then an
// upper-layer header of protocol proto; a TCP payload gets its checksum.
// plen overrides the payload length when not 0.
func ip6(src, dst netip.Addr, exts []ext, proto uint8, payload []byte, plen int) []byte {
	if proto == protoTCP {
		payload = withChecksum(src, dst, payload)
	}
	var chain []byte
	for i, e := range exts {
		next := proto
		if i+1 < len(exts) {
			next = exts[i+1].typ
		}
		chain = append(chain, next)
		chain = append(chain, e.rest...)
	}
	first := proto
	if len(exts) > 0 {
		first = exts[0].typ
	}
	if plen == 0 {
		plen = len(chain) + len(payload)
	}
	b := make([]byte, 40, 40+len(chain)+len(payload))
	b[0] = 0x60                                      // version 6, traffic class 0
	binary.BigEndian.PutUint16(b[4:6], uint16(plen)) // payload length
	b[6] = first                                     // next header
	b[7] = 64                                        // hop limit
	copy(b[8:24], src.AsSlice())                     // source address
	copy(b[24:40], dst.AsSlice())                    // destination address
	b = append(b, chain...)
	return append(b, payload...)
}

// Link-layer wrappers.

// eth wraps payload in an Ethernet II header of the given type.
func eth(etherType uint16, payload []byte) []byte {
	b := []byte{
		0x02, 0, 0, 0, 0, 0x02, // destination MAC
		0x02, 0, 0, 0, 0, 0x01, // source MAC
		byte(etherType >> 8), byte(etherType), // EtherType
	}
	return append(b, payload...)
}

// tag returns an 802.1Q/802.1ad tag body (TCI, inner type) to follow a
// TPID: VLAN vid, priority 0, then payload.
func tag(vid uint16, inner uint16, payload []byte) []byte {
	b := []byte{
		byte(vid >> 8 & 0x0F), byte(vid), // PCP 0, DEI 0, VLAN ID
		byte(inner >> 8), byte(inner), // inner EtherType
	}
	return append(b, payload...)
}

// sll wraps payload in a Linux cooked v1 header.
func sll(proto uint16, payload []byte) []byte {
	b := []byte{
		0x00, 0x00, // packet type: to us
		0x00, 0x01, // ARPHRD_ETHER
		0x00, 0x06, // address length 6
		0x02, 0, 0, 0, 0, 0x01, 0, 0, // address, padded to 8
		byte(proto >> 8), byte(proto), // protocol (EtherType)
	}
	return append(b, payload...)
}

// sll2 wraps payload in a Linux cooked v2 header.
func sll2(proto uint16, payload []byte) []byte {
	b := []byte{
		byte(proto >> 8), byte(proto), // protocol (EtherType)
		0x00, 0x00, // reserved
		0x00, 0x00, 0x00, 0x02, // interface index 2
		0x00, 0x01, // ARPHRD_ETHER
		0x04,                         // packet type: outgoing
		0x06,                         // address length 6
		0x02, 0, 0, 0, 0, 0x01, 0, 0, // address, padded to 8
	}
	return append(b, payload...)
}

// null wraps payload in a BSD loopback header holding af in little- or
// big-endian order.
func null(af uint32, little bool, payload []byte) []byte {
	b := make([]byte, 4, 4+len(payload))
	if little {
		binary.LittleEndian.PutUint32(b, af)
	} else {
		binary.BigEndian.PutUint32(b, af)
	}
	return append(b, payload...)
}

// cat concatenates byte slices.
func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}
