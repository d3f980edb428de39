package decode

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// MaxNesting bounds how many encapsulations one frame may carry: tunnel
// levels (each recorded in Tunnel) and the L2-in-L2 headers that restart
// Ethernet decoding (transparent Ethernet bridging, ERSPAN, 802.1ah PBB,
// Cisco FabricPath, VN-Tag). A frame nested deeper is KindUnknownEncap:
// counted, not decoded, so a crafted packet cannot make decoding recurse
// without end. Runs of VLAN tags and MPLS labels are loops over the
// captured bytes and do not count.
const MaxNesting = 8

// TunnelType names an encapsulation that carries IP.
type TunnelType uint8

// Tunnel types. The zero value is not a tunnel.
const (
	TunnelNone   TunnelType = iota
	TunnelIPIP              // IPv4 in IPv4 (IP protocol 4, RFC 2003)
	Tunnel6in4              // IPv6 in IPv4 (IP protocol 41, RFC 4213)
	Tunnel4in6              // IPv4 in IPv6 (next header 4, RFC 2473)
	Tunnel6in6              // IPv6 in IPv6 (next header 41, RFC 2473)
	TunnelGRE               // GRE (RFC 2784, 2890) and PPTP's enhanced GRE (RFC 2637); ID is the key
	TunnelERSPAN            // ERSPAN type I, II or III in GRE; ID is the session ID (II, III)
	TunnelVXLAN             // VXLAN (RFC 7348, UDP 4789 or Linux's 8472); ID is the VNI
	TunnelGENEVE            // GENEVE (RFC 8926, UDP 6081); ID is the VNI
	TunnelTeredo            // Teredo (RFC 4380, UDP 3544)
	TunnelGTPU              // GTP-U version 1 G-PDU (3GPP TS 29.281, UDP 2152); ID is the TEID
	TunnelAYIYA             // AYIYA (UDP 5072)

	numTunnelTypes = int(TunnelAYIYA) + 1
)

var tunnelNames = [numTunnelTypes]string{
	TunnelNone:   "none",
	TunnelIPIP:   "ipip",
	Tunnel6in4:   "6in4",
	Tunnel4in6:   "4in6",
	Tunnel6in6:   "6in6",
	TunnelGRE:    "gre",
	TunnelERSPAN: "erspan",
	TunnelVXLAN:  "vxlan",
	TunnelGENEVE: "geneve",
	TunnelTeredo: "teredo",
	TunnelGTPU:   "gtpu",
	TunnelAYIYA:  "ayiya",
}

// String returns the type's lower-case name, such as "vxlan", or
// "TunnelType(N)" for an unknown value.
func (t TunnelType) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return "TunnelType(" + strconv.Itoa(int(t)) + ")"
}

// IDName returns what TunnelLevel.ID means for the type ("vni", "key",
// "teid", "session"), or "" when the type carries no identifier.
func (t TunnelType) IDName() string {
	switch t {
	case TunnelVXLAN, TunnelGENEVE:
		return "vni"
	case TunnelGRE:
		return "key"
	case TunnelGTPU:
		return "teid"
	case TunnelERSPAN:
		return "session"
	}
	return ""
}

// TunnelLevel is one encapsulation around a packet: its type, the outer IP
// header's endpoints and the tenant or session identifier the header
// carries.
type TunnelLevel struct {
	Type TunnelType
	// HasID says whether ID is valid: a GRE header without the key field,
	// or ERSPAN type I, have none.
	HasID bool
	// ID is the VXLAN or GENEVE VNI, GRE key, GTP-U TEID or ERSPAN session ID.
	ID uint32
	// Src and Dst are the addresses of the IP header carrying the tunnel.
	Src, Dst netip.Addr
}

// Tunnel is the encapsulation context of a packet: the tunnel levels
// around it, outermost first. It is a comparable value of fixed size
// (MaxNesting levels), so it can be part of a flow's identity without
// allocating; the zero Tunnel is plain, untunnelled traffic.
type Tunnel struct {
	n      uint8
	levels [MaxNesting]TunnelLevel
}

// Len returns the number of levels, 0 for plain traffic or a nil t.
func (t *Tunnel) Len() int {
	if t == nil {
		return 0
	}
	return int(t.n)
}

// Level returns level i, 0 being the outermost; it panics unless
// 0 ≤ i < Len().
func (t *Tunnel) Level(i int) TunnelLevel { return t.levels[:t.n][i] }

