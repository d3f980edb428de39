package decode

import (
	"encoding/binary"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link types (LINKTYPE_ values from the pcap and pcapng headers) that
// Decode understands. See https://www.tcpdump.org/linktypes.html.
const (
	// LinkTypeNull is BSD loopback: a 4-byte address family in the
	// capturing host's byte order, then an IP packet.
	LinkTypeNull uint32 = 0
	// LinkTypeEthernet is Ethernet II, optionally with 802.1Q / 802.1ad tags.
	LinkTypeEthernet uint32 = 1
	// LinkTypePPP is PPP, optionally with HDLC address and control bytes.
	LinkTypePPP uint32 = 9
	// LinkTypeRawAlt12 and LinkTypeRawAlt14 are the DLT_RAW values some
	// systems write instead of LinkTypeRaw.
	LinkTypeRawAlt12 uint32 = 12
	LinkTypeRawAlt14 uint32 = 14
	// LinkTypeRaw is a raw IPv4 or IPv6 packet, told apart by its version.
	LinkTypeRaw uint32 = 101
	// LinkTypeLoop is OpenBSD loopback: like LinkTypeNull, but the address
	// family is big-endian.
	LinkTypeLoop uint32 = 108
	// LinkTypeLinuxSLL is the Linux "cooked" capture header, version 1.
	LinkTypeLinuxSLL uint32 = 113
	// LinkTypeIPv4 is a raw IPv4 packet.
	LinkTypeIPv4 uint32 = 228
	// LinkTypeIPv6 is a raw IPv6 packet.
	LinkTypeIPv6 uint32 = 229
	// LinkTypeLinuxSLL2 is the Linux "cooked" capture header, version 2.
	LinkTypeLinuxSLL2 uint32 = 276
)

// Supported reports whether Decode can decode frames of the given link type.
// Frames of any other link type decode as KindUnsupportedLink.
func Supported(linkType uint32) bool {
	switch linkType {
	case LinkTypeNull, LinkTypeEthernet, LinkTypePPP, LinkTypeRawAlt12,
		LinkTypeRawAlt14, LinkTypeRaw, LinkTypeLoop, LinkTypeLinuxSLL,
		LinkTypeIPv4, LinkTypeIPv6, LinkTypeLinuxSLL2, LinkTypeCiscoHDLC,
		LinkTypeIEEE80211, LinkTypeRadiotap, LinkTypeNFLOG, LinkTypeIPoIB:
		return true
	}
	return false
}

// DecoderOptions configures a Decoder. The zero value is valid: checksums
// are not verified.
type DecoderOptions struct {
	// VerifyChecksums makes Decode compute the TCP checksum of every
	// segment that was captured whole and set Segment.Checksum to
	// ChecksumGood or ChecksumBad. Without it Segment.Checksum is
	// ChecksumUnknown.
	VerifyChecksums bool
}

// Counters counts the frames a Decoder has decoded, by Kind.
type Counters struct {
	// ByKind[k] is the number of frames that decoded as Kind k.
	ByKind [numKinds]uint64
	// IP is the number of frames whose link layer (or tunnel) handed an
	// IPv4 or IPv6 header to the IP decoder, whatever they decoded as.
	IP uint64
}

// Total returns the number of frames counted.
func (c Counters) Total() uint64 {
	var n uint64
	for _, v := range c.ByKind {
		n += v
	}
	return n
}

// Decoder decodes captured frames into Packets. Create one with NewDecoder;
// the zero Decoder is not usable. A Decoder is not safe for concurrent use:
// use one per input goroutine.
//
// Link layers are decoded by gopacket DecodingLayerParsers (one per link
// type family, each reused); IP, TCP and ICMP are decoded by hand, see
// decodeIPv4, decodeIPv6 and decodeTCP for why.
type Decoder struct {
	opts DecoderOptions

	// Layers shared by the parsers below: only one parser runs at a time.
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	loop  layers.Loopback

	ethParser  *gopacket.DecodingLayerParser // Ethernet and its tags
	vlanParser *gopacket.DecodingLayerParser // tags after a cooked header
	loopParser *gopacket.DecodingLayerParser // LinkTypeNull, LinkTypeLoop

	// decoded is reused by every DecodeLayers call so that it does not
	// allocate once its capacity is reached.
	decoded []gopacket.LayerType

	// nest counts the encapsulations entered in the current frame
	// (MaxNesting bounds it).
	nest int
	// sawIP is set once the current frame reached an IP header.
	sawIP bool
	// fragData is the captured payload of the last KindFragment.
	fragData []byte

	counters Counters
}

// NewDecoder returns a Decoder with the given options.
func NewDecoder(opts DecoderOptions) *Decoder {
	d := &Decoder{opts: opts, decoded: make([]gopacket.LayerType, 0, 8)}
	newParser := func(first gopacket.LayerType, ls ...gopacket.DecodingLayer) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		// A sparse container is an array indexed by layer type: no map
		// lookup per layer. Layer types of the layers package are small.
		c := gopacket.DecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		for _, l := range ls {
			c = c.Put(l)
		}
		p.SetDecodingLayerContainer(c)
		// Stop quietly at the first layer we do not hand to gopacket (IPv4,
		// IPv6, ARP, ...); Decode then looks at which layers were decoded.
		// IgnorePanic stays false: a panic in a layer becomes an error.
		p.IgnoreUnsupported = true
		return p
	}
	d.ethParser = newParser(layers.LayerTypeEthernet, &d.eth, &d.dot1q)
	d.vlanParser = newParser(layers.LayerTypeDot1Q, &d.dot1q)
	d.loopParser = newParser(layers.LayerTypeLoopback, &d.loop)
	return d
}

