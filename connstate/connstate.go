// Package connstate computes what Zeek's conn.log says about a TCP
// connection (conn_state, history, byte and packet counts) from the
// segments of one hsanalyze connection attempt, by Zeek's rules rather than
// from hsanalyze's verdict.
//
// It follows Zeek's TCP analyzer (src/packet_analysis/protocol/tcp/
// TCPSessionAdapter.cc, analyzer/protocol/tcp/TCP_Endpoint.cc and
// TCP_Reassembler.cc, scripts/base/protocols/conn/main.zeek): the endpoint
// states INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED and
// RESET, relative sequence numbers with wrap counting, the history letters
// with their casing, repetition and logarithmic counts, sizes from sequence
// space and content gaps from acknowledgments. Its limits, each documented
// in docs/zeek.md:
//
//   - Reassembly is approximated with the contiguous edge and one
//     out-of-order block per direction, so memory stays fixed: with several
//     holes open at once, missed_bytes may count bytes that a later
//     retransmission filled.
//   - Roles follow Zeek's first-packet rule with a fixed list of likely
//     server ports (Zeek's depends on the loaded analyzers), and a SYN-ACK
//     seen first makes its receiver the originator.
//   - Timers, deferred closes and weirds are not modelled; an attempt ends
//     where hsanalyze's tracker ends it.
//
// A Conn is fixed-size and pointer-free; its zero value is ready to use.
// It is not safe for concurrent use.
package connstate

import (
	"github.com/hsanalyze/hsanalyze/decode"
)

// epState is a Zeek TCP endpoint state (TCP_ENDPOINT_*).
type epState uint8

const (
	inactive epState = iota
	synSent
	synAckSent
	partial
	established
	closed
	reset
)

// History mask bits (TCP_Endpoint HIST_*); the responder's are shifted by 16.
const (
	histSYN uint32 = 1 << iota
	histFIN
	histRST
	histFINRST
	histData
	histACK
	histMulti
)

// tooLargeSeqDelta is Zeek's TOO_LARGE_SEQ_DELTA.
const tooLargeSeqDelta = 1048576

// HistoryCap bounds the history string. Zeek's is unbounded; letters past
// this many are dropped and the history ends in '+'.
const HistoryCap = 24

// Zeek's logarithmically recorded events ('c', 'g', 't', 'w'): the
// letter is added at the 1st, 10th, 100th ... occurrence.
const (
	evRxmit = iota
	evGap
	evWin0
	evChk
	numEvents
)

// scaled counts the logarithmic events of one endpoint: exp[i] letters of
// event i were added so far, so the next is due at 10^exp[i].
type scaled struct {
	count [numEvents]uint32
	exp   [numEvents]uint8
}

// hit counts one event i and reports whether its letter is due.
func (s *scaled) hit(i int) bool {
	if s.count[i] == ^uint32(0) {
		return false
	}
	s.count[i]++
	due := uint32(1)
	for range s.exp[i] {
		if due > ^uint32(0)/10 {
			return false // past Zeek's 32-bit threshold
		}
		due *= 10
	}
	if s.count[i] != due {
		return false
	}
	s.exp[i]++
	return true
}

// endpoint is one side's TCP_Endpoint, with its reassembler reduced to a
// contiguous edge and one block.
type endpoint struct {
	state, prev epState
	didClose    bool
	finSeen     bool // FIN_cnt > 0
	// start, last and ack are StartSeq, LastSeq and AckSeq (absolute);
	// seqWraps and ackWraps count wraps of last and ack (2^48 bytes).
	seqWraps, ackWraps uint16
	start, last, ack   uint32
	// hist* are the relative seqs (low 32 bits) of the last SYN, FIN, RST.
	histSYN, histFIN, histRST uint32
	finSeq                    uint64 // relative seq just past the FIN
	events                    scaled
	// Reassembly in relative sequence space: data up to reassem is
	// delivered or declared missing; [blkLo, blkHi) is held above a hole;
	// trim is the highest acknowledgment processed.
	reassem, trim, blkLo, blkHi uint64
	ipBytes                     uint64
	pkts                        uint32
}