// Push adds an inner level. It reports false, leaving t unchanged, when t
// already has MaxNesting levels.
func (t *Tunnel) Push(l TunnelLevel) bool {
	if int(t.n) == MaxNesting {
		return false
	}
	t.levels[t.n] = l
	t.n++
	return true
}

// Canonical returns t with each level's endpoints in canonical order
// (Src ≤ Dst), so that both directions of a connection have the same
// context, and the set of levels it swapped (bit i for level i): the
// input to Orient to get t back.
func (t Tunnel) Canonical() (Tunnel, uint8) {
	var swapped uint8
	for i := range t.levels[:t.n] {
		if l := &t.levels[i]; l.Src.Compare(l.Dst) > 0 {
			l.Src, l.Dst = l.Dst, l.Src
			swapped |= 1 << i
		}
	}
	return t, swapped
}

// Orient returns t with the endpoints of the levels in swap (bit i for
// level i) exchanged.
func (t Tunnel) Orient(swap uint8) Tunnel {
	for i := range t.levels[:t.n] {
		if swap&(1<<i) != 0 {
			l := &t.levels[i]
			l.Src, l.Dst = l.Dst, l.Src
		}
	}
	return t
}

// Levels returns the set of all levels of t (bit i for level i), the swap
// set of Orient that reverses every level.
func (t *Tunnel) Levels() uint8 { return uint8(1<<t.Len() - 1) }

// AppendText appends the compact form of t used by the table and the
// timeline: the levels outermost first, joined by "/", each as the type
// and, where it has one, "=" and the ID: "vxlan=42", "gre=7/ipip". It
// appends nothing for plain traffic.
func (t *Tunnel) AppendText(dst []byte) []byte {
	for i, l := range t.levels[:t.n] {
		if i > 0 {
			dst = append(dst, '/')
		}
		dst = append(dst, l.Type.String()...)
		if l.HasID {
			dst = append(dst, '=')
			dst = strconv.AppendUint(dst, uint64(l.ID), 10)
		}
	}
	return dst
}

// String returns the compact form of AppendText, "" for plain traffic.
func (t Tunnel) String() string { return string(t.AppendText(nil)) }

// UDP ports that announce a tunnel.
const (
	portVXLAN      = 4789
	portVXLANLinux = 8472
	portGENEVE     = 6081
	portTeredo     = 3544
	portGTPU       = 2152
	portAYIYA      = 5072
)

// IP protocol numbers that carry tunnels.
const (
	protoIPv4 = 4
	protoUDP  = 17
	protoIPv6 = 41
	protoGRE  = 47
)

// GRE protocol types beyond the Ethernet types decodeEtherType knows.
const (
	greERSPAN2 = 0x88BE // ERSPAN type II, or type I when the S bit is clear
	greERSPAN3 = 0x22EB
	grePPP     = 0x880B // PPTP
)

// enter records a tunnel level carried by the IP header from src to dst
// (4 or 16 bytes each). It reports false when the nesting bound is
// reached; the caller then returns KindUnknownEncap.
func (d *Decoder) enter(p *Packet, typ TunnelType, id uint32, hasID bool, src, dst []byte) bool {
	if d.nest >= MaxNesting {
		return false
	}
	d.nest++
	return p.Tunnel.Push(TunnelLevel{Type: typ, HasID: hasID, ID: id, Src: addrFrom(src), Dst: addrFrom(dst)})
}

// enterL2 counts an L2-in-L2 header against MaxNesting.
func (d *Decoder) enterL2() bool {
	if d.nest >= MaxNesting {
		return false
	}
	d.nest++
	return true
}

// decodeIPinIP decodes the inner packet of an IP-in-IP tunnel (proto 4 or
// 41) whose outer header ran from src to dst. b is the outer payload as
// captured, wire its length on the wire.
func (d *Decoder) decodeIPinIP(proto uint8, outerV6 bool, b []byte, wire int, src, dst []byte, p *Packet) Kind {
	var typ TunnelType
	switch {
	case proto == protoIPv4 && !outerV6:
		typ = TunnelIPIP
	case proto == protoIPv6 && !outerV6:
		typ = Tunnel6in4
	case proto == protoIPv4:
		typ = Tunnel4in6
	default:
		typ = Tunnel6in6
	}
	if !d.enter(p, typ, 0, false, src, dst) {
		return KindUnknownEncap
	}
	if proto == protoIPv4 {
		return d.decodeIPv4(b, wire, p)
	}
	return d.decodeIPv6(b, wire, p)
}

