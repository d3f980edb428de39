package handshake

import "github.com/hsanalyze/hsanalyze/decode"

// bits of Machine.bits.
const (
	bStarted         uint32 = 1 << iota
	bMidstream              // the first segment was not a SYN without ACK
	bCSyn                   // client SYN seen: cISN valid
	bSSyn                   // server ISN known: sISN valid
	bSBareSyn               // the server sent a SYN without ACK (simultaneous open)
	bSSynAck                // the server sent a SYN-ACK: synAckAck valid
	bCSynAck                // the client sent a SYN-ACK (simultaneous open): cSynAckAck valid
	bCAcked                 // the server acknowledged the client's SYN correctly
	bSAcked                 // the client acknowledged the server's SYN correctly
	bComplete               // handshake complete
	bRefused                // acceptable RST answered the SYN
	bFatal                  // a fatal anomaly was raised
	bRSTClosed              // an acceptable RST ended the connection
	bCFin                   // client sent FIN: cFinSeq valid
	bSFin                   // server sent FIN: sFinSeq valid
	bCFinAcked              // the server acknowledged the client's FIN
	bSFinAcked              // the client acknowledged the server's FIN
	bECNSyn                 // ECN-setup SYN
	bECNSynAck              // ECN-setup SYN-ACK
	bCTS                    // some client SYN carried timestamps
	bSynAckTimed            // lastSynAck valid
	bHasSynToSynAck         // synToSynAck valid
	bHasSynAckToAck         // synAckToAck valid
	bFinalPure              // the completing segment was a pure ACK: finalSeq/finalAck valid
	bFinalClient            // the completing segment came from the client
	bFlipped                // midstream roles swapped
	bAckNoSynAck            // ack_without_synack was raised
	bCWnd                   // cWndEnd valid
	bCReplied               // the client sent a non-SYN segment with ACK after a correct SYN-ACK: it got one
	bFirstFromServer        // the first segment came from the caller's server (before any flip)
	bSSynInferred           // sISN is inferred from the client's SYN-ACK: the server's SYN was not captured
)

// Machine judges one TCP connection attempt: feed it the attempt's segments
// in capture order with Step, then read Result.
//
// Lifecycle: 1) the caller creates a zero Machine (ready to use); 2) calls
// Step for each segment and ICMP for each ICMP error quoting one; when Step
// returns Event.NewAttempt the segment belongs to a new attempt, and the
// caller goes to 3) and then feeds that segment to a fresh Machine; 3) calls
// Result, as often as it likes.
//
// The machine never reads a clock: durations come from the segments'
// timestamps. It is not safe for concurrent use. Limits: it judges only the
// handshake (and tracks FIN/RST for the teardown states); it does not
// reassemble data nor check sequence numbers after the handshake, and it
// trusts the caller's direction except on a self-connect (Src == Dst), where
// a SYN-ACK is taken as the server's and every other segment as the
// client's.
type Machine struct {
	bits                            uint32
	cISN, sISN                      decode.Seq
	synAckAck                       decode.Seq // ack of the server's first SYN-ACK
	cSynAckAck                      decode.Seq // ack of the client's first SYN-ACK
	sNxt                            decode.Seq // one past the highest sequence number the server sent
	cWndEnd                         decode.Seq // right edge of the server's receive window (see widenClientWindow)
	finalSeq, finalAck              decode.Seq
	cFinSeq, sFinSeq                decode.Seq // sequence number each side's FIN occupies
	cSynData, sSynData              uint32     // largest payload on a SYN of each side
	cSynWnd                         uint16     // window of the client's first SYN (never scaled)
	cSent                           uint32     // client sequence space sent after its SYN before completion, from ISN+1 (see clientAck)
	nSyn                            uint32     // client SYN transmissions with timestamps
	synTSval                        [synTSRing]uint32
	synTSAt                         [synTSRing]int64
	synFrame, synAckFrame, ackFrame uint64
	lastCSyn, lastSSyn              int64 // capture time of each side's last SYN
	lastSynAck                      int64 // capture time of the last SYN-ACK (either side)
	synToSynAck                     int64
	synAckToAck                     int64
	synRetx, synAckRetx             uint16
	dupAcks                         uint16
	cPkts, sPkts                    uint32
	cOpts, sOpts                    SynOptions
	fastOpen                        FastOpen
	close                           Close
	nOffered                        uint8
	offered                         [maxOffered]decode.Seq    // other server ISNs offered, in order of first sight
	nBad                            [2]uint8                  // acks written to bad, per side (see unacceptable)
	bad                             [2][maxBadAcks]decode.Seq // [0] client, [1] server: acks of its unacceptable segments
	firstTS, firstSynAck            int64                     // capture time of the first segment and of the first SYN-ACK
	tale                            Tale                      // what the reason is told from
	ev                              []Anomaly
}