// relative is ToRelativeSeqSpace.
func (e *endpoint) relative(seq uint32, wraps uint16) uint64 {
	return e.full(seq, wraps) - uint64(e.start)
}

func (e *endpoint) initSeqs(start, last uint32) {
	e.start, e.ack, e.last = start, start, last
}

func (e *endpoint) full(seq uint32, wraps uint16) uint64 { return uint64(wraps)<<32 | uint64(seq) }

func (e *endpoint) updateLast(seq uint32) {
	if seq < e.last {
		e.seqWraps++
	}
	e.last = seq
}

func (e *endpoint) updateAck(seq uint32) {
	if seq < e.ack {
		e.ackWraps++
	}
	e.ack = seq
}

func (e *endpoint) setState(s epState) {
	if s != e.state {
		e.prev, e.state = e.state, s
	}
}

// noDataAcked is TCP_Endpoint::NoDataAcked.
func (e *endpoint) noDataAcked() bool {
	a := e.full(e.ack, e.ackWraps)
	return a == uint64(e.start) || a == uint64(e.start)+1
}

// size is TCP_Endpoint::Size: payload bytes from sequence space.
func (e *endpoint) size(peer *endpoint) uint64 {
	if e.prev == synSent && e.state == reset && peer.state == inactive && !e.noDataAcked() {
		return 0
	}
	last, ack := e.full(e.last, e.seqWraps), e.full(e.ack, e.ackWraps)
	n := max(last, ack) - uint64(e.start)
	if n != 0 {
		n-- // the SYN
	}
	if e.finSeen && n != 0 {
		n-- // the FIN
	}
	return n
}

// clean is is_clean of TCP_Reassembler: established, or closed from there.
func (e *endpoint) clean() bool {
	return e.state == established || e.state == closed && e.prev == established
}

// Conn accumulates one connection. Side A is the side the caller calls
// the client (Add's fromA); Zeek's originator is A unless OrigIsA says
// otherwise.
type Conn struct {
	ep        [2]endpoint // [0] side A, [1] side B
	origB     bool        // Zeek's originator is side B
	started   bool
	isPartial bool
	seenFirst [2]bool // first_packet_seen, by side
	histSeen  uint32
	hist      [HistoryCap]byte
	histLen   uint8
	missed    uint64
	firstTS   int64
	lastTS    int64
	// Zeek's timers that can remove the connection (0: not scheduled):
	// the attempt timer, the partial-close timer and the delete timer
	// (close delay, reset delay).
	attemptAt, partialAt, deleteAt int64
}

// Zeek's default timer settings (init-bare.zeek).
const (
	tcpAttemptDelay      = 5e9 // tcp_attempt_delay
	tcpCloseDelay        = 5e9 // tcp_close_delay
	tcpResetDelay        = 5e9 // tcp_reset_delay
	tcpPartialCloseDelay = 3e9 // tcp_partial_close_delay
)

// Expired reports whether Zeek would have removed the connection (and
// logged it) before a packet at ts: one of its removal timers fired in
// between. The caller then takes the Summary, starts a fresh Conn and
// adds the packet to that. Expired fires the timers it passes.
func (c *Conn) Expired(ts int64) bool {
	if !c.started {
		return false
	}
	if c.deleteAt != 0 && ts >= c.deleteAt {
		return true
	}
	o, r := c.origEP(), c.respEP()
	if c.attemptAt != 0 && ts >= c.attemptAt {
		c.attemptAt = 0
		// AttemptTimer: a SYN never answered.
		if (o.state == synSent || o.state == synAckSent) && r.state == inactive {
			return true
		}
	}
	if c.partialAt != 0 && ts >= c.partialAt {
		c.partialAt = 0
		// PartialCloseTimer.
		if o.state != inactive && r.state != inactive && (!o.didClose || !r.didClose) &&
			o.state != reset && r.state != reset {
			return true
		}
	}
	return false
}

