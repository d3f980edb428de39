package handshake

import "github.com/hsanalyze/hsanalyze/decode"

// clientAck checks a client segment with ACK (no SYN, no RST) before the
// handshake completed: the final ACK, or data or FIN sent in its place.
func (m *Machine) clientAck(seg *decode.Segment) {
	// The first check of RFC 9293 §3.10.7.4 judges SEG.SEQ against the
	// receiver's window, which starts at RCV.NXT = ISN+1 (+ accepted SYN
	// data). The client's first segment after its SYN is the final ACK
	// (or what it sent in its place): its seq must be ISN+1, up to
	// ISN+1+len when the SYN carried data (§3.4). A later one continues
	// the client's stream: it is judged against the client's SND.NXT as
	// the capture shows it (§3.3.1), ISN+1 plus the SYN data and what
	// its segments after the SYN covered. A seq at or before it (the
	// next segment, or a retransmission of what was sent, which the
	// receiver acknowledges or queues) is no wrong number; one before
	// ISN+1 or past what was ever sent is.
	//
	// A seq past that SND.NXT but inside the server's receive window is
	// acceptable all the same (§3.10.7.4: SYN-RECEIVED accepts any
	// in-window sequence number, and so does ESTABLISHED): the client
	// sent the sequence space before it, which the capture lacks (a lost
	// final ACK or first data segment). It completes the handshake with
	// the informational data_not_captured; out of the window it stays
	// ack_wrong_seq.
	lo := m.sd[cli].isn.Add(1)
	sent := max(m.sd[cli].synData, m.cSent)
	seqOK := seg.Seq.InRange(lo, sent)
	gap := !seqOK && m.inClientWindow(seg.Seq)
	if seqOK || gap {
		end := uint32(seg.Seq.Diff(lo)) + uint32(seg.PayloadLen)
		if seg.Flags&decode.FIN != 0 {
			end++
		}
		m.cSent = min(max(m.cSent, end), 1<<30) // InRange needs n < 2^31
	}
	if !m.has(bSSyn) && m.has(bAckNoSynAck) {
		// A one-sided capture (asymmetric routing) shows the client's
		// whole stream without any SYN-ACK: only its first segment is
		// judged, the rest has moved on legitimately.
		return
	}
	if gap {
		m.raiseNum(DataNotCaptured, seg, FieldSeq, uint64(seg.Seq), uint64(lo.Add(sent)))
		seqOK = true
	}
	if !seqOK {
		exp := lo.Add(sent)
		if m.cSent <= m.sd[cli].synData {
			exp = lo
			if m.has(bCAcked) {
				exp = m.sd[srv].synAckAck
			}
		}
		m.raiseNum(AckWrongSeq, seg, FieldSeq, uint64(seg.Seq), uint64(exp))
	}
	if !m.has(bSSyn) {
		// A server in LISTEN finds any ACK unacceptable (RFC 9293
		// §3.10.7.2); one in SYN-RECEIVED whose SYN-ACK was not captured
		// accepts only ISS+1, which the RST check accepts anyway.
		m.set(bAckNoSynAck)
		m.raise(AckWithoutSynAck, seg, "", 0, 0, false)
		m.unacceptable(seg.Ack, true)
		return
	}
	// SND.UNA < SEG.ACK =< SND.NXT (RFC 9293 §3.10.7.4): the server's
	// SND.NXT includes data it sent before completion (RFC 7413 §4.2.2).
	slo := m.sd[srv].isn.Add(1)
	switch {
	case seg.Ack.InRange(slo, uint32(m.sNxt.Diff(slo))) || m.acceptOffered(seg.Ack):
	case m.fastOpen == FastOpenDataAccepted && m.sNxt.LessThan(seg.Ack) && seg.Ack.InRange(slo, uint32(m.cSynWnd)):
		// A Fast Open server that accepted the SYN's data may send
		// data before the final ACK (RFC 7413 §4.2.2), up to the
		// client's receive window of its SYN (never scaled, RFC 7323
		// §2.2): the client acknowledges data the capture lacks.
		m.raiseNum(DataNotCaptured, seg, FieldAck, uint64(seg.Ack), uint64(m.sNxt))
		m.advanceSNxt(seg.Ack)
	default:
		m.raiseNum(AckWrongAck, seg, FieldAck, uint64(seg.Ack), uint64(m.sNxt))
		m.unacceptable(seg.Ack, true)
		return
	}
	if seqOK {
		m.set(bSAcked)
	}
}