// decodeGRE decodes a GRE header (RFC 2784 with RFC 2890's key and
// sequence number; version 1 is PPTP's enhanced GRE, RFC 2637 §4.1) and
// what it carries: IPv4, IPv6, MPLS, Ethernet (transparent Ethernet
// bridging), ERSPAN or PPP. Source routing (RFC 1701's R bit) and other
// protocols are KindUnknownEncap.
func (d *Decoder) decodeGRE(b []byte, wire int, src, dst []byte, p *Packet) Kind {
	// Flags, version and protocol type must be captured.
	if len(b) < 4 {
		return KindBadPacket
	}
	flags := binary.BigEndian.Uint16(b[0:2])
	proto := binary.BigEndian.Uint16(b[2:4])
	const (
		flagC   = 0x8000 // checksum present
		flagR   = 0x4000 // routing present (RFC 1701)
		flagK   = 0x2000 // key present
		flagS   = 0x1000 // sequence number present
		flagA   = 0x0080 // acknowledgment number present (version 1)
		version = 0x0007
	)
	ver := flags & version
	if flags&flagR != 0 || ver > 1 || ver == 1 && (flags&flagK == 0 || proto != grePPP) {
		return KindUnknownEncap
	}
	off := 4
	if flags&flagC != 0 {
		off += 4 // checksum and reserved1
	}
	var key uint32
	hasKey := flags&flagK != 0
	if hasKey {
		// The key (version 0) or payload length and call ID (version 1)
		// must be captured.
		if len(b) < off+4 {
			return KindBadPacket
		}
		key = binary.BigEndian.Uint32(b[off : off+4])
		if ver == 1 {
			key &= 0xFFFF // the call ID; the payload length is not an identity
		}
		off += 4
	}
	if flags&flagS != 0 {
		off += 4
	}
	if ver == 1 && flags&flagA != 0 {
		off += 4
	}
	// The whole header must be captured.
	if len(b) < off {
		return KindBadPacket
	}
	rest, restWire := b[off:], wire-off
	switch proto {
	case greERSPAN2:
		if flags&flagS == 0 {
			// ERSPAN type I: no ERSPAN header, an Ethernet frame follows.
			if !d.enter(p, TunnelERSPAN, 0, false, src, dst) {
				return KindUnknownEncap
			}
			return d.decodeEthernet(rest, restWire, p)
		}
		return d.decodeERSPAN(rest, restWire, src, dst, false, p)
	case greERSPAN3:
		return d.decodeERSPAN(rest, restWire, src, dst, true, p)
	}
	if !d.enter(p, TunnelGRE, key, hasKey, src, dst) {
		return KindUnknownEncap
	}
	if proto == grePPP {
		return d.decodePPP(rest, restWire, p)
	}
	switch proto {
	case etherTypeIPv4, etherTypeIPv6, etherTypeTEB, etherTypeMPLS, etherTypeMPLSMulticast:
		return d.decodeEtherType(proto, rest, restWire, p)
	}
	return KindUnknownEncap
}

// decodeERSPAN decodes an ERSPAN type II (8-byte) or type III (12-byte,
// plus an 8-byte platform subheader when its O bit is set) header and the
// Ethernet frame or, for type III frame type 2, the IP packet after it.
func (d *Decoder) decodeERSPAN(b []byte, wire int, src, dst []byte, v3 bool, p *Packet) Kind {
	hdr := 8
	if v3 {
		hdr = 12
	}
	// The fixed header must be captured.
	if len(b) < hdr {
		return KindBadPacket
	}
	ver := b[0] >> 4
	if v3 && ver != 2 || !v3 && ver != 1 {
		return KindUnknownEncap
	}
	session := uint32(binary.BigEndian.Uint16(b[2:4]) & 0x03FF)
	ipFrame := false
	if v3 {
		if b[11]&0x01 != 0 { // O: platform-specific subheader
			hdr += 8
			if len(b) < hdr {
				return KindBadPacket
			}
		}
		switch ft := b[10] >> 2 & 0x1F; ft {
		case 0: // Ethernet
		case 2: // IP
			ipFrame = true
		default:
			return KindUnknownEncap
		}
	}
	if !d.enter(p, TunnelERSPAN, session, true, src, dst) {
		return KindUnknownEncap
	}
	if ipFrame {
		return d.decodeIP(b[hdr:], wire-hdr, p)
	}
	return d.decodeEthernet(b[hdr:], wire-hdr, p)
}