// isOrig reports whether side s is Zeek's originator.
func (c *Conn) isOrig(s int) bool { return (s == 1) == c.origB }

func (c *Conn) addHistory(code byte) {
	switch {
	case int(c.histLen) < HistoryCap-1:
		c.hist[c.histLen] = code
		c.histLen++
	case int(c.histLen) == HistoryCap-1:
		c.hist[c.histLen] = '+'
		c.histLen++
	}
}

func lower(b byte) byte { return b | 0x20 }

// checkHistory is Connection::CheckHistory through TCP_Endpoint: it records
// code the first time mask is seen for side s and reports whether mask was
// seen before.
func (c *Conn) checkHistory(s int, mask uint32, code byte) bool {
	if !c.isOrig(s) {
		mask <<= 16
		code = lower(code)
	}
	if c.histSeen&mask == 0 {
		c.histSeen |= mask
		c.addHistory(code)
		return false
	}
	return true
}

func (c *Conn) sideHistory(s int, code byte) {
	if !c.isOrig(s) {
		code = lower(code)
	}
	c.addHistory(code)
}

func (c *Conn) scaledHistory(s int, event int, code byte) {
	if c.ep[s].events.hit(event) {
		c.sideHistory(s, code)
	}
}

// flip is Connection::FlipRoles.
func (c *Conn) flip() {
	c.origB = !c.origB
	c.isPartial = false
	c.addHistory('^')
}

// likelyServerPort approximates Zeek's likely_server_ports: the ports its
// default analyzers register.
func likelyServerPort(p uint16) bool {
	switch p {
	case 21, 22, 23, 25, 53, 80, 81, 88, 102, 110, 135, 137, 139, 143, 389, 443, 445, 502,
		587, 631, 636, 993, 995, 1080, 1194, 1433, 1723, 1812, 1813, 2123, 2152, 2404, 3128,
		3306, 3389, 3544, 4789, 5060, 5061, 5222, 5269, 5353, 5355, 5432, 5672, 5900, 6379,
		6666, 6667, 6668, 6669, 8000, 8080, 8443, 8888, 9200, 11211, 20000, 27017, 47808:
		return true
	}
	return false
}

func segLen(seg *decode.Segment) int {
	n := seg.PayloadLen
	if seg.Flags&decode.SYN != 0 {
		n++
	}
	if seg.Flags&decode.FIN != 0 {
		n++
	}
	if seg.Flags&decode.RST != 0 {
		n -= seg.PayloadLen // RST payload is not stream data
	}
	return n
}

// seqDelta is Zeek's seq_delta.
func seqDelta(a, b uint32) int32 { return int32(a - b) }

// Add feeds one segment. fromA says which side sent it.
func (c *Conn) Add(seg *decode.Segment, fromA bool) {
	s := 1
	if fromA {
		s = 0
	}
	f := seg.Flags
	if !c.started {
		c.started = true
		c.firstTS = seg.Timestamp
		// Zeek's originator is the first packet's sender, unless the
		// packet is not a bare SYN and its ports say the other side is
		// the server (TCPAnalyzer::WantConnection), or it is a SYN-ACK.
		c.origB = !fromA
		bareSYN := f&(decode.SYN|decode.ACK) == decode.SYN
		if !bareSYN {
			sp, dp := seg.Src.Port(), seg.Dst.Port()
			flip := f&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK
			if !flip && likelyServerPort(sp) {
				flip = !likelyServerPort(dp) || sp < dp
			}
			if flip {
				c.flip()
			}
		}
	}
	if seg.Checksum == decode.ChecksumBad {
		// TCPAnalyzer::ValidateChecksum: counted in the history, then the
		// packet is dropped.
		c.scaledHistory(s, evChk, 'C')
		return
	}
	c.ep[s].pkts = min(c.ep[s].pkts+1, ^uint32(0))
	c.ep[s].ipBytes += uint64(max(seg.IPLen, 0))
	c.process(s, seg)
}