// serverAck handles a server segment with ACK (no SYN, no RST) before the
// handshake completed. Before any SYN of the server it is a final ACK in the
// wrong direction. After the server's SYN-ACK it is not a handshake segment:
// the server's part of the handshake is its SYN-ACK, judged by the synack_*
// codes, and the client that processed that SYN-ACK is ESTABLISHED and
// treats later server segments by the ESTABLISHED rules of RFC 9293
// §3.10.7.4, which hsanalyze does not judge (a TCP in SYN-RECEIVED may
// acknowledge, or send data after accepting Fast Open data, RFC 7413
// §4.2.2); only the server's SND.NXT is tracked, for the final ACK's range.
// After a bare SYN of the server without a SYN-ACK it is the final ACK of
// a split handshake (RFC 9293 §3.5 Figure 7) and judged as such.
func (m *Machine) serverAck(seg *decode.Segment) {
	if !m.has(bSSyn) {
		if m.has(bAckNoSynAck) {
			// The client already acknowledged a server ISN
			// (ack_without_synack): its SYN-ACK existed, the capture
			// lacks it, and the server is synchronized. Its segments
			// are those of a handshake whose SYN-ACK was not captured,
			// not a final ACK in the wrong direction.
			return
		}
		if lo := m.sd[cli].isn.Add(1); m.sd[cli].synData > 0 && lo.LessThan(seg.Ack) && seg.Ack.InRange(lo, m.sd[cli].synData) {
			// It acknowledges the SYN's data: a Fast Open server sends
			// data right after its SYN-ACK (RFC 7413 §4.2.2), and the
			// capture lacks that SYN-ACK. (A split-handshake server
			// acknowledges the SYN alone.)
			m.set(bAckNoSynAck)
			m.raise(AckWithoutSynAck, seg, "", 0, 0, false)
			return
		}
		m.raise(AckFromServer, seg, "", 0, 0, false)
		return
	}
	m.widenClientWindow(seg)
	end := seg.Seq.Add(uint32(seg.PayloadLen))
	if seg.Flags&decode.FIN != 0 {
		end = end.Add(1)
	}
	if seg.Seq.InRange(m.sd[srv].isn.Add(1), uint32(m.sNxt.Diff(m.sd[srv].isn))) {
		m.advanceSNxt(end) // only segments that continue the server's stream
	}
	if m.has(bSSynAck) {
		return
	}
	// It may acknowledge what the client sent after its SYN-ACK too
	// (its SND.NXT as captured): a client whose SYN-ACK was answered is
	// ESTABLISHED and sends data (RFC 9293 §3.10.7.3).
	lo := m.sd[cli].isn.Add(1)
	sent := max(m.sd[cli].synData, m.cSent)
	ackOK := seg.Ack.InRange(lo, sent)
	if !ackOK {
		m.raiseNum(AckWrongAck, seg, FieldAck, uint64(seg.Ack), uint64(lo.Add(sent)))
		m.unacceptable(seg.Ack, false)
	}
	if m.has(bCAcked) {
		return
	}
	slo := m.sd[srv].isn.Add(1)
	if !seg.Seq.InRange(slo, m.sd[srv].synData) {
		m.raiseNum(AckWrongSeq, seg, FieldSeq, uint64(seg.Seq), uint64(slo))
		return
	}
	if ackOK {
		m.set(bCAcked)
	}
}

// acceptOffered reports whether ack, the ack of a client segment before
// completion, acknowledges one of the other ISNs the server offered, and if
// so makes it the server's ISN. A client in SYN-SENT takes its IRS from the
// SYN-ACK it processes (RFC 9293 §3.10.7.3) and acknowledges IRS+1: its ack
// names the SYN-ACK it accepted, which synack_changed_seq already judged
// (RFC 9293 §3.4), so the handshake completes against that ISN and what
// follows is not judged again against the first one.
func (m *Machine) acceptOffered(ack decode.Seq) bool {
	if m.x == nil {
		return false
	}
	for i, isn := range m.x.offered[:m.x.nOffered] {
		if ack.InRange(isn.Add(1), m.sd[srv].synData) {
			m.sd[srv].isn, m.x.offered[i] = isn, m.sd[srv].isn
			m.sNxt = isn.Add(1)
			m.advanceSNxt(ack)
			return true
		}
	}
	return false
}

func (m *Machine) advanceSNxt(end decode.Seq) {
	if m.sNxt.LessThan(end) {
		m.sNxt = end
	}
}

// maxUnscaledWindow is the largest receive window a SYN-ACK can offer: its
// window field is never scaled (RFC 7323 §2.2). It bounds the server's
// window while no SYN-ACK was captured.
const maxUnscaledWindow = 65535

// inClientWindow reports whether seq, the seq of a client segment before
// completion, lies past ISN+1 and inside the server's receive window
// (RFC 9293 §3.10.7.4 first check: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND),
// as the server advertised it (see widenClientWindow).
func (m *Machine) inClientWindow(seq decode.Seq) bool {
	lo := m.sd[cli].isn.Add(1)
	end := lo.Add(maxUnscaledWindow)
	if m.has(bCWnd) {
		end = m.cWndEnd
	}
	return seq.Diff(lo) > 0 && seq.LessThan(end)
}

// widenClientWindow moves the right edge of the server's receive window,
// SEG.ACK + SEG.WND, to that of seg, a server segment with ACK, when it is
// further. The window of a SYN-ACK is never scaled; later segments' are
// shifted by the server's window scale when both SYNs negotiated it (RFC
// 7323 §2.2-2.3). Only an ack from ISN+1 on, within 2^30 of it, counts.
func (m *Machine) widenClientWindow(seg *decode.Segment) {
	lo := m.sd[cli].isn.Add(1)
	if !seg.Ack.InRange(lo, 1<<30) {
		return
	}
	wnd := uint32(seg.Window)
	if seg.Flags&decode.SYN == 0 && m.sd[cli].opts.Has(decode.OptWindowScale) && m.sd[srv].opts.Has(decode.OptWindowScale) {
		wnd <<= min(m.sd[srv].opts.WindowScale, 14)
	}
	if end := seg.Ack.Add(wnd); !m.has(bCWnd) || m.cWndEnd.LessThan(end) {
		m.cWndEnd = end
		m.set(bCWnd)
	}
}
