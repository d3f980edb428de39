package handshake

import "github.com/hsanalyze/hsanalyze/decode"

const synTSRing = 8 // client SYN transmissions remembered for TSecr matching

func (m *Machine) startsNewAttempt(seg *decode.Segment, fromClient bool) bool {
	switch {
	case m.has(bMidstream):
		return true
	case fromClient:
		return seg.Seq != m.sd[cli].isn
	case !m.has(bSSyn):
		// A server SYN while the client's SYN is unanswered is a
		// simultaneous open; after a decision it is a reversed reuse.
		return m.Decided()
	default:
		return seg.Seq != m.sd[srv].isn && m.Decided()
	}
}

func (m *Machine) bareSYN(seg *decode.Segment, fromClient bool) Role {
	m.checkSynOptions(seg)
	data := uint32(seg.PayloadLen)
	if fromClient {
		m.setTime(tsLastCSyn, seg.Timestamp)
		m.recordSynTS(seg)
		m.sd[cli].synData = max(m.sd[cli].synData, data)
		if m.has(bCSyn) { // same ISN: Step sent the others to a new attempt
			m.synRetx++
			return RoleSYNRetransmit
		}
		m.set(bCSyn)
		m.sd[cli].isn = seg.Seq
		m.cSynWnd = seg.Window
		m.setWide(wSynFrame, seg.Frame)
		m.sd[cli].opts = synOptions(&seg.Options)
		if seg.Flags&(decode.ECE|decode.CWR) == decode.ECE|decode.CWR {
			m.set(bECNSyn)
		}
		if seg.Options.Has(decode.OptFastOpen) {
			m.fastOpen = FastOpenCookie
			if seg.Options.CookieLen == 0 {
				m.fastOpen = FastOpenCookieRequest
			}
		} else if data > 0 {
			m.raise(SynDataWithoutFastOpen, seg, "", 0, 0, false)
		}
		return RoleSYN
	}
	m.more().lastSSyn = seg.Timestamp
	m.sd[srv].synData = max(m.sd[srv].synData, data)
	if !m.has(bSSyn) {
		m.set(bSSyn | bSBareSyn)
		m.sd[srv].isn = seg.Seq
		m.sNxt = seg.Seq.Add(1 + data)
		m.sd[srv].opts = synOptions(&seg.Options)
		return RoleSimultaneousSYN
	}
	if seg.Seq == m.sd[srv].isn {
		m.bits &^= bSSynInferred // captured late
	} else {
		m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(m.sd[srv].isn))
		m.offer(seg.Seq)
	}
	m.synAckRetx++
	return RoleSYNACKRetransmit
}

// recordSynTS records a client SYN's TSval and time in the ring of the
// last synTSRing ones, which the first SYN-ACK is matched against (TSecr).
// Its first slot is inline (most attempts send one SYN), the others in x;
// after the server's SYN-ACK nothing reads the ring, so nothing is written.
func (m *Machine) recordSynTS(seg *decode.Segment) {
	if !seg.Options.Has(decode.OptTimestamps) {
		return
	}
	m.set(bCTS)
	if m.has(bSSynAck) {
		return
	}
	if i := m.nSyn % synTSRing; i == 0 {
		m.synTSVal = seg.Options.TSval
		m.setTime(tsSynTS0, seg.Timestamp)
	} else {
		x := m.more()
		if x.ring == nil {
			x.ring = new([synTSRing - 1]synTS)
		}
		x.ring[i-1] = synTS{val: seg.Options.TSval, at: seg.Timestamp}
	}
	m.nSyn++
}

// synTSAt returns slot i of the SYN timestamp ring.
func (m *Machine) synTSAt(i uint32) synTS {
	if i == 0 {
		return synTS{val: m.synTSVal, at: m.getTime(tsSynTS0)}
	}
	return m.x.ring[i-1]
}

// checkSynOptions raises the informational option anomalies of a SYN or
// SYN-ACK.
func (m *Machine) checkSynOptions(seg *decode.Segment) {
	o := &seg.Options
	if o.Has(decode.OptMSS) && o.MSS == 0 {
		m.raiseNum(MSSZero, seg, FieldMSS, 0, 536) // RFC 9293 §3.7.1 default
	}
	if o.Has(decode.OptWindowScale) && o.WindowScale > 14 {
		m.raiseNum(WindowScaleTooLarge, seg, FieldWindowScale, uint64(o.WindowScale), 14)
	}
}