// process is TCPSessionAdapter::Process.
func (c *Conn) process(s int, seg *decode.Segment) {
	ep, peer := &c.ep[s], &c.ep[1-s]
	f := seg.Flags
	syn, fin, rst, ack := f&decode.SYN != 0, f&decode.FIN != 0, f&decode.RST != 0, f&decode.ACK != 0
	base, ackSeq := uint32(seg.Seq), uint32(seg.Ack)
	n := seg.PayloadLen

	// SetPartialStatus
	if c.isOrig(s) {
		if !c.seenFirst[s] {
			c.isPartial = !syn || ack
		}
	} else if !c.seenFirst[s] && !c.isPartial {
		c.isPartial = !syn
	}

	sl := segLen(seg)
	past := base + uint32(sl)
	c.initEndpoint(ep, f, base, past)

	rel, underflow := relativeSeq(ep, base, ep.last, ep.seqWraps)

	c.updateHistory(s, ep, f, rel, n)
	// update_window: a zero window is interesting unless it comes with or
	// after a RST, or after the peer's FIN.
	if seg.Window == 0 && !rst && peer.state != closed && ep.state != reset {
		c.scaledHistory(s, evWin0, 'W')
	}
	if !c.ep[0].didClose || !c.ep[1].didClose {
		c.lastTS = seg.Timestamp
	}
	if fin {
		ep.finSeen = true
		ep.finSeq = rel + uint64(sl)
	}

	var relAck uint64
	if ack {
		if peer.state == inactive {
			relAck = 1
			peer.initSeqs(ackSeq-1, ackSeq-1) // init_peer
		} else {
			r, under := relativeSeq(peer, ackSeq, peer.ack, peer.ackWraps)
			relAck = r
			switch {
			case under:
				relAck = 0
			case !rst: // acks in RSTs are not trusted
				if d := seqDelta(ackSeq, peer.ack); !(ackSeq == 0 && d > tooLargeSeqDelta) && d > 0 {
					peer.updateAck(ackSeq)
				}
			}
		}
	}

	deltaLast := c.updateLastSeq(s, ep, past, f, n)
	doClose := c.updateStateMachine(s, ep, peer, base, ackSeq, n, deltaLast, f)

	if ack {
		c.ackReceived(1-s, relAck)
	}
	relData := rel
	if syn {
		relData++
	}
	if n > 0 && !seg.PayloadCut && !rst && !underflow {
		c.dataSent(s, relData, uint64(n))
	}
	if doClose && !ep.didClose {
		c.connectionClosed(ep, peer)
	}
}

// connectionClosed is ConnectionClosed, without the deferral for pending
// data: it schedules the removal Zeek's close logic would.
func (c *Conn) connectionClosed(e, peer *endpoint) {
	e.didClose = true
	switch {
	case e.state == reset || peer.didClose || peer.state == inactive:
		c.schedule(&c.deleteAt, tcpCloseDelay) // ConnDeleteTimer
	case e.prev == inactive:
		c.schedule(&c.partialAt, tcpPartialCloseDelay) // PartialCloseTimer
	}
}

// schedule sets timer to the connection's last time plus d, keeping an
// earlier one.
func (c *Conn) schedule(timer *int64, d int64) {
	if at := c.lastTS + d; *timer == 0 || at < *timer {
		*timer = at
	}
}

// relativeSeq is get_relative_seq.
func relativeSeq(e *endpoint, cur, last uint32, wraps uint16) (uint64, bool) {
	d := seqDelta(cur, last)
	if d < 0 {
		if wraps > 0 && cur > last {
			wraps--
		}
	} else if d > 0 && cur < last {
		wraps++
	}
	if wraps == 0 {
		d = seqDelta(cur, e.start)
		return uint64(int64(d)), d < 0
	}
	return e.relative(cur, wraps), false
}