// decodeUDP looks at a UDP datagram (RFC 768) for a tunnel it carries,
// told by port. b is the IP payload as captured, wire its length on the
// wire; src and dst are the IP addresses. A datagram on a tunnel port
// whose payload does not look like that tunnel is plain UDP: KindOther.
func (d *Decoder) decodeUDP(b []byte, wire int, src, dst []byte, p *Packet) Kind {
	// The 8-byte header must be captured.
	if len(b) < 8 {
		return KindOther
	}
	sport := binary.BigEndian.Uint16(b[0:2])
	dport := binary.BigEndian.Uint16(b[2:4])
	// The UDP length bounds the payload on the wire (0 is a jumbogram or
	// a TSO capture: trust the IP length).
	if n := int(binary.BigEndian.Uint16(b[4:6])); n >= 8 && n <= wire {
		wire = n
		if len(b) > n {
			b = b[:n]
		}
	}
	pl, plWire := b[8:], wire-8
	switch {
	case dport == portVXLAN || dport == portVXLANLinux:
		return d.decodeVXLAN(pl, plWire, src, dst, p)
	case dport == portGENEVE:
		return d.decodeGENEVE(pl, plWire, src, dst, p)
	case dport == portGTPU || sport == portGTPU:
		return d.decodeGTPU(pl, plWire, src, dst, p)
	case dport == portTeredo || sport == portTeredo:
		return d.decodeTeredo(pl, plWire, src, dst, false, p)
	case dport == portAYIYA || sport == portAYIYA:
		return d.decodeAYIYA(pl, plWire, src, dst, p)
	}
	// Teredo between a client and a relay or peer uses any ports (RFC
	// 4380 §5.2.9): recognised by its shape alone (strict).
	return d.decodeTeredo(pl, plWire, src, dst, true, p)
}

// decodeVXLAN decodes a VXLAN header (RFC 7348 §5: flags with I set, 24
// reserved bits, the 24-bit VNI, 8 reserved bits) and its Ethernet frame.
func (d *Decoder) decodeVXLAN(b []byte, wire int, src, dst []byte, p *Packet) Kind {
	// The header and an Ethernet header must be captured, with I set.
	if len(b) < 8+ethHeader || b[0]&0x08 == 0 {
		return KindOther
	}
	vni := binary.BigEndian.Uint32(b[4:8]) >> 8
	if !d.enter(p, TunnelVXLAN, vni, true, src, dst) {
		return KindUnknownEncap
	}
	return d.decodeEthernet(b[8:], wire-8, p)
}

// decodeGENEVE decodes a GENEVE header (RFC 8926 §3: version 0, options
// length in 4-byte words, protocol type, 24-bit VNI), skips its options and
// decodes the Ethernet frame or IP packet it carries.
func (d *Decoder) decodeGENEVE(b []byte, wire int, src, dst []byte, p *Packet) Kind {
	// The fixed 8-byte header must be captured, version 0.
	if len(b) < 8 || b[0]>>6 != 0 {
		return KindOther
	}
	hdr := 8 + int(b[0]&0x3F)*4
	// The options must be captured.
	if len(b) < hdr {
		return KindBadPacket
	}
	proto := binary.BigEndian.Uint16(b[2:4])
	vni := binary.BigEndian.Uint32(b[4:8]) >> 8
	switch proto {
	case etherTypeTEB, etherTypeIPv4, etherTypeIPv6:
	default:
		return KindUnknownEncap
	}
	if !d.enter(p, TunnelGENEVE, vni, true, src, dst) {
		return KindUnknownEncap
	}
	return d.decodeEtherType(proto, b[hdr:], wire-hdr, p)
}