// Counters returns the number of frames decoded so far, by Kind.
func (d *Decoder) Counters() Counters { return d.counters }

// Decode decodes one frame of the given link type (a LINKTYPE_ value) into
// p, overwriting all of p. data is only read during the call: nothing in p
// points into it. origLen is the frame's length on the wire (the record's
// original length); when it is larger than len(data) the frame was cut by
// the snap length, and lengths from the IP header are trusted up to
// origLen. An origLen smaller than len(data) is treated as len(data).
//
// Decode never panics on any input and, after its first few calls, does
// not allocate. Every call adds one to Counters().ByKind[p.Kind].
func (d *Decoder) Decode(linkType uint32, data []byte, origLen int, p *Packet) {
	// All of p is overwritten, but the ~450-byte tunnel context is only
	// cleared when it is not already empty (levels past Len are always
	// zero): a caller reusing its Packets pays for it only after tunnelled
	// traffic.
	if p.Tunnel.n != 0 {
		p.Tunnel = Tunnel{}
	}
	p.Kind, p.Segment, p.ICMP, p.Frag = 0, Segment{}, ICMPError{}, Fragment{}
	d.nest, d.sawIP, d.fragData = 0, false, nil
	wire := max(origLen, len(data))
	p.Kind = d.decodeLink(linkType, data, wire, p)
	if d.sawIP {
		d.counters.IP++
	}
	d.tidy(p)
	d.counters.ByKind[p.Kind]++
}

// tidy clears the fields of p that its Kind does not use, so that no
// half-filled field is left behind.
func (d *Decoder) tidy(p *Packet) {
	if p.Kind != KindTCP && p.Kind != KindICMPError {
		p.Segment = Segment{}
		p.ICMP = ICMPError{}
	}
	if p.Kind != KindFragment {
		p.Frag = Fragment{}
		d.fragData = nil
	}
	if p.Kind != KindTCP && p.Kind != KindICMPError && p.Kind != KindFragment {
		p.Tunnel = Tunnel{}
	}
}

// FragmentData returns what was captured of the payload of the fragment
// the last Decode or DecodeReassembled call returned as KindFragment (nil
// after any other kind). It aliases that call's data: copy it before the
// data is reused.
func (d *Decoder) FragmentData() []byte { return d.fragData }

