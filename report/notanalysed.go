package report

import (
	"fmt"

	"github.com/hsanalyze/hsanalyze/decode"
)

// Reason is why a frame was not analysed.
type Reason uint8

// Reasons, in summary order.
const (
	// NonTCP: decoded, but neither TCP nor an ICMP error quoting TCP
	// (ARP, UDP, ICMP echo, ...).
	NonTCP Reason = iota
	// UnknownEncap: a tunnel or link header carrying something hsanalyze
	// does not decode, or nested too deep (decode.KindUnknownEncap).
	UnknownEncap
	// IncompleteFragments: an IP fragment that never became part of a
	// whole datagram.
	IncompleteFragments
	// UnsupportedLink: a frame of a link type hsanalyze cannot decode.
	UnsupportedLink
	// BadHeaders: a malformed link, IP or TCP header (decode.KindBadPacket,
	// decode.KindBadTCP).
	BadHeaders

	numReasons = int(BadHeaders) + 1
)

var reasonNames = [numReasons]struct{ key, words string }{
	NonTCP:              {"non_tcp", "not TCP"},
	UnknownEncap:        {"unknown_encap", "unknown encapsulation"},
	IncompleteFragments: {"incomplete_fragments", "incomplete IP fragments"},
	UnsupportedLink:     {"unsupported_link", "undecodable link type"},
	BadHeaders:          {"bad_headers", "bad headers"},
}

// String returns the reason's snake_case key in summary.not_analysed.
func (r Reason) String() string { return reasonNames[r].key }

// Words returns the reason in plain words, for the table and stderr.
func (r Reason) Words() string { return reasonNames[r].words }

// NotAnalysed counts the frames of c that yielded nothing to analyse, by
// reason. The fragments of a reassembled datagram count under the kind the
// datagram decoded as (nothing when it was TCP); the fragments of chains
// never completed under IncompleteFragments.
func NotAnalysed(c *Capture) [numReasons]uint64 {
	var n [numReasons]uint64
	for _, k := range [2]*[len(c.Decoded.ByKind)]uint64{&c.Decoded.ByKind, &c.Reassembled.ByKind} {
		n[NonTCP] += k[decode.KindOther]
		n[UnknownEncap] += k[decode.KindUnknownEncap]
		n[UnsupportedLink] += k[decode.KindUnsupportedLink]
		n[BadHeaders] += k[decode.KindBadPacket] + k[decode.KindBadTCP]
	}
	n[IncompleteFragments] = c.Fragments.IncompleteFragments
	return n
}

// NothingAnalysed returns the one-line notice for a capture that held IP
// packets of which no TCP segment (nor ICMP error quoting one) could be
// analysed, naming the most common reason; "" otherwise. A CI gate that
// saw nothing must not look like a pass.
func NothingAnalysed(c *Capture) string {
	if c.Decoded.IP == 0 || c.TCPPackets > 0 || c.Decoded.ByKind[decode.KindICMPError] > 0 {
		return ""
	}
	n := NotAnalysed(c)
	top := NonTCP
	for r := range Reason(numReasons) {
		if n[r] > n[top] {
			top = r
		}
	}
	return fmt.Sprintf("%d IP packets but no TCP segment could be analysed; most common reason: %s (%d packets)",
		c.Decoded.IP, top.Words(), n[top])
}
