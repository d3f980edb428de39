package handshake

import (
	"slices"

	"github.com/hsanalyze/hsanalyze/decode"
)

// maxOffered bounds the other server ISNs remembered after
// synack_changed_seq: a final ACK acknowledging one of them completes the
// handshake against it. Real captures show one (a middlebox or a restarted
// listener answering the SYN anew); more only come from forged SYN-ACKs.
const maxOffered = 3

func (m *Machine) synAck(seg *decode.Segment, fromClient bool) Role {
	m.checkSynOptions(seg)
	if fromClient {
		return m.clientSynAck(seg)
	}
	defer m.timedSynAck(seg.Timestamp)
	c, s := &m.sd[cli], &m.sd[srv]
	s.synData = max(s.synData, uint32(seg.PayloadLen))
	if m.has(bSSynAck) {
		if seg.Seq != s.isn {
			m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(s.isn))
			m.offer(seg.Seq)
		}
		return m.resentSynAck(seg, srv)
	}
	if m.has(bSSyn) { // after the server's own SYN (simultaneous open)
		if seg.Seq == s.isn {
			m.bits &^= bSSynInferred // now captured
		}
		if seg.Seq != s.isn {
			m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(s.isn))
			m.offer(seg.Seq)
		}
	} else {
		m.set(bSSyn)
		s.isn = seg.Seq
		m.sNxt = seg.Seq.Add(1)
	}
	m.advanceSNxt(seg.Seq.Add(1 + uint32(seg.PayloadLen)))
	s.opts = synOptions(&seg.Options)
	m.widenClientWindow(seg)
	m.recordSynAck(seg, srv)
	o := &seg.Options
	if o.Has(decode.OptWindowScale) && !c.opts.Has(decode.OptWindowScale) {
		m.raise(SynAckUnsolicitedOption, seg, FieldWindowScale, 0, 0, false)
	}
	if o.Has(decode.OptTimestamps) && !m.has(bCTS) {
		m.raise(SynAckUnsolicitedOption, seg, FieldTSecr, 0, 0, false)
	}
	if seg.Flags&(decode.ECE|decode.CWR) == decode.ECE {
		m.set(bECNSynAck)
	}
	if m.acksPeerSyn(seg, srv) && c.synData > 0 {
		lo := c.isn.Add(1)
		if seg.Ack == lo {
			m.raiseNum(SynAckTFODataIgnored, seg, FieldAck, uint64(seg.Ack), uint64(lo.Add(c.synData)))
		}
		if m.fastOpen == FastOpenCookie {
			m.fastOpen = FastOpenDataAccepted
			if seg.Ack == lo {
				m.fastOpen = FastOpenDataRejected
			}
		}
	}

	// Time from the SYN this SYN-ACK answers: the one whose TSval it echoes,
	// else the last one captured. (bCTS implies a SYN in the ring: the
	// ring takes SYNs until this first SYN-ACK.)
	start := m.getTime(tsLastCSyn)
	if m.has(bCTS) && o.Has(decode.OptTimestamps) {
		found := false
		for k := uint32(0); k < min(m.nSyn, synTSRing); k++ {
			if t := m.synTSAt((m.nSyn - 1 - k) % synTSRing); t.val == o.TSecr {
				start, found = t.at, true
				break
			}
		}
		if !found && m.nSyn <= synTSRing {
			last := m.synTSAt((m.nSyn - 1) % synTSRing).val
			m.raiseNum(TSEchoMismatch, seg, FieldTSecr, uint64(o.TSecr), uint64(last))
		}
	}
	if m.x != nil {
		m.x.ring = nil // read for the last time (see recordSynTS)
	}
	m.timeSynAck(seg, start)
	return RoleSYNACK
}