// DecodeReassembled decodes a reassembled IP datagram into p, overwriting
// all of p: f is its fragment at offset 0 (addresses, protocol, version),
// tun the tunnel context its fragments came in, payload what was captured
// of the datagram's payload (IPv6: its fragmentable part) from its start,
// and wire the payload's length on the wire (≥ len(payload)). Nothing in p
// points into payload. The result is not added to Counters, which count
// frames: the datagram's fragments were counted as KindFragment.
//
// A fragment inside the datagram (a fragmented packet in a tunnel that was
// itself fragmented) is KindFragment again; an IPv6 fragment header in
// the fragmentable part is KindBadPacket (RFC 8200 §4.5: it belongs to
// the unfragmentable part).
//
// f and tun may point into p: they are read before p is overwritten.
func (d *Decoder) DecodeReassembled(f *Fragment, tun *Tunnel, payload []byte, wire int, p *Packet) {
	fr := *f
	f = &fr
	*p = Packet{Tunnel: *tun}
	d.nest, d.sawIP, d.fragData = tun.Len(), false, nil
	wire = max(wire, len(payload))
	// The datagram's IP length: its header (IPv6: the unfragmentable
	// part) and the reassembled payload.
	p.Segment.IPLen = f.HdrLen + wire
	p.Kind = d.decodeReassembled(f, payload, wire, p)
	d.tidy(p)
}

func (d *Decoder) decodeReassembled(f *Fragment, b []byte, wire int, p *Packet) Kind {
	// The addresses must be of the fragment's IP version.
	if f.V6 != (f.Src.Is6() && f.Dst.Is6()) || !f.V6 && !(f.Src.Is4() && f.Dst.Is4()) {
		return KindBadPacket
	}
	if !f.V6 {
		src, dst := f.Src.As4(), f.Dst.As4()
		return d.decodeUpper(f.Proto, false, b, wire, src[:], dst[:], p)
	}
	src, dst := f.Src.As16(), f.Dst.As16()
	proto, off, _, k := walkIPv6Ext(b, 0, f.Proto)
	switch k {
	case kindContinue:
		return d.decodeUpper(proto, true, b[off:], wire-off, src[:], dst[:], p)
	case KindFragment:
		return KindBadPacket
	}
	return k
}

// Ethernet types and PPP protocols that Decode follows by hand.
const (
	etherTypeIPv4          = 0x0800
	etherTypeIPv6          = 0x86DD
	etherTypePPPoESession  = 0x8864
	etherTypeDot1Q         = 0x8100
	etherTypeQinQ          = 0x88A8
	etherTypeTEB           = 0x6558 // transparent Ethernet bridging (gretap)
	etherTypeMPLS          = 0x8847
	etherTypeMPLSMulticast = 0x8848
	etherTypePBB           = 0x88E7 // 802.1ah provider backbone bridging
	etherTypeVNTag         = 0x8926
	etherTypeFabricPath    = 0x8903
	arphrdIPGRE            = 778
	ethHeader              = 14
	pppIPv4                = 0x0021
	pppIPv6                = 0x0057
)

// decodeLink decodes the link layer and hands the network layer on.
// wire is the frame's on-wire length (≥ len(data)).
func (d *Decoder) decodeLink(linkType uint32, data []byte, wire int, p *Packet) Kind {
	switch linkType {
	case LinkTypeRaw, LinkTypeRawAlt12, LinkTypeRawAlt14:
		return d.decodeIP(data, wire, p)
	case LinkTypeIPv4:
		return d.decodeIPv4(data, wire, p)
	case LinkTypeIPv6:
		return d.decodeIPv6(data, wire, p)
	case LinkTypePPP:
		return d.decodePPP(data, wire, p)
	case LinkTypeNull, LinkTypeLoop:
		return d.decodeLoopback(data, wire, p)
	case LinkTypeEthernet:
		return d.decodeEthernet(data, wire, p)
	case LinkTypeLinuxSLL:
		return d.decodeSLL(data, wire, p)
	case LinkTypeLinuxSLL2:
		return d.decodeSLL2(data, wire, p)
	case LinkTypeCiscoHDLC:
		return d.decodeCiscoHDLC(data, wire, p)
	case LinkTypeIEEE80211:
		return d.decode80211(data, wire, p)
	case LinkTypeRadiotap:
		return d.decodeRadiotap(data, wire, p)
	case LinkTypeNFLOG:
		return d.decodeNFLOG(data, wire, p)
	case LinkTypeIPoIB:
		return d.decodeIPoIB(data, wire, p)
	}
	return KindUnsupportedLink
}