// initEndpoint is init_endpoint.
func (c *Conn) initEndpoint(e *endpoint, f decode.Flags, first, last uint32) {
	syn := f&decode.SYN != 0
	switch e.state {
	case inactive:
		if syn {
			e.initSeqs(first, last)
		} else {
			// A partial connection: number as though a SYN was seen.
			e.initSeqs(first-1, first)
		}
	case synSent, synAckSent:
		if syn && first != e.start {
			e.initSeqs(first, last)
		}
	case established, partial:
		if syn {
			e.initSeqs(first, last)
		}
	case reset:
		if syn && e.prev == inactive {
			e.initSeqs(first, last)
		}
	}
}

// updateHistory is update_history.
func (c *Conn) updateHistory(s int, e *endpoint, f decode.Flags, rel uint64, n int) {
	syn, fin, rst := f&decode.SYN != 0, f&decode.FIN != 0, f&decode.RST != 0
	bits := 0
	for _, b := range [3]bool{syn, fin, rst} {
		if b {
			bits++
		}
	}
	r := uint32(rel)
	switch {
	case bits > 1:
		if fin && rst {
			c.checkHistory(s, histFINRST, 'I')
		} else {
			c.checkHistory(s, histMulti, 'Q')
		}
	case syn:
		code := byte('S')
		if f&decode.ACK != 0 {
			code = 'H'
		}
		if c.checkHistory(s, histSYN, code) && r != e.histSYN {
			c.sideHistory(s, code)
		}
		e.histSYN = r
	case fin:
		end := r + uint32(n) // a FIN's seq is at the end of its data
		if c.checkHistory(s, histFIN, 'F') && end != e.histFIN {
			c.sideHistory(s, 'F')
		}
		e.histFIN = end
	case rst:
		if c.checkHistory(s, histRST, 'R') && r != e.histRST {
			c.sideHistory(s, 'R')
		}
		e.histRST = r
	case n > 0:
		c.checkHistory(s, histData, 'D')
	case f&decode.ACK != 0:
		c.checkHistory(s, histACK, 'A')
	}
}

// updateLastSeq is update_last_seq.
func (c *Conn) updateLastSeq(s int, e *endpoint, last uint32, f decode.Flags, n int) int32 {
	d := seqDelta(last, e.last)
	switch {
	case f&(decode.SYN|decode.RST) != 0 && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
		// Not trusted.
	case f&decode.FIN != 0 && e.last == e.start+1:
		e.updateLast(last)
	case e.state == reset:
	case d > 0:
		e.updateLast(last)
	case n > 0:
		c.scaledHistory(s, evRxmit, 'T')
	}
	return d
}

// updateStateMachine is UpdateStateMachine; it reports do_close.
func (c *Conn) updateStateMachine(s int, e, peer *endpoint, base, ackSeq uint32, n int, deltaLast int32, f decode.Flags) bool {
	syn, fin, rst, ack := f&decode.SYN != 0, f&decode.FIN != 0, f&decode.RST != 0, f&decode.ACK != 0
	orig := c.isOrig(s)
	doClose := false
	switch e.state {
	case inactive:
		if syn {
			if orig {
				if ack {
					e.setState(synAckSent)
				} else {
					e.setState(synSent)
				}
				c.attemptAt = c.lastTS + tcpAttemptDelay
			} else {
				if !ack && peer.state == synAckSent && base == e.start {
					// A SYN/SYN-ACK reversal: flip and establish.
					c.flip()
					peer.setState(established)
					c.seenFirst[1-s] = true
				}
				if peer.state == synSent {
					peer.setState(established)
				}
				e.setState(established)
			}
		}
		if fin {
			e.setState(closed)
			doClose = true
		}
		if rst {
			e.setState(reset)
			doClose = true
		}
		if e.state == inactive {
			switch {
			case !orig && n == 0 && c.origEP().state == synSent:
				// An ACK of the SYN before the SYN-ACK: not partial.
			case ack && peer.state == established:
				e.setState(established)
				c.isPartial = false
				c.seenFirst[s] = true
			default:
				e.setState(partial)
			}
		}
	case synSent, synAckSent:
		if fin {
			e.setState(closed)
			doClose = true
		}
		if rst {
			e.setState(reset)
			doClose = true
		}
	case established, partial:
		if syn && e.state == partial && peer.state == inactive && !ack {
			e.setState(synSent)
		}
		if fin && !rst {
			e.setState(closed)
			if peer.state == reset && peer.prev == closed {
				peer.setState(closed) // FIN then RST: a normal close
			}
			doClose = true
		}
		if rst {
			e.setState(reset)
			doClose = true
		}
	case closed:
		if rst && peer.state != closed {
			e.setState(reset)
			if !e.didClose {
				doClose = true
			}
			c.schedule(&c.deleteAt, tcpResetDelay) // ResetTimer
		}
	case reset:
	}
	return doClose
}