func (m *Machine) has(b uint32) bool { return m.bits&b != 0 }
func (m *Machine) set(b uint32)      { m.bits |= b }

func (m *Machine) raise(c Code, seg *decode.Segment, field string, seen, expected uint64, values bool) {
	if c.Fatal() {
		m.set(bFatal)
	}
	m.ev = append(m.ev, Anomaly{Code: c, Frame: seg.Frame, File: seg.File, Field: field, Seen: seen, Expected: expected, HasValues: values})
}

func (m *Machine) raiseNum(c Code, seg *decode.Segment, field string, seen, expected uint64) {
	m.raise(c, seg, field, seen, expected, true)
}

// Step feeds one segment of the attempt; fromClient tells its direction.
// seg is only read during the call. See Machine for the lifecycle and Event
// for the answer.
//
// A SYN without ACK starts a new attempt (Event.NewAttempt) instead of
// joining this one when:
//   - it comes from the client with an ISN other than the client's first
//     SYN: whatever this attempt's state (unanswered, answered by a SYN-ACK
//     without final ACK, complete, refused or closed), a new ISN means the
//     client gave up this attempt (RFC 9293 §3.4: one ISN per connection);
//   - it comes from the server after this attempt was decided (complete,
//     refused, or closed by RST or FIN from both sides): the port is reused
//     in the other direction;
//   - this attempt is midstream (its SYN was never captured).
//
// A server SYN while the client's SYN is unanswered is a simultaneous open;
// a SYN repeating the ISN is a retransmission of this attempt.
func (m *Machine) Step(seg *decode.Segment, fromClient bool) Event {
	f := seg.Flags
	if m.StartsNewAttempt(seg, fromClient) {
		c, s := m.states()
		return Event{Role: RoleNone, Client: c, Server: s, NewAttempt: true}
	}
	fromClient = m.direction(seg, fromClient)
	n := len(m.ev)
	if !m.has(bStarted) {
		m.set(bStarted)
		if f&(decode.SYN|decode.ACK) != decode.SYN {
			m.set(bMidstream)
		}
		if !fromClient {
			m.set(bFirstFromServer)
		}
		m.firstTS = seg.Timestamp
		if m.has(bMidstream) {
			m.tale.frame = seg.Frame
		}
	}
	m.noteFragments(seg)
	wasComplete, wasFlipped, wasClosed := m.has(bComplete), m.has(bFlipped), m.has(bRSTClosed)
	prevSynAck, synAckTimed := m.lastSynAck, m.has(bSynAckTimed)
	var role Role
	switch {
	case m.has(bMidstream):
		role, fromClient = m.midstream(seg, fromClient)
	case wasComplete:
		role = m.after(seg, fromClient)
	default:
		role = m.handshake(seg, fromClient)
	}
	if fromClient {
		m.cPkts++
	} else {
		m.sPkts++
	}
	m.tell(seg, role, fromClient, wasClosed)
	ev := Event{Role: role, FromClient: fromClient, Flipped: m.has(bFlipped) != wasFlipped}
	if !wasComplete && !m.has(bMidstream) && m.has(bCAcked) && m.has(bSAcked) {
		m.set(bComplete)
		ev.Completed = true
		ev.Role = RoleFinalACK
		m.ackFrame = seg.Frame
		if synAckTimed {
			if d := seg.Timestamp - prevSynAck; d >= 0 {
				m.synAckToAck = d
				m.set(bHasSynAckToAck)
			}
		}
		if f&(decode.SYN|decode.FIN|decode.RST) == 0 && seg.PayloadLen == 0 {
			m.finalSeq, m.finalAck = seg.Seq, seg.Ack
			m.set(bFinalPure)
			if fromClient {
				m.set(bFinalClient)
			}
		}
	}
	ev.Client, ev.Server = m.states()
	if len(m.ev) > n {
		ev.Anomalies = m.ev[n:len(m.ev):len(m.ev)]
	}
	return ev
}

// ICMP records an ICMP error quoting seg, a segment of this attempt, as the
// informational anomaly icmp_error; fromClient tells the quoted segment's
// direction as for Step. It never changes the verdict: an ICMP error is not
// a refusal (CONTRACT.md; RFC 9293 §3.9.1 MUST-56/57 treat unreachable as a
// soft error for a connection in SYN-SENT).
func (m *Machine) ICMP(seg *decode.Segment, icmp decode.ICMPError, fromClient bool) Event {
	n := len(m.ev)
	m.raise(ICMPError, seg, "", 0, 0, false)
	m.icmpError(seg, &icmp) // type and code do not change the judgement, only the reason
	c, s := m.states()
	return Event{Role: RoleICMP, Client: c, Server: s, Anomalies: m.ev[n:len(m.ev):len(m.ev)],
		FromClient: m.direction(seg, fromClient)}
}