// decodeLoopback decodes BSD (host byte order) and OpenBSD (big-endian)
// loopback headers. gopacket's Loopback layer guesses the byte order from
// the first two bytes, which covers both.
func (d *Decoder) decodeLoopback(data []byte, wire int, p *Packet) Kind {
	// The 4-byte family must be captured, and be below 256 in one of the
	// two byte orders. Checked here because layers.Loopback reports both
	// with allocated errors.
	if len(data) < 4 {
		return KindBadPacket
	}
	bigEndianOK := data[0] == 0 && data[1] == 0 && data[2] == 0
	littleEndianOK := data[1] == 0 && data[2] == 0 && data[3] == 0
	if !bigEndianOK && !littleEndianOK {
		return KindBadPacket
	}
	if err := d.loopParser.DecodeLayers(data, &d.decoded); err != nil {
		// Fewer than 4 bytes, or a family above 255 in both byte orders.
		return KindBadPacket
	}
	if len(d.decoded) == 0 || d.decoded[0] != layers.LayerTypeLoopback {
		return KindBadPacket
	}
	payload := d.loop.Payload
	wire -= len(data) - len(payload)
	switch d.loop.Family {
	case layers.ProtocolFamilyIPv4:
		return d.decodeIPv4(payload, wire, p)
	case layers.ProtocolFamilyIPv6Linux, layers.ProtocolFamilyIPv6BSD,
		layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin:
		return d.decodeIPv6(payload, wire, p)
	}
	return KindOther
}

// decodeEthernet decodes an Ethernet II frame with any 802.1Q/802.1ad tags.
func (d *Decoder) decodeEthernet(data []byte, wire int, p *Packet) Kind {
	// The 14-byte Ethernet header must be captured. Checked here because
	// layers.Ethernet reports it with errors.New, which allocates.
	if len(data) < ethHeader || tagCut(data, ethHeader-2) {
		return KindBadPacket
	}
	// IP right after the header or after one 802.1Q tag is nearly every
	// frame: decoded here as layers.Ethernet and layers.Dot1Q would (same
	// EtherType, same payload), without the parser's per-frame overhead.
	switch et := binary.BigEndian.Uint16(data[12:14]); et {
	case etherTypeIPv4, etherTypeIPv6:
		return d.decodeEtherType(et, data[ethHeader:], wire-ethHeader, p)
	case etherTypeDot1Q:
		const tagged = ethHeader + 4 // tagCut checked that the tag is captured
		if inner := binary.BigEndian.Uint16(data[tagged-2 : tagged]); inner == etherTypeIPv4 || inner == etherTypeIPv6 {
			return d.decodeEtherType(inner, data[tagged:], wire-tagged, p)
		}
	}
	return d.decodeTagged(d.ethParser, layers.LayerTypeEthernet, data, wire, p)
}

// decodeTagged runs parser (whose first layer is first) over an Ethernet
// frame or a run of 802.1Q/802.1ad tags, and follows the EtherType of the
// innermost layer it decoded.
func (d *Decoder) decodeTagged(parser *gopacket.DecodingLayerParser, first gopacket.LayerType, data []byte, wire int, p *Packet) Kind {
	if err := parser.DecodeLayers(data, &d.decoded); err != nil {
		// A header shorter than its fixed size, or a recovered panic.
		return KindBadPacket
	}
	// With IgnoreUnsupported a nil error says nothing about what was
	// decoded: check that the first layer is there, then use the last.
	if len(d.decoded) == 0 || d.decoded[0] != first {
		return KindBadPacket
	}
	var (
		etherType layers.EthernetType
		payload   []byte
	)
	switch d.decoded[len(d.decoded)-1] {
	case layers.LayerTypeEthernet:
		etherType, payload = d.eth.EthernetType, d.eth.Payload
	case layers.LayerTypeDot1Q:
		etherType, payload = d.dot1q.Type, d.dot1q.Payload
	default:
		return KindBadPacket
	}
	// The link headers take the same bytes on the wire as in the capture.
	wire -= len(data) - len(payload)
	return d.decodeEtherType(uint16(etherType), payload, wire, p)
}

// tagCut reports whether a run of 802.1Q/802.1ad tags starting with the
// EtherType at b[off:off+2] (which the caller has checked is captured) is
// cut before a tag's 4 bytes. layers.Dot1Q reports a cut tag with
// fmt.Errorf, which allocates: this looks first.
func tagCut(b []byte, off int) bool {
	for {
		t := binary.BigEndian.Uint16(b[off : off+2])
		if t != etherTypeDot1Q && t != etherTypeQinQ {
			return false
		}
		// The tag (TCI, then the next EtherType) follows the TPID.
		if off+2+4 > len(b) {
			return true
		}
		off += 4
	}
}

