package handshake

import (
	"slices"

	"github.com/hsanalyze/hsanalyze/decode"
)

// maxBadAcks bounds, per side, the acks of unacceptable segments remembered
// so that the peer's reset <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1-4) is
// recognised. The reply follows its segment within a round trip; a replayed
// or confused stack repeats one bogus ack, so two distinct values suffice.
const maxBadAcks = 2

func (m *Machine) rst(seg *decode.Segment, fromClient bool) Role {
	f := seg.Flags
	if !fromClient && !m.has(bCAcked) && !m.has(bSBareSyn) {
		// An RST answering the SYN (RFC 9293 §3.10.7.3, SYN-SENT): only
		// acceptable with an ACK that acknowledges the SYN. (A server
		// that sent its own SYN, a simultaneous open, is synchronized
		// once it got the client's SYN-ACK: its RST is judged below.)
		ackOK := f&decode.ACK != 0 && seg.Ack.InRange(m.sd[cli].isn.Add(1), m.sd[cli].synData)
		switch hi := m.sd[cli].isn.Add(1 + m.sd[cli].synData); {
		case m.has(bAckNoSynAck):
			// It answers the client's ACK segment, not the SYN: RFC 9293
			// §3.10.7.1 resets an ACK with <SEQ=SEG.ACK><CTL=RST>, no
			// ACK. Or the client's ACK showed a SYN-ACK the capture
			// lacks, the server is synchronized, and its RST resets that
			// connection: no refusal, and without the server's ISN its
			// seq cannot be judged.
			m.closeRST(false)
		case !ackOK && m.answersUnacceptable(seg.Seq, false):
			// The reply to an unacceptable client segment (see below),
			// not an answer to the SYN.
			m.closeRST(false)
		case f&decode.ACK == 0:
			m.raiseNum(RstWithoutAck, seg, FieldFlags, uint64(f), uint64(f|decode.ACK))
		case !ackOK:
			m.raiseNum(RstWrongAck, seg, FieldAck, uint64(seg.Ack), uint64(hi))
		default:
			m.set(bRefused)
			m.closeRST(false)
		}
		return RoleRST
	}
	// Any other RST is acceptable iff its seq is exactly the next expected
	// one (RFC 5961 §3.2); the range covers data the SYN carried.
	var lo decode.Seq
	var n uint32
	switch {
	case fromClient && m.has(bSSyn):
		lo, n = m.sd[cli].isn.Add(1), m.sd[cli].synData
	case fromClient:
		// The client aborts its own unanswered SYN: nothing to check.
		m.closeRST(true)
		return RoleRST
	default:
		lo, n = m.sd[srv].isn.Add(1), m.sd[srv].synData
	}
	// RFC 9293 answers an unacceptable ACK-bearing segment with
	// <SEQ=SEG.ACK><CTL=RST> (§3.10.7.2 LISTEN, §3.10.7.3 SYN-SENT,
	// §3.10.7.4 SYN-RECEIVED fifth check): that seq is right too. It is
	// exactly RCV.NXT of the segment's sender, which believed SEG.ACK
	// acknowledged all it had received, so that sender accepts it (RFC
	// 5961 §3.2) and is reset: the attempt is closed.
	if seg.Seq.InRange(lo, n) || m.answersUnacceptable(seg.Seq, fromClient) {
		m.closeRST(fromClient)
	} else {
		m.raiseNum(RstWrongSeq, seg, FieldSeq, uint64(seg.Seq), uint64(lo))
	}
	return RoleRST
}

// unacceptable remembers ack, the acknowledgment of an ACK-bearing segment
// from the client (fromClient) or the server that its peer cannot accept:
// the peer answers it with <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1-4).
// The latest maxBadAcks distinct values are kept, without allocating.
func (m *Machine) unacceptable(ack decode.Seq, fromClient bool) {
	side := sideOf(fromClient)
	x := m.more()
	n := int(x.nBad[side])
	if slices.Contains(x.bad[side][:min(n, maxBadAcks)], ack) {
		return
	}
	x.bad[side][n%maxBadAcks] = ack
	// Once full, the count cycles through maxBadAcks … 2·maxBadAcks-1: it
	// stays "full" and n%maxBadAcks names the oldest slot.
	if n++; n == 2*maxBadAcks {
		n = maxBadAcks
	}
	x.nBad[side] = uint8(n)
}

// answersUnacceptable reports whether seq, the seq of an RST from the
// client (fromClient) or the server, is the ack of an unacceptable segment
// the other side sent: the reset RFC 9293 prescribes in reply to it.
func (m *Machine) answersUnacceptable(seq decode.Seq, fromClient bool) bool {
	if m.x == nil {
		return false
	}
	side := sideOf(!fromClient) // the RST answers the peer's segment
	return slices.Contains(m.x.bad[side][:min(int(m.x.nBad[side]), maxBadAcks)], seq)
}

func (m *Machine) closeRST(fromClient bool) {
	m.set(bRSTClosed)
	m.close = ServerRST
	if fromClient {
		m.close = ClientRST
	}
}