// clientSynAck handles a SYN-ACK from the client: legal only in a
// simultaneous open, answering the server's SYN (RFC 9293 §3.5 Figure 7).
// Past the inference of a server SYN the capture lacks, it is judged as
// the server's first SYN-ACK is, sides swapped (recordSynAck, acksPeerSyn,
// resentSynAck).
func (m *Machine) clientSynAck(seg *decode.Segment) Role {
	c, s := &m.sd[cli], &m.sd[srv]
	if !m.has(bSBareSyn) {
		// A client in SYN-SENT that receives a SYN answers
		// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (RFC 9293 §3.10.7.3
		// fourth, §3.5 Figure 7): a SYN-ACK that repeats the client's
		// ISN and names the server's answers a server SYN the capture
		// lacks. Before any server SYN-ACK, take that SYN as sent with
		// ISN = SEG.ACK-1 (the server's SYN-ACK must then repeat it);
		// after one, its ack must be that SYN-ACK's seq+1.
		switch {
		case seg.Seq != c.isn:
			m.raiseNum(SynAckFromClient, seg, FieldSeq, uint64(seg.Seq), uint64(c.isn))
			return RoleInvalid
		case !m.has(bSSyn):
			m.set(bSSyn | bSSynInferred)
			s.isn = seg.Ack.Add(^uint32(0))
			m.sNxt = seg.Ack
		case seg.Ack != s.isn.Add(1):
			m.raiseNum(SynAckFromClient, seg, FieldAck, uint64(seg.Ack), uint64(s.isn.Add(1)))
			return RoleInvalid
		}
		m.set(bSBareSyn)
		m.raise(ServerSynNotCaptured, seg, "", 0, 0, false)
	}
	defer m.timedSynAck(seg.Timestamp)
	if seg.Seq != c.isn {
		m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(c.isn))
	}
	if m.has(bCSynAck) {
		return m.resentSynAck(seg, cli)
	}
	m.recordSynAck(seg, cli)
	m.acksPeerSyn(seg, cli)
	if !m.has(bSSynInferred) {
		m.timeSynAck(seg, m.lastSSyn())
	}
	return RoleSYNACK
}

// recordSynAck records the first SYN-ACK of side from.
func (m *Machine) recordSynAck(seg *decode.Segment, from int) {
	m.set(bCSynAck << from)
	m.sd[from].synAckAck = seg.Ack
	if m.wide[wSynAckFrame] == 0 {
		m.setWide(wSynAckFrame, seg.Frame)
	}
}

// acksPeerSyn judges the ack of side from's first SYN-ACK: it must
// acknowledge the peer's SYN and at most all of that SYN's data, SND.UNA <
// SEG.ACK =< SND.NXT (RFC 9293 §3.10.7.3); it reports whether it does.
func (m *Machine) acksPeerSyn(seg *decode.Segment, from int) bool {
	peer := &m.sd[1-from]
	lo := peer.isn.Add(1)
	if seg.Ack.InRange(lo, peer.synData) {
		m.set(bCAcked << (1 - from))
		return true
	}
	m.raiseNum(SynAckWrongAck, seg, FieldAck, uint64(seg.Ack), uint64(lo.Add(peer.synData)))
	m.unacceptable(seg.Ack, from == cli)
	return false
}

// timedSynAck records ts as the time of the last SYN-ACK.
func (m *Machine) timedSynAck(ts int64) {
	m.setTime(tsLastSynAck, ts)
	m.set(bSynAckTimed)
}

// lastSSyn is the capture time of the server's last SYN, 0 if none.
func (m *Machine) lastSSyn() int64 {
	if m.x == nil {
		return 0
	}
	return m.x.lastSSyn
}

func (m *Machine) timeSynAck(seg *decode.Segment, start int64) {
	if m.has(bHasSynToSynAck) {
		return // only the first SYN-ACK is timed
	}
	if d := seg.Timestamp - start; d >= 0 {
		m.setWide(wSynToSynAck, uint64(d))
		m.set(bHasSynToSynAck)
	}
}

// offer remembers isn, the seq of a server SYN-ACK (or SYN) that differs
// from the server's ISN, as one the client may accept.
func (m *Machine) offer(isn decode.Seq) {
	x := m.more()
	if slices.Contains(x.offered[:x.nOffered], isn) || int(x.nOffered) == maxOffered {
		return
	}
	x.offered[x.nOffered] = isn
	x.nOffered++
}

// resentSynAck counts a SYN-ACK resent by side from, which already sent one
// acknowledging first: SYN-RECEIVED retransmits the same SYN-ACK (RFC 9293
// §3.4, §3.10.7.4), so another ack is synack_changed_ack, and one that does
// not acknowledge the peer's SYN (and its data) is unacceptable to the
// peer, which resets it.
func (m *Machine) resentSynAck(seg *decode.Segment, from int) Role {
	if first := m.sd[from].synAckAck; seg.Ack != first {
		m.raiseNum(SynAckChangedAck, seg, FieldAck, uint64(seg.Ack), uint64(first))
		if peer := &m.sd[1-from]; !seg.Ack.InRange(peer.isn.Add(1), peer.synData) {
			m.unacceptable(seg.Ack, from == cli)
		}
	}
	m.synAckRetx++
	return RoleSYNACKRetransmit
}