// decodeSLL decodes a Linux cooked v1 header: packet type (2), ARPHRD type
// (2), address length (2), address (8), protocol (2). It is decoded by hand
// because layers.LinuxSLL (v1.7.7) rejects an address length above 8,
// which libpcap writes for link layers with long addresses (InfiniBand:
// 20) while still storing only 8 bytes: the header is 16 bytes regardless.
func (d *Decoder) decodeSLL(data []byte, wire int, p *Packet) Kind {
	const hdr = 16
	// The fixed header must be captured.
	if len(data) < hdr {
		return KindBadPacket
	}
	proto := binary.BigEndian.Uint16(data[14:16])
	return d.decodeCooked(binary.BigEndian.Uint16(data[2:4]), proto, data[hdr:], wire-hdr, p)
}

// decodeCooked decodes the payload of a Linux cooked header by its ARPHRD
// type and protocol: 802.11 frames (with or without radiotap) on a
// monitor-mode interface, an 802.2 LLC header (ETH_P_802_2), else the
// protocol as an EtherType.
func (d *Decoder) decodeCooked(arphrd, proto uint16, data []byte, wire int, p *Packet) Kind {
	switch {
	case arphrd == arphrdIEEE80211:
		return d.decode80211(data, wire, p)
	case arphrd == arphrdIEEE80211Radiotap:
		return d.decodeRadiotap(data, wire, p)
	case proto == etherTypeLLC:
		return d.decodeLLC(data, wire, p)
	}
	return d.decodeEtherType(proto, data, wire, p)
}

// decodeSLL2 decodes a Linux cooked v2 header: protocol (2), reserved (2),
// interface index (4), ARPHRD type (2), packet type (1), address length
// (1), address (8). By hand for the same reason as decodeSLL.
func (d *Decoder) decodeSLL2(data []byte, wire int, p *Packet) Kind {
	const hdr = 20
	// The fixed header must be captured.
	if len(data) < hdr {
		return KindBadPacket
	}
	if binary.BigEndian.Uint16(data[8:10]) == arphrdIPGRE {
		// GRE tap device: libpcap hands out an Ethernet frame.
		return d.decodeEthernet(data[hdr:], wire-hdr, p)
	}
	proto := binary.BigEndian.Uint16(data[0:2])
	return d.decodeCooked(binary.BigEndian.Uint16(data[8:10]), proto, data[hdr:], wire-hdr, p)
}

// decodeEtherType dispatches on an EtherType. Ethernet padding stays in
// data: the IP decoders cut it off using the IP length fields.
func (d *Decoder) decodeEtherType(etherType uint16, data []byte, wire int, p *Packet) Kind {
	switch etherType {
	case etherTypeIPv4:
		return d.decodeIPv4(data, wire, p)
	case etherTypeIPv6:
		return d.decodeIPv6(data, wire, p)
	case etherTypePPPoESession:
		return d.decodePPPoE(data, wire, p)
	case etherTypeDot1Q, etherTypeQinQ:
		// A tag after a cooked header (the Ethernet parser decodes its own
		// tags): data starts with the tag's TCI and inner type, 4 bytes.
		if len(data) < 4 || tagCut(data, 2) {
			return KindBadPacket
		}
		return d.decodeTagged(d.vlanParser, layers.LayerTypeDot1Q, data, wire, p)
	case etherTypeTEB:
		return d.innerEthernet(data, 0, wire, p)
	case etherTypeMPLS, etherTypeMPLSMulticast:
		return d.decodeMPLS(data, wire, p)
	case etherTypePBB:
		// 802.1ah I-TAG (priority, flags, 24-bit I-SID), then the
		// customer's Ethernet frame.
		return d.innerEthernet(data, 4, wire, p)
	case etherTypeFabricPath:
		// Cisco FabricPath: the outer addresses and this EtherType are
		// followed by the FTag and TTL (2 bytes), then the classical
		// Ethernet frame.
		return d.innerEthernet(data, 2, wire, p)
	case etherTypeVNTag:
		// VN-Tag: 4 bytes (direction, pointer, virtual interfaces), then
		// the next EtherType, like an 802.1Q tag.
		if len(data) < 6 {
			return KindBadPacket
		}
		if !d.enterL2() {
			return KindUnknownEncap
		}
		return d.decodeEtherType(binary.BigEndian.Uint16(data[4:6]), data[6:], wire-6, p)
	}
	return KindOther // ARP, LLC (802.3 length), LLDP, ...
}

