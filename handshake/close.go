package handshake

import "github.com/hsanalyze/hsanalyze/decode"

// trackFIN records FINs and their acknowledgments for the teardown states.
func (m *Machine) trackFIN(seg *decode.Segment, fromClient bool) {
	f := seg.Flags
	me := sideOf(fromClient)
	peer := 1 - me
	if f&decode.ACK != 0 && m.has(bCFin<<peer) && seg.Ack.Diff(m.sd[peer].finSeq) >= 1 {
		m.set(bCFinAcked << peer)
	}
	if f&decode.FIN != 0 && !m.has(bCFin<<me) {
		m.set(bCFin << me)
		m.sd[me].finSeq = seg.Seq.Add(uint32(seg.PayloadLen))
		if m.close == NotClosed {
			m.close = ClientFIN
			if !fromClient {
				m.close = ServerFIN
			}
		}
	}
}

// after handles a segment once the handshake is complete: only counters and
// teardown, nothing is judged (CONTRACT.md: only the handshake is judged).
func (m *Machine) after(seg *decode.Segment, fromClient bool) Role {
	f := seg.Flags
	switch {
	case f&(decode.SYN|decode.ACK) == decode.SYN && fromClient:
		m.synRetx++
		return RoleSYNRetransmit
	case f&decode.SYN != 0:
		m.synAckRetx++
		return RoleSYNACKRetransmit
	case f&decode.RST != 0:
		m.closeRST(fromClient)
		return RoleRST
	}
	if m.has(bFinalPure) && m.has(bFinalClient) == fromClient && f&(decode.ACK|decode.FIN) == decode.ACK &&
		seg.PayloadLen == 0 && seg.Seq == m.finalSeq && seg.Ack == m.finalAck {
		m.dupAcks++
		return RoleDuplicateACK
	}
	m.trackFIN(seg, fromClient)
	return contentRole(seg)
}

// states derives both endpoint states from what was captured, only as far
// as the capture proves them (docs/anomalies.md, "Endpoint states"): an
// endpoint leaves LISTEN or SYN_SENT on what it is seen to send, not on
// what was sent to it. A server that sent nothing is still LISTEN, whatever
// SYNs reached its wire; it is SYN_RCVD once its SYN-ACK is captured. A
// client is ESTABLISHED once it acknowledges the SYN-ACK (or the handshake
// completed), so one that resends its SYN after a captured SYN-ACK, which
// never reached it, stays SYN_SENT. The completing ACK makes both
// ESTABLISHED; an acceptable RST closes both.
func (m *Machine) states() (c, s State) {
	switch {
	case !m.has(bStarted):
		return Closed, Listen
	case m.has(bRSTClosed):
		return Closed, Closed
	case m.has(bMidstream):
		c, s = Established, Established
		if m.has(bSSynAck) && !m.has(bSAcked) {
			s = SynReceived
		}
	case m.has(bComplete):
		c, s = Established, Established
	default:
		c, s = SynSent, Listen
		switch {
		case m.has(bCAcked) && m.has(bCReplied):
			c = Established
		case m.has(bSBareSyn) && m.has(bCSynAck):
			c = SynReceived // it answered the server's SYN (simultaneous open)
		}
		switch {
		case m.has(bSAcked) && (m.has(bSSynAck) || m.has(bSBareSyn)):
			s = Established
		case m.has(bSSynAck) || m.has(bAckNoSynAck):
			// Its SYN-ACK was captured, or the client acknowledged one
			// the capture lacks (ack_without_synack): it was sent.
			s = SynReceived
		case m.has(bSBareSyn):
			s = SynSent // its own SYN: a simultaneous open (RFC 9293 Figure 8)
		}
	}
	if c != Established || s != Established {
		return c, s
	}
	cf, sf := m.has(bCFin), m.has(bSFin)
	switch {
	case cf && sf:
		first, second := &c, &s
		firstAcked, secondAcked := m.has(bCFinAcked), m.has(bSFinAcked)
		if m.close == ServerFIN {
			first, second = &s, &c
			firstAcked, secondAcked = secondAcked, firstAcked
		}
		*first, *second = Closing, LastAck
		if firstAcked {
			*first = TimeWait
		}
		if secondAcked {
			*second = Closed
		}
	case cf:
		c, s = FinWait1, CloseWait
		if m.has(bCFinAcked) {
			c = FinWait2
		}
	case sf:
		c, s = CloseWait, FinWait1
		if m.has(bSFinAcked) {
			s = FinWait2
		}
	}
	return c, s
}
