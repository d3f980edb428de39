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
	defer func(ts int64) { m.lastSynAck = ts; m.set(bSynAckTimed) }(seg.Timestamp)
	m.sSynData = max(m.sSynData, uint32(seg.PayloadLen))
	if m.has(bSSynAck) {
		if seg.Seq != m.sISN {
			m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(m.sISN))
			m.offer(seg.Seq)
		}
		return m.resentSynAck(seg, m.synAckAck, m.cISN, m.cSynData, false)
	}
	m.set(bSSynAck)
	m.synAckAck = seg.Ack
	if m.has(bSSyn) { // after the server's own SYN (simultaneous open)
		if seg.Seq == m.sISN {
			m.bits &^= bSSynInferred // now captured
		}
		if seg.Seq != m.sISN {
			m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(m.sISN))
			m.offer(seg.Seq)
		}
	} else {
		m.set(bSSyn)
		m.sISN = seg.Seq
		m.sNxt = seg.Seq.Add(1)
	}
	m.advanceSNxt(seg.Seq.Add(1 + uint32(seg.PayloadLen)))
	m.sOpts = synOptions(&seg.Options)
	m.widenClientWindow(seg)
	if m.synAckFrame == 0 {
		m.synAckFrame = seg.Frame
	}
	o := &seg.Options
	if o.Has(decode.OptWindowScale) && !m.cOpts.Has(decode.OptWindowScale) {
		m.raise(SynAckUnsolicitedOption, seg, FieldWindowScale, 0, 0, false)
	}
	if o.Has(decode.OptTimestamps) && !m.has(bCTS) {
		m.raise(SynAckUnsolicitedOption, seg, FieldTSecr, 0, 0, false)
	}
	if seg.Flags&(decode.ECE|decode.CWR) == decode.ECE {
		m.set(bECNSynAck)
	}

	// The SYN-ACK must acknowledge the SYN and at most all of its data:
	// SND.UNA < SEG.ACK =< SND.NXT (RFC 9293 §3.10.7.3).
	lo := m.cISN.Add(1)
	if seg.Ack.InRange(lo, m.cSynData) {
		m.set(bCAcked)
		if m.cSynData > 0 {
			if seg.Ack == lo {
				m.raiseNum(SynAckTFODataIgnored, seg, FieldAck, uint64(seg.Ack), uint64(lo.Add(m.cSynData)))
			}
			if m.fastOpen == FastOpenCookie {
				m.fastOpen = FastOpenDataAccepted
				if seg.Ack == lo {
					m.fastOpen = FastOpenDataRejected
				}
			}
		}
	} else {
		m.raiseNum(SynAckWrongAck, seg, FieldAck, uint64(seg.Ack), uint64(lo.Add(m.cSynData)))
		m.unacceptable(seg.Ack, false)
	}

	// Time from the SYN this SYN-ACK answers: the one whose TSval it echoes,
	// else the last one captured.
	start := m.lastCSyn
	if m.has(bCTS) && o.Has(decode.OptTimestamps) {
		found := false
		for k := uint32(0); k < min(m.nSyn, synTSRing); k++ {
			i := (m.nSyn - 1 - k) % synTSRing
			if m.synTSval[i] == o.TSecr {
				start, found = m.synTSAt[i], true
				break
			}
		}
		if !found && m.nSyn <= synTSRing {
			last := m.synTSval[(m.nSyn-1)%synTSRing]
			m.raiseNum(TSEchoMismatch, seg, FieldTSecr, uint64(o.TSecr), uint64(last))
		}
	}
	m.timeSynAck(seg, start)
	return RoleSYNACK
}

// clientSynAck handles a SYN-ACK from the client: legal only in a
// simultaneous open, answering the server's SYN (RFC 9293 §3.5 Figure 7).
func (m *Machine) clientSynAck(seg *decode.Segment) Role {
	if !m.has(bSBareSyn) {
		// A client in SYN-SENT that receives a SYN answers
		// <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> (RFC 9293 §3.10.7.3
		// fourth, §3.5 Figure 7): a SYN-ACK that repeats the client's
		// ISN and names the server's answers a server SYN the capture
		// lacks. Before any server SYN-ACK, take that SYN as sent with
		// ISN = SEG.ACK-1 (the server's SYN-ACK must then repeat it);
		// after one, its ack must be that SYN-ACK's seq+1.
		switch {
		case seg.Seq != m.cISN:
			m.raiseNum(SynAckFromClient, seg, FieldSeq, uint64(seg.Seq), uint64(m.cISN))
			return RoleInvalid
		case !m.has(bSSyn):
			m.set(bSSyn | bSSynInferred)
			m.sISN = seg.Ack.Add(^uint32(0))
			m.sNxt = seg.Ack
		case seg.Ack != m.sISN.Add(1):
			m.raiseNum(SynAckFromClient, seg, FieldAck, uint64(seg.Ack), uint64(m.sISN.Add(1)))
			return RoleInvalid
		}
		m.set(bSBareSyn)
		m.raise(ServerSynNotCaptured, seg, "", 0, 0, false)
	}
	defer func(ts int64) { m.lastSynAck = ts; m.set(bSynAckTimed) }(seg.Timestamp)
	if seg.Seq != m.cISN {
		m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(m.cISN))
	}
	if m.has(bCSynAck) {
		return m.resentSynAck(seg, m.cSynAckAck, m.sISN, m.sSynData, true)
	}
	m.set(bCSynAck)
	m.cSynAckAck = seg.Ack
	if m.synAckFrame == 0 {
		m.synAckFrame = seg.Frame
	}
	lo := m.sISN.Add(1)
	if seg.Ack.InRange(lo, m.sSynData) {
		m.set(bSAcked)
	} else {
		m.raiseNum(SynAckWrongAck, seg, FieldAck, uint64(seg.Ack), uint64(lo.Add(m.sSynData)))
		m.unacceptable(seg.Ack, true)
	}
	if !m.has(bSSynInferred) {
		m.timeSynAck(seg, m.lastSSyn)
	}
	return RoleSYNACK
}

func (m *Machine) timeSynAck(seg *decode.Segment, start int64) {
	if m.has(bHasSynToSynAck) {
		return // only the first SYN-ACK is timed
	}
	if d := seg.Timestamp - start; d >= 0 {
		m.synToSynAck = d
		m.set(bHasSynToSynAck)
	}
}

// offer remembers isn, the seq of a server SYN-ACK (or SYN) that differs
// from the server's ISN, as one the client may accept.
func (m *Machine) offer(isn decode.Seq) {
	if slices.Contains(m.offered[:m.nOffered], isn) || int(m.nOffered) == maxOffered {
		return
	}
	m.offered[m.nOffered] = isn
	m.nOffered++
}

// resentSynAck counts a SYN-ACK resent by the side (fromClient) that
// already sent one acknowledging first: SYN-RECEIVED retransmits the same
// SYN-ACK (RFC 9293 §3.4, §3.10.7.4), so another ack is synack_changed_ack,
// and one that does not acknowledge the peer's SYN (ISN peerISN, data
// peerData) is unacceptable to the peer, which resets it.
func (m *Machine) resentSynAck(seg *decode.Segment, first, peerISN decode.Seq, peerData uint32, fromClient bool) Role {
	if seg.Ack != first {
		m.raiseNum(SynAckChangedAck, seg, FieldAck, uint64(seg.Ack), uint64(first))
		if !seg.Ack.InRange(peerISN.Add(1), peerData) {
			m.unacceptable(seg.Ack, fromClient)
		}
	}
	m.synAckRetx++
	return RoleSYNACKRetransmit
}