// decodeGTPU decodes a GTP-U version 1 header (3GPP TS 29.281 §5): flags
// (version 1, PT 1, E, S, PN), message type, length, TEID, the optional
// sequence number, N-PDU number and next extension header type, and the
// chain of extension headers; a G-PDU (type 255) carries an IP packet.
// Other messages (echo, error indication, end marker) are KindOther.
func (d *Decoder) decodeGTPU(b []byte, wire int, src, dst []byte, p *Packet) Kind {
	// The mandatory 8 bytes must be captured; version 1 with PT set.
	if len(b) < 8 || b[0]>>5 != 1 || b[0]&0x10 == 0 {
		return KindOther
	}
	if b[1] != 0xFF {
		return KindOther // not a G-PDU
	}
	teid := binary.BigEndian.Uint32(b[4:8])
	off := 8
	if b[0]&0x07 != 0 { // E, S or PN: 4 optional bytes follow
		if len(b) < off+4 {
			return KindBadPacket
		}
		next := b[off+3]
		off += 4
		if b[0]&0x04 != 0 { // E: extension headers
			// Each extension header is at least 4 bytes, so off grows each
			// round and the loop ends.
			for next != 0 {
				// The length byte must be captured; it counts 4-byte units
				// including itself and the next type byte, and is not 0.
				if len(b) < off+1 || b[off] == 0 {
					return KindBadPacket
				}
				n := int(b[off]) * 4
				if len(b) < off+n {
					return KindBadPacket
				}
				next = b[off+n-1]
				off += n
			}
		}
	}
	// The version nibble of the inner packet must be captured.
	if len(b) < off+1 {
		return KindBadPacket
	}
	if !d.enter(p, TunnelGTPU, teid, true, src, dst) {
		return KindUnknownEncap
	}
	return d.decodeIP(b[off:], wire-off, p)
}

// decodeTeredo decodes a Teredo datagram (RFC 4380 §5.1.1): an optional
// authentication header (0x0001, client ID and authentication lengths,
// both, nonce and confirmation byte), an optional origin indication
// (0x0000 and 6 bytes), then an IPv6 packet. Anything else on the port is
// plain UDP. Off the Teredo port (strict), the IPv6 packet must fill the
// datagram exactly and one of its addresses must be a Teredo address
// (2001::/32, RFC 4380 §4), as Wireshark's and Zeek's heuristics require.
func (d *Decoder) decodeTeredo(b []byte, wire int, src, dst []byte, strict bool, p *Packet) Kind {
	off := 0
	// Authentication header: 4 bytes, the client ID and authentication
	// value, 8-byte nonce, 1-byte confirmation.
	if len(b) >= 4 && b[0] == 0x00 && b[1] == 0x01 {
		off = 4 + int(b[2]) + int(b[3]) + 9
	}
	// Origin indication: 8 bytes.
	if len(b) >= off+2 && b[off] == 0x00 && b[off+1] == 0x00 {
		off += 8
	}
	// The IPv6 header must be captured and look like one, and the IPv6
	// payload length must fit what follows: no other UDP traffic on 3544
	// is taken for Teredo.
	if len(b) < off+ipv6Header || b[off]>>4 != 6 {
		return KindOther
	}
	n := ipv6Header + int(binary.BigEndian.Uint16(b[off+4:off+6]))
	if n > wire-off || strict && (n != wire-off || !teredoAddr(b[off+8:off+12]) && !teredoAddr(b[off+24:off+28])) {
		return KindOther
	}
	if !d.enter(p, TunnelTeredo, 0, false, src, dst) {
		return KindUnknownEncap
	}
	return d.decodeIPv6(b[off:], wire-off, p)
}

// teredoAddr reports whether the first 4 bytes of an IPv6 address are the
// Teredo prefix 2001:0000::/32.
func teredoAddr(a []byte) bool {
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0
}

// decodeAYIYA decodes an AYIYA header (draft-massar-v6ops-ayiya §5:
// identity length and type, signature length and hash method,
// authentication method and opcode, next header, 4-byte epoch time, then
// identity and signature) and, for a forward (opcode 1) of IPv4 or IPv6,
// the packet after it.
func (d *Decoder) decodeAYIYA(b []byte, wire int, src, dst []byte, p *Packet) Kind {
	// The fixed 8-byte header must be captured; only forwards carry IP.
	if len(b) < 8 || b[2]&0x0F != 1 || b[3] != protoIPv4 && b[3] != protoIPv6 {
		return KindOther
	}
	hdr := 8 + 1<<(b[0]>>4) + int(b[1]>>4)*4
	// The identity and signature must be captured.
	if len(b) < hdr+1 {
		return KindBadPacket
	}
	if !d.enter(p, TunnelAYIYA, 0, false, src, dst) {
		return KindUnknownEncap
	}
	if b[3] == protoIPv4 {
		return d.decodeIPv4(b[hdr:], wire-hdr, p)
	}
	return d.decodeIPv6(b[hdr:], wire-hdr, p)
}
