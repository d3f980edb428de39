package handshake

import "github.com/hsanalyze/hsanalyze/decode"

// noteFragments raises the informational anomalies of a segment whose IP
// datagram was reassembled from fragments that overlapped with different
// bytes (an evasion technique: receivers differ in which bytes they keep)
// or whose first fragment split the TCP header (RFC 1858 §3). Either is
// raised at the fragment that completed the datagram, whatever the
// attempt's phase: the verdict does not change.
func (m *Machine) noteFragments(seg *decode.Segment) {
	if seg.IPFrag&decode.FragOverlap != 0 {
		m.raise(FragmentOverlap, seg, "", 0, 0, false)
	}
	if seg.IPFrag&decode.FragTiny != 0 {
		m.raise(TinyFragment, seg, "", 0, 0, false)
	}
}
