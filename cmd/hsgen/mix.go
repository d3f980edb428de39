package main

import "time"

// template is one kind of connection attempt the generator writes. Each
// template's verdict follows from CONTRACT.md's rules without judgement
// calls; the comments cite the rule.
type template uint8

const (
	// tComplete: SYN, SYN-ACK, ACK (Linux options, timestamps on every
	// segment), a request, 3 response segments (4 in one flow of four), the
	// client's ACK and an orderly FIN exchange: 11 or 12 packets, 8 or 9 of
	// them after the handshake. "SYN, SYN-ACK and ACK seen in order, every
	// seq/ack number correct" → complete.
	tComplete template = iota
	// tCompleteRST: handshake, a request, one response, then the client
	// aborts with RST+ACK: 6 packets. "What happens after it completed
	// (data, FIN, RST) does not change a complete verdict" → complete.
	tCompleteRST
	// tHalfOpenSYN: a lone SYN, never answered: 1 packet → half_open.
	tHalfOpenSYN
	// tHalfOpenRetx: a SYN retransmitted after 1 s and 3 s with the same
	// ISN, never answered: 3 packets → half_open.
	tHalfOpenRetx
	// tHalfOpenNoAck: SYN and a correct SYN-ACK, never acknowledged:
	// 2 packets. "No final ACK" → half_open.
	tHalfOpenNoAck
	// tHalfOpenICMP: a SYN answered by an ICMP host-unreachable from a
	// router, quoting the SYN: 1 TCP packet and 1 ICMP packet. "An ICMP
	// error answering a SYN is not a refusal" → half_open.
	tHalfOpenICMP
	// tRefused: a SYN answered by RST+ACK with ack = client ISN + 1:
	// 2 packets → refused.
	tRefused
	// tMalformed: a SYN answered by a SYN-ACK whose ack is client ISN + 7,
	// which the client resets (RST, seq = that ack, RFC 9293 §3.10.7.3):
	// 3 packets. "A SYN-ACK that acknowledges something never sent" →
	// malformed.
	tMalformed
	// tMidstream: a request, an ACK, a response and an ACK of a connection
	// whose handshake was not captured: 4 packets → midstream.
	tMidstream
	// tFloodSYN (shape synflood): a SYN from a spoofed source, never
	// answered, retransmitted 0 to 3 times with the same ISN after 1, 3
	// and 7 s (Linux's backoff): 1 to 4 packets → half_open.
	tFloodSYN
	// tFloodSYNACK (shape synackflood): a SYN from a spoofed source that
	// the victim answers with a SYN-ACK, retransmitted 0 to 2 times after
	// 1 and 3 s (Linux's backoff), which nobody acknowledges: 2 to 4
	// packets → half_open, the attempt a full one from its SYN-ACK on.
	tFloodSYNACK
	// tScanClosed (shape scan): a probe SYN to a closed port, answered by
	// RST+ACK with ack = ISN + 1: 2 packets → refused.
	tScanClosed
	// tScanFiltered (shape scan): a probe SYN to a filtered port, never
	// answered: 1 packet → half_open.
	tScanFiltered
	numTemplates
)

// templateInfo is what the sidecar and the manual say about a template.
var templateInfo = [numTemplates]struct {
	name    string // sidecar key
	verdict string // CONTRACT.md verdict
	weight  int    // flows per block of blockSize
}{
	tComplete:      {"complete", "complete", 78},
	tCompleteRST:   {"complete_rst", "complete", 6},
	tHalfOpenSYN:   {"half_open_syn", "half_open", 2},
	tHalfOpenRetx:  {"half_open_retx", "half_open", 2},
	tHalfOpenNoAck: {"half_open_noack", "half_open", 2},
	tHalfOpenICMP:  {"half_open_icmp", "half_open", 1},
	tRefused:       {"refused", "refused", 4},
	tMalformed:     {"malformed", "malformed", 3},
	tMidstream:     {"midstream", "midstream", 2},
	// The shapes other than mixed pick their templates themselves
	// (shape.go): weight 0 keeps them out of the mixed block.
	tFloodSYN:     {"synflood_syn", "half_open", 0},
	tFloodSYNACK:  {"synackflood_synack", "half_open", 0},
	tScanClosed:   {"scan_closed", "refused", 0},
	tScanFiltered: {"scan_filtered", "half_open", 0},
}

// blockSize is the number of flows over which the template weights hold
// exactly: every block of 100 consecutive flows holds each template
// weight times, in an order shuffled by the seed. dnsPerBlock of the
// block's complete flows are preceded by a DNS query and response (UDP,
// not TCP: they count in packets, not in tcp_packets or flows).
const (
	blockSize   = 100
	dnsPerBlock = 3
)

// slot is one position of a block: which template, and whether a DNS
// lookup precedes it.
type slot struct {
	t   template
	dns bool
}

// newBlock returns the unshuffled slots of one block.
func newBlock() []slot {
	var b []slot
	for t := range numTemplates {
		for range templateInfo[t].weight {
			b = append(b, slot{t: t})
		}
	}
	for i := range dnsPerBlock {
		b[i].dns = true // b starts with tComplete slots
	}
	if len(b) != blockSize {
		panic("hsgen: template weights do not add up to blockSize")
	}
	return b
}

// meanLifetime is the mean time from a flow's first packet to its last,
// over the mix, when complete and midstream flows last lifetime on
// average. The start interval is meanLifetime/concurrency, so that by
// Little's law about concurrency flows are open at any time.
func meanLifetime(lifetime time.Duration) time.Duration {
	var sum time.Duration
	for t := range numTemplates {
		var d time.Duration
		switch t {
		case tComplete, tCompleteRST, tMidstream:
			d = lifetime
		case tHalfOpenRetx:
			d = 3 * time.Second
		case tHalfOpenSYN, tFloodSYN, tFloodSYNACK, tScanClosed, tScanFiltered:
			d = 0
		default:
			d = meanRTT
		}
		sum += d * time.Duration(templateInfo[t].weight)
	}
	return sum / blockSize
}