// direction corrects the caller's direction of seg: on a self-connect
// (Src == Dst) one socket is both ends and addresses cannot tell it, so
// only a SYN-ACK is taken as the server's; after a midstream flip the
// caller's roles are swapped.
func (m *Machine) direction(seg *decode.Segment, fromClient bool) bool {
	if seg.Src == seg.Dst {
		fromClient = seg.Flags&(decode.SYN|decode.ACK) != decode.SYN|decode.ACK
	}
	return fromClient != m.has(bFlipped)
}

// NoteReordered records the informational anomaly capture_reordered at seg:
// the caller replayed segments in protocol order because the capture held
// seg before the SYN it answers.
func (m *Machine) NoteReordered(seg *decode.Segment) {
	m.raise(CaptureReordered, seg, "", 0, 0, false)
}

// Closed reports whether the connection has ended: an acceptable RST, or a
// FIN from both sides, each acknowledged. A FIN not yet acknowledged will be
// retransmitted, so until then the connection is still open: its
// retransmissions belong to this attempt.
func (m *Machine) Closed() bool {
	return m.has(bRSTClosed) || m.has(bCFinAcked) && m.has(bSFinAcked)
}

// Decided reports whether more segments can no longer change the verdict
// except through a fatal anomaly: the handshake completed, was refused, or
// the connection was closed.
func (m *Machine) Decided() bool {
	return m.has(bComplete) || m.has(bRefused) || m.Closed()
}

// Verdict returns the current verdict: malformed if any fatal anomaly was
// raised, else midstream if no SYN was captured, else complete, refused or
// half_open.
func (m *Machine) Verdict() Verdict {
	switch {
	case m.has(bFatal):
		return Malformed
	case m.has(bMidstream) || !m.has(bCSyn):
		return Midstream
	case m.has(bComplete):
		return Complete
	case m.has(bRefused):
		return Refused
	default:
		return HalfOpen
	}
}

// checkSegment raises the anomalies any judged segment can have and reports
// whether its flags are so broken that nothing else can be learnt from it.
func (m *Machine) checkSegment(seg *decode.Segment) (invalid bool) {
	f := seg.Flags
	if seg.Checksum == decode.ChecksumBad {
		m.raise(ChecksumBad, seg, "", 0, 0, false)
	}
	if f&decode.ACK == 0 && seg.Ack != 0 {
		m.raiseNum(AckSetWithoutFlag, seg, FieldAck, uint64(seg.Ack), 0)
	}
	if seg.Options.Has(decode.OptBad) {
		m.raise(InvalidOptionLength, seg, FieldOptions, uint64(seg.Options.BadKind), 0, false)
	}
	const ctl = decode.SYN | decode.ACK | decode.FIN | decode.RST | decode.PSH | decode.URG
	if f&ctl == 0 {
		m.raiseNum(NullFlags, seg, FieldFlags, uint64(f), uint64(f|decode.ACK))
		return true
	}
	if f&decode.SYN != 0 {
		if f&decode.FIN != 0 {
			m.raiseNum(SynFin, seg, FieldFlags, uint64(f), uint64(f&^decode.FIN))
		}
		if f&decode.RST != 0 {
			m.raiseNum(SynRst, seg, FieldFlags, uint64(f), uint64(f&^decode.RST))
		}
	}
	if f&(decode.FIN|decode.PSH|decode.URG) == decode.FIN|decode.PSH|decode.URG && f&decode.ACK == 0 {
		m.raiseNum(XmasFlags, seg, FieldFlags, uint64(f), uint64(f|decode.ACK))
		return f&decode.SYN == 0
	}
	if f&(decode.SYN|decode.ACK|decode.RST) == 0 {
		m.raiseNum(NoAckFlag, seg, FieldFlags, uint64(f), uint64(f|decode.ACK))
		return true
	}
	return false
}

func contentRole(seg *decode.Segment) Role {
	switch {
	case seg.Flags&decode.RST != 0:
		return RoleRST
	case seg.PayloadLen > 0:
		return RoleData
	case seg.Flags&decode.FIN != 0:
		return RoleFIN
	default:
		return RoleACK
	}
}

func (m *Machine) handshake(seg *decode.Segment, fromClient bool) Role {
	if m.checkSegment(seg) {
		return RoleInvalid
	}
	f := seg.Flags
	switch {
	case f&(decode.SYN|decode.ACK) == decode.SYN:
		return m.bareSYN(seg, fromClient)
	case f&decode.SYN != 0:
		return m.synAck(seg, fromClient)
	case f&decode.RST != 0:
		return m.rst(seg, fromClient)
	}
	// ACK is set: checkSegment rejected the rest.
	if fromClient {
		m.clientAck(seg)
	} else {
		m.serverAck(seg)
	}
	m.trackFIN(seg, fromClient)
	return contentRole(seg)
}
