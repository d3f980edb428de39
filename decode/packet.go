package decode

import (
	"net/netip"
	"strconv"
)

// Kind classifies a decoded frame.
type Kind uint8

// Frame kinds. Only KindTCP and KindICMPError carry a Segment.
const (
	// KindOther is a frame that is not TCP (ARP, UDP, ...): counted, skipped.
	KindOther Kind = iota
	// KindTCP is a TCP segment; Packet.Segment is valid.
	KindTCP
	// KindICMPError is an ICMP or ICMPv6 error (destination unreachable,
	// time exceeded, ...) quoting the start of a TCP segment. Packet.Segment
	// holds the quoted segment's addresses, ports and sequence number, in
	// the direction the quoted segment travelled; Packet.ICMP says more.
	KindICMPError
	// KindFragment is an IP fragment (any fragment of a fragmented
	// datagram, the first one too): Packet.Frag describes it and
	// Decoder.FragmentData returns its payload, for reassembly (package
	// defrag); Decoder.DecodeReassembled decodes the whole datagram.
	KindFragment
	// KindBadTCP is a TCP header that cannot be used: a data offset below 5
	// or past the end of the IP payload, or a header cut (by the snap length
	// or the IP length) before its fixed 20 bytes. A header whose fixed 20
	// bytes were captured but whose options were cut by the snap length is
	// still KindTCP, with OptTruncated set in Segment.Options.
	KindBadTCP
	// KindBadPacket is a frame whose link or IP layer is malformed.
	KindBadPacket
	// KindUnsupportedLink is a frame of a link type hsanalyze cannot decode.
	KindUnsupportedLink
	// KindUnknownEncap is a frame whose tunnel or link header carries
	// something hsanalyze does not decode (a GRE protocol other than IP,
	// MPLS, Ethernet, ERSPAN and PPP; GRE source routing; a GENEVE
	// protocol other than Ethernet and IP), or that nests more than
	// MaxNesting encapsulations.
	KindUnknownEncap

	// numKinds is the number of kinds; it sizes Counters.ByKind.
	numKinds = int(KindUnknownEncap) + 1
)

var kindNames = [numKinds]string{
	KindOther:           "other",
	KindTCP:             "tcp",
	KindICMPError:       "icmp_error",
	KindFragment:        "fragment",
	KindBadTCP:          "bad_tcp",
	KindBadPacket:       "bad_packet",
	KindUnsupportedLink: "unsupported_link",
	KindUnknownEncap:    "unknown_encap",
}

// String returns the kind's snake_case name, such as "icmp_error", or
// "Kind(N)" for an unknown value.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ICMPError describes an ICMP error message that quotes a TCP segment.
type ICMPError struct {
	// From is the address of the host that sent the ICMP message.
	From netip.Addr
	// Type and Code are the ICMP (V6 false) or ICMPv6 (V6 true) type and code.
	Type, Code uint8
	V6         bool
	// Quoted is the number of bytes of the quoted TCP header that the
	// message carried (at least 8: ports and sequence number). Of the
	// quoted segment's fields in Packet.Segment, Ack is valid iff Quoted
	// ≥ 12, Flags iff Quoted ≥ 14 and Window iff Quoted ≥ 16; the others
	// (PayloadLen, Options, Checksum) are never set.
	Quoted int
}

// Packet is the result of decoding one frame. Which fields are valid depends
// on Kind.
type Packet struct {
	Kind Kind
	// Segment is valid iff Kind is KindTCP or KindICMPError. Its Timestamp,
	// Frame, File and Interface fields are left for the caller to set.
	Segment Segment
	// ICMP is valid iff Kind is KindICMPError.
	ICMP ICMPError
	// Tunnel is the encapsulation the segment or ICMP error came in,
	// outermost first; valid iff Kind is KindTCP or KindICMPError, and
	// zero for plain traffic. Segment.Src and Dst are the innermost
	// addresses.
	Tunnel Tunnel
	// Frag is valid iff Kind is KindFragment.
	Frag Fragment
}

// Fragment describes one IP fragment.
type Fragment struct {
	// V6 is set for an IPv6 fragment (RFC 8200 §4.5), clear for IPv4.
	V6 bool
	// More is the MF (IPv4) or M (IPv6) flag: more fragments follow.
	More bool
	// Proto is the IPv4 protocol, or the Next Header of the IPv6 fragment
	// header (meaningful in the fragment at offset 0).
	Proto uint8
	// ID is the identification: 16 bits for IPv4, 32 for IPv6.
	ID uint32
	// Src and Dst are the IP header's addresses.
	Src, Dst netip.Addr
	// Offset is the fragment's offset in bytes within the datagram's
	// payload (IPv6: its fragmentable part).
	Offset int
	// Wire is the fragment's payload length on the wire; what was
	// captured of it (Decoder.FragmentData) may be shorter.
	Wire int
	// HdrLen is the length of the IP header before the payload: the IPv4
	// header with options, or the IPv6 fixed header and the extension
	// headers before the fragment header (the unfragmentable part).
	HdrLen int
}
