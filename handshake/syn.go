package handshake

import "github.com/hsanalyze/hsanalyze/decode"

const synTSRing = 8 // client SYN transmissions remembered for TSecr matching

func (m *Machine) startsNewAttempt(seg *decode.Segment, fromClient bool) bool {
	switch {
	case m.has(bMidstream):
		return true
	case fromClient:
		return seg.Seq != m.cISN
	case !m.has(bSSyn):
		// A server SYN while the client's SYN is unanswered is a
		// simultaneous open; after a decision it is a reversed reuse.
		return m.Decided()
	default:
		return seg.Seq != m.sISN && m.Decided()
	}
}

func (m *Machine) bareSYN(seg *decode.Segment, fromClient bool) Role {
	m.checkSynOptions(seg)
	data := uint32(seg.PayloadLen)
	if fromClient {
		m.lastCSyn = seg.Timestamp
		m.recordSynTS(seg)
		m.cSynData = max(m.cSynData, data)
		if m.has(bCSyn) { // same ISN: Step sent the others to a new attempt
			m.synRetx++
			return RoleSYNRetransmit
		}
		m.set(bCSyn)
		m.cISN = seg.Seq
		m.cSynWnd = seg.Window
		m.synFrame = seg.Frame
		m.cOpts = synOptions(&seg.Options)
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
	m.lastSSyn = seg.Timestamp
	m.sSynData = max(m.sSynData, data)
	if !m.has(bSSyn) {
		m.set(bSSyn | bSBareSyn)
		m.sISN = seg.Seq
		m.sNxt = seg.Seq.Add(1 + data)
		m.sOpts = synOptions(&seg.Options)
		return RoleSimultaneousSYN
	}
	if seg.Seq == m.sISN {
		m.bits &^= bSSynInferred // captured late
	} else {
		m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(m.sISN))
		m.offer(seg.Seq)
	}
	m.synAckRetx++
	return RoleSYNACKRetransmit
}

func (m *Machine) recordSynTS(seg *decode.Segment) {
	if !seg.Options.Has(decode.OptTimestamps) {
		return
	}
	m.set(bCTS)
	i := m.nSyn % synTSRing
	m.synTSval[i], m.synTSAt[i] = seg.Options.TSval, seg.Timestamp
	m.nSyn++
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
