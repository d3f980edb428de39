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
	// KindFragment is a non-first IP fragment: counted, not decoded as TCP.
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
	// FirstFragment is set when Kind is KindTCP and the segment came in
	// the first fragment of a fragmented IP packet (IPv4 offset 0 with MF
	// set, or an IPv6 fragment header with offset 0 and M set): its
	// Segment.PayloadLen counts only the payload in this fragment. A first
	// fragment too short to hold the whole TCP header is KindFragment.
	FirstFragment bool
}
