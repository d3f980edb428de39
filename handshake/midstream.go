package handshake

import "github.com/hsanalyze/hsanalyze/decode"

// midstream handles a segment of an attempt whose SYN was not captured. No
// numbers can be judged without the client's ISN; impossible flags still
// make it malformed. The first SYN-ACK fixes the roles: its receiver is the
// client (CONTRACT.md), so a SYN-ACK from the caller's client flips them.
func (m *Machine) midstream(seg *decode.Segment, fromClient bool) (Role, bool) {
	if m.sd[cli].pkts+m.sd[srv].pkts == 0 && isProbe(seg) {
		m.raiseNum(ScanProbe, seg, FieldFlags, uint64(seg.Flags), uint64(decode.SYN))
	}
	if m.checkSegment(seg) {
		return RoleInvalid, fromClient
	}
	f := seg.Flags
	switch {
	case f&decode.SYN != 0: // with ACK: a bare SYN never reaches here
		if m.has(bSSynAck) {
			m.synAckRetx++
			return RoleSYNACKRetransmit, fromClient
		}
		if fromClient {
			m.flip()
			fromClient = false
		}
		m.set(bSSynAck | bSSyn | bSynAckTimed)
		m.sd[srv].isn, m.sd[srv].synAckAck = seg.Seq, seg.Ack
		m.setTime(tsLastSynAck, seg.Timestamp)
		m.setWide(wSynAckFrame, seg.Frame)
		m.sd[srv].opts = synOptions(&seg.Options)
		m.checkSynOptions(seg)
		return RoleSYNACK, fromClient
	case f&decode.RST != 0:
		m.closeRST(fromClient)
		return RoleRST, fromClient
	}
	if fromClient && m.has(bSSynAck) && seg.Ack == m.sd[srv].isn.Add(1) {
		m.set(bSAcked)
	}
	m.trackFIN(seg, fromClient)
	return contentRole(seg), fromClient
}

// flip swaps what the machine recorded per side; only counters and FIN
// state can exist before the first SYN-ACK of a midstream attempt.
func (m *Machine) flip() {
	m.bits ^= bFlipped
	m.sd[cli], m.sd[srv] = m.sd[srv], m.sd[cli]
	for _, c := range [...]uint32{bCFin, bCFinAcked} { // the client's bit of a pair
		pair := m.bits & (c | c<<1)
		m.bits = m.bits&^(c|c<<1) | pair&c<<1 | pair>>1&c
	}
	switch m.close {
	case ClientFIN:
		m.close = ServerFIN
	case ServerFIN:
		m.close = ClientFIN
	case ClientRST:
		m.close = ServerRST
	case ServerRST:
		m.close = ClientRST
	}
}

// isProbe reports whether seg, the first segment of an attempt that did not
// start with a SYN, has the shape of a port scanner's probe: no payload,
// neither SYN nor RST, and either no ACK (nmap -sN NULL, -sF FIN, -sX
// Xmas: no TCP in any state sends such a segment, RFC 9293 §3.1, and a
// closed port answers it with RST, §3.10.7.1) or ACK with an ack of 0 (an
// ACK scan, -sA, or a Maimon FIN+ACK probe, -sM: a legal segment, but one
// that acknowledges nothing a peer plausibly sent). A midstream segment of
// a real connection carries ACK with the peer's sequence number.
func isProbe(seg *decode.Segment) bool {
	f := seg.Flags
	if seg.PayloadLen > 0 || f&(decode.SYN|decode.RST) != 0 {
		return false
	}
	return f&decode.ACK == 0 || seg.Ack == 0 && f&(decode.PSH|decode.URG) == 0
}