func (c *Conn) origEP() *endpoint {
	if c.origB {
		return &c.ep[1]
	}
	return &c.ep[0]
}

func (c *Conn) respEP() *endpoint {
	if c.origB {
		return &c.ep[0]
	}
	return &c.ep[1]
}

// ackReceived is TCP_Reassembler::AckReceived for side s's data.
func (c *Conn) ackReceived(s int, seq uint64) {
	e := &c.ep[s]
	if e.reassem == 0 {
		e.reassem, e.trim = 1, 1 // the reassembler starts after the SYN
	}
	if e.finSeen && seq >= e.finSeq {
		seq = e.finSeq - 1
	}
	if seq <= e.trim {
		return
	}
	if seq > e.reassem {
		c.undelivered(s, seq)
	}
	e.trim = seq
	if e.blkHi != 0 && e.blkHi <= seq {
		e.blkLo, e.blkHi = 0, 0
	}
}

// undelivered is TCP_Reassembler::Undelivered: data up to upTo is missing
// except for the held block.
func (c *Conn) undelivered(s int, upTo uint64) {
	e := &c.ep[s]
	if upTo <= 2 && c.isPartial {
		return // the faked-up initial sequence numbers of a partial connection
	}
	if e.blkHi != 0 && e.blkLo < upTo {
		if e.blkLo > e.reassem {
			c.contentGap(s, e.blkLo-e.reassem)
		}
		e.reassem = max(e.reassem, e.blkHi)
		e.blkLo, e.blkHi = 0, 0
	}
	if upTo > e.reassem {
		c.contentGap(s, upTo-e.reassem)
		e.reassem = upTo
	}
}

// contentGap is TCP_Reassembler::Gap: the 'g' letter and missed_bytes,
// only while both sides are established or cleanly closing.
func (c *Conn) contentGap(s int, n uint64) {
	e, peer := &c.ep[s], &c.ep[1-s]
	if e.clean() && peer.clean() {
		c.scaledHistory(s, evGap, 'G')
		c.missed += n
	}
}

// dataSent is TCP_Reassembler::DataSent with a one-block reassembler.
func (c *Conn) dataSent(s int, seq, n uint64) {
	e := &c.ep[s]
	if e.reassem == 0 {
		e.reassem, e.trim = 1, 1
	}
	upper := seq + n
	if a := e.relative(e.ack, e.ackWraps); seq < a {
		if upper <= a {
			return // delivered and acknowledged
		}
		seq = a
	}
	if upper <= e.reassem || upper <= e.trim {
		return
	}
	if seq <= e.reassem {
		e.reassem = upper
		if e.blkHi != 0 && e.blkLo <= e.reassem {
			e.reassem = max(e.reassem, e.blkHi)
			e.blkLo, e.blkHi = 0, 0
		}
		return
	}
	switch {
	case e.blkHi == 0:
		e.blkLo, e.blkHi = seq, upper
	case seq <= e.blkHi && upper >= e.blkLo: // overlaps or touches: merge
		e.blkLo, e.blkHi = min(e.blkLo, seq), max(e.blkHi, upper)
	case seq < e.blkLo: // keep the lower block
		e.blkLo, e.blkHi = seq, upper
	}
}