// innerEthernet decodes the Ethernet frame that follows a skip-byte header
// of an L2-in-L2 encapsulation, counted against MaxNesting.
func (d *Decoder) innerEthernet(data []byte, skip, wire int, p *Packet) Kind {
	// The header must be captured.
	if len(data) < skip {
		return KindBadPacket
	}
	if !d.enterL2() {
		return KindUnknownEncap
	}
	return d.decodeEthernet(data[skip:], wire-skip, p)
}

// decodeMPLS skips an MPLS label stack (RFC 3032) and decodes the IP
// packet under it, told apart by its version nibble. Anything else under
// the stack (a pseudowire control word starts with nibble 0) is KindOther.
func (d *Decoder) decodeMPLS(data []byte, wire int, p *Packet) Kind {
	// Each label stack entry is 4 bytes and must be captured whole; the S
	// bit (lowest bit of the third byte) marks the bottom of the stack.
	for off := 0; off+4 <= len(data); off += 4 {
		if data[off+2]&0x01 == 0 {
			continue
		}
		rest := data[off+4:]
		// The version nibble must be captured.
		if len(rest) < 1 {
			return KindBadPacket
		}
		switch rest[0] >> 4 {
		case 4:
			return d.decodeIPv4(rest, wire-off-4, p)
		case 6:
			return d.decodeIPv6(rest, wire-off-4, p)
		}
		return KindOther
	}
	// The captured bytes ended before the bottom of the stack.
	return KindBadPacket
}

// decodePPPoE decodes a PPPoE session header (RFC 2516 §4) and the PPP
// protocol field after it. gopacket's PPPoE and PPP layers are not
// DecodingLayers, so this is done by hand.
func (d *Decoder) decodePPPoE(data []byte, wire int, p *Packet) Kind {
	// 6-byte PPPoE header (ver/type, code, session ID, length) + 2-byte
	// PPP protocol.
	if len(data) < 8 {
		return KindBadPacket
	}
	if data[0] != 0x11 || data[1] != 0 { // version 1, type 1; code 0 = session data
		return KindOther
	}
	// The PPPoE length counts the PPP frame (protocol field included); it
	// must fit in what was on the wire. Ethernet padding may follow it.
	n := int(binary.BigEndian.Uint16(data[4:6]))
	if n < 2 || 6+n > wire {
		return KindBadPacket
	}
	proto := binary.BigEndian.Uint16(data[6:8])
	return d.decodePPPProto(proto, data[8:], min(wire-8, n-2), p)
}

// decodePPP decodes a LINKTYPE_PPP frame (RFC 1661): optional HDLC-like
// address 0xFF and control 0x03 bytes, then a 1- or 2-byte protocol.
func (d *Decoder) decodePPP(data []byte, wire int, p *Packet) Kind {
	if isCiscoHDLC(data) {
		return d.decodeCiscoHDLC(data, wire, p)
	}
	off := 0
	// Address and control bytes are present iff the frame starts with
	// 0xFF 0x03 (RFC 1662 §3.1); two bytes must be there to look.
	if len(data) >= 2 && data[0] == 0xFF && data[1] == 0x03 {
		off = 2
	}
	// At least one protocol byte must be there.
	if len(data) < off+1 {
		return KindBadPacket
	}
	var proto uint16
	if data[off]&1 == 1 {
		// Protocol-field compression (RFC 1661 §6.5): an odd first byte is
		// the whole protocol.
		proto = uint16(data[off])
		off++
	} else {
		// Two protocol bytes must be there.
		if len(data) < off+2 {
			return KindBadPacket
		}
		proto = binary.BigEndian.Uint16(data[off : off+2])
		off += 2
	}
	return d.decodePPPProto(proto, data[off:], wire-off, p)
}

// decodePPPProto dispatches on a PPP protocol number.
func (d *Decoder) decodePPPProto(proto uint16, data []byte, wire int, p *Packet) Kind {
	switch proto {
	case pppIPv4:
		return d.decodeIPv4(data, wire, p)
	case pppIPv6:
		return d.decodeIPv6(data, wire, p)
	}
	return KindOther // LCP, IPCP, ...
}
