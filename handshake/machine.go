package handshake

import (
	"slices"

	"github.com/hsanalyze/hsanalyze/decode"
)

// SynOptions is the part of a SYN's or SYN-ACK's options that the handshake
// negotiates. A field is valid iff its bit is set in Present, as in
// decode.Options.
type SynOptions struct {
	Present decode.OptionSet
	// MSS is the maximum segment size (valid iff Present has decode.OptMSS).
	MSS uint16
	// WindowScale is the shift count as sent, before any clamp to 14 (valid
	// iff Present has decode.OptWindowScale).
	WindowScale uint8
	// CookieLen is the Fast Open cookie length, 0 for a cookie request
	// (valid iff Present has decode.OptFastOpen).
	CookieLen uint8
}

func synOptions(o *decode.Options) SynOptions {
	return SynOptions{Present: o.Present, MSS: o.MSS, WindowScale: o.WindowScale, CookieLen: o.CookieLen}
}

// Has reports whether every option in want is present.
func (o SynOptions) Has(want decode.OptionSet) bool { return o.Present&want == want }

// Event is what one call to Machine.Step or Machine.ICMP did.
type Event struct {
	// Role is what the segment was to the attempt.
	Role Role
	// Client and Server are the endpoint states after the segment.
	Client, Server State
	// Anomalies are the anomalies this segment raised, nil if none. The
	// slice aliases the Machine's storage: read it before the next call, do
	// not modify it.
	Anomalies []Anomaly
	// NewAttempt reports that the segment does not belong to this attempt
	// but starts a new one: the Machine did not consume it (Role is
	// RoleNone, nothing changed). The caller finishes this Machine and feeds
	// the segment to a fresh one. A fresh Machine never sets it.
	NewAttempt bool
	// Completed reports that this segment completed the handshake.
	Completed bool
	// FromClient is the direction the Machine took the segment in: true
	// for the client's. It is the caller's direction except on a
	// self-connect (Src == Dst: a SYN-ACK is the server's, every other
	// segment the client's) and once the Machine swapped the roles of a
	// midstream attempt. The roles are those known when the segment was
	// fed: a midstream attempt is flipped at most once, by its first
	// SYN-ACK (the event with Flipped set, whose FromClient is already
	// false), so the attempt's events before that one are in the opposite
	// of the final roles (Result.Flipped), the others in the final ones.
	// For an ICMP event it is the direction of the quoted segment. False
	// when NewAttempt.
	FromClient bool
	// Flipped reports that this segment swapped the roles the caller gave
	// (Result.Flipped): the FromClient of the attempt's earlier events is
	// to be read inverted.
	Flipped bool
}

// Result summarises an attempt. Fields whose name has a Has twin are valid
// iff that flag is set. Fields are ordered to keep the struct small (112
// bytes on 64-bit platforms).
type Result struct {
	// Evidence lists every anomaly occurrence in the order raised, nil if
	// none. It aliases the Machine's storage; the Machine only appends.
	Evidence []Anomaly
	// ClientISN is the seq of the client's SYN; ServerISN that of the
	// server's SYN-ACK (or of its SYN in a simultaneous open). When the
	// server offered several ISNs (synack_changed_seq), ServerISN is the
	// one the client's final ACK acknowledged, else the first.
	ClientISN, ServerISN decode.Seq
	// SYNFrame, SYNACKFrame and ACKFrame are the frames of the client's
	// first SYN, the first SYN-ACK (either side) and the segment that
	// completed the handshake; 0 when not captured.
	SYNFrame, SYNACKFrame, ACKFrame uint64
	// SYNToSYNACK is the time in ns from the SYN transmission the first
	// SYN-ACK answers (the SYN whose TSval the SYN-ACK echoes, else the
	// last SYN captured before it) to that SYN-ACK. SYNACKToACK runs from
	// the last SYN-ACK captured before the completing segment to it. A
	// negative time (reordered capture) is not measurable.
	SYNToSYNACK, SYNACKToACK int64
	// ClientPackets and ServerPackets count the segments fed per direction.
	ClientPackets, ServerPackets uint32
	// ClientOptions are the options of the client's first SYN;
	// ServerOptions those of the server's first SYN-ACK (or SYN).
	ClientOptions, ServerOptions SynOptions
	// SYNRetransmits counts client SYNs repeating the ISN; SYNACKRetransmits
	// counts SYN-ACKs (and server SYNs) after the first from the same side;
	// DuplicateACKs counts pure ACKs repeating the completing ACK.
	SYNRetransmits, SYNACKRetransmits, DuplicateACKs uint16
	// Verdict is the judgement (see Machine.Verdict).
	Verdict                        Verdict
	HasClientISN, HasServerISN     bool
	HasSYNToSYNACK, HasSYNACKToACK bool
	// ECN reports an ECN-setup SYN (ECE+CWR) answered by an ECN-setup
	// SYN-ACK (ECE without CWR), RFC 3168 §6.1.1.
	ECN bool
	// Flipped reports that the Machine swapped the roles its caller gave:
	// a midstream attempt whose first SYN-ACK came from the side the caller
	// called client. All other fields already use the corrected roles.
	Flipped bool
	// FastOpen is the RFC 7413 state; Close how the connection ended.
	FastOpen FastOpen
	Close    Close
	// ClientState and ServerState are the final endpoint states.
	ClientState, ServerState State
}

// Has reports whether a at least one occurrence of code was raised.
func (r *Result) Has(code Code) bool {
	for i := range r.Evidence {
		if r.Evidence[i].Code == code {
			return true
		}
	}
	return false
}

// bits of Machine.bits.
const (
	bStarted        uint32 = 1 << iota
	bMidstream             // the first segment was not a SYN without ACK
	bCSyn                  // client SYN seen: cISN valid
	bSSyn                  // server ISN known: sISN valid
	bSBareSyn              // the server sent a SYN without ACK (simultaneous open)
	bSSynAck               // the server sent a SYN-ACK: synAckAck valid
	bCSynAck               // the client sent a SYN-ACK (simultaneous open): cSynAckAck valid
	bCAcked                // the server acknowledged the client's SYN correctly
	bSAcked                // the client acknowledged the server's SYN correctly
	bComplete              // handshake complete
	bRefused               // acceptable RST answered the SYN
	bFatal                 // a fatal anomaly was raised
	bRSTClosed             // an acceptable RST ended the connection
	bCFin                  // client sent FIN: cFinSeq valid
	bSFin                  // server sent FIN: sFinSeq valid
	bCFinAcked             // the server acknowledged the client's FIN
	bSFinAcked             // the client acknowledged the server's FIN
	bECNSyn                // ECN-setup SYN
	bECNSynAck             // ECN-setup SYN-ACK
	bCTS                   // some client SYN carried timestamps
	bSynAckTimed           // lastSynAck valid
	bHasSynToSynAck        // synToSynAck valid
	bHasSynAckToAck        // synAckToAck valid
	bFinalPure             // the completing segment was a pure ACK: finalSeq/finalAck valid
	bFinalClient           // the completing segment came from the client
	bFlipped               // midstream roles swapped
	bAckNoSynAck           // ack_without_synack was raised
)

const synTSRing = 8 // client SYN transmissions remembered for TSecr matching

// maxOffered bounds the other server ISNs remembered after
// synack_changed_seq: a final ACK acknowledging one of them completes the
// handshake against it. Real captures show one (a middlebox or a restarted
// listener answering the SYN anew); more only come from forged SYN-ACKs.
const maxOffered = 3

// maxBadAcks bounds, per side, the acks of unacceptable segments remembered
// so that the peer's reset <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1-4) is
// recognised. The reply follows its segment within a round trip; a replayed
// or confused stack repeats one bogus ack, so two distinct values suffice.
const maxBadAcks = 2

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
	finalSeq, finalAck              decode.Seq
	cFinSeq, sFinSeq                decode.Seq // sequence number each side's FIN occupies
	cSynData, sSynData              uint32     // largest payload on a SYN of each side
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
	fromClient = m.direction(seg, fromClient)
	if m.has(bStarted) && f&(decode.SYN|decode.ACK) == decode.SYN && m.startsNewAttempt(seg, fromClient) {
		c, s := m.states()
		return Event{Role: RoleNone, Client: c, Server: s, NewAttempt: true}
	}
	n := len(m.ev)
	if !m.has(bStarted) {
		m.set(bStarted)
		if f&(decode.SYN|decode.ACK) != decode.SYN {
			m.set(bMidstream)
		}
	}
	wasComplete, wasFlipped := m.has(bComplete), m.has(bFlipped)
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
	_ = icmp // type and code do not change the judgement
	n := len(m.ev)
	m.raise(ICMPError, seg, "", 0, 0, false)
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

// Result summarises the attempt so far.
func (m *Machine) Result() Result {
	r := Result{
		Verdict:           m.Verdict(),
		Evidence:          m.ev,
		ClientISN:         m.cISN,
		ServerISN:         m.sISN,
		HasClientISN:      m.has(bCSyn),
		HasServerISN:      m.has(bSSyn),
		ECN:               m.has(bECNSyn) && m.has(bECNSynAck),
		Flipped:           m.has(bFlipped),
		SYNFrame:          m.synFrame,
		SYNACKFrame:       m.synAckFrame,
		ACKFrame:          m.ackFrame,
		SYNToSYNACK:       m.synToSynAck,
		SYNACKToACK:       m.synAckToAck,
		HasSYNToSYNACK:    m.has(bHasSynToSynAck),
		HasSYNACKToACK:    m.has(bHasSynAckToAck),
		FastOpen:          m.fastOpen,
		Close:             m.close,
		SYNRetransmits:    m.synRetx,
		SYNACKRetransmits: m.synAckRetx,
		DuplicateACKs:     m.dupAcks,
		ClientPackets:     m.cPkts,
		ServerPackets:     m.sPkts,
		ClientOptions:     m.cOpts,
		ServerOptions:     m.sOpts,
	}
	r.ClientState, r.ServerState = m.states()
	return r
}

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

func (m *Machine) recordSynTS(seg *decode.Segment) {
	if !seg.Options.Has(decode.OptTimestamps) {
		return
	}
	m.set(bCTS)
	i := m.nSyn % synTSRing
	m.synTSval[i], m.synTSAt[i] = seg.Options.TSval, seg.Timestamp
	m.nSyn++
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
	if seg.Seq != m.sISN {
		m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(m.sISN))
		m.offer(seg.Seq)
	}
	m.synAckRetx++
	return RoleSYNACKRetransmit
}

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
		if seg.Ack != m.synAckAck {
			m.raiseNum(SynAckChangedAck, seg, FieldAck, uint64(seg.Ack), uint64(m.synAckAck))
			if !seg.Ack.InRange(m.cISN.Add(1), m.cSynData) {
				m.unacceptable(seg.Ack, false)
			}
		}
		m.synAckRetx++
		return RoleSYNACKRetransmit
	}
	m.set(bSSynAck)
	m.synAckAck = seg.Ack
	if m.has(bSSyn) { // after the server's own SYN (simultaneous open)
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

func (m *Machine) timeSynAck(seg *decode.Segment, start int64) {
	if m.has(bHasSynToSynAck) {
		return // only the first SYN-ACK is timed
	}
	if d := seg.Timestamp - start; d >= 0 {
		m.synToSynAck = d
		m.set(bHasSynToSynAck)
	}
}

// clientSynAck handles a SYN-ACK from the client: legal only in a
// simultaneous open, answering the server's SYN (RFC 9293 §3.5 Figure 7).
func (m *Machine) clientSynAck(seg *decode.Segment) Role {
	if !m.has(bSBareSyn) {
		m.raise(SynAckFromClient, seg, "", 0, 0, false)
		return RoleInvalid
	}
	defer func(ts int64) { m.lastSynAck = ts; m.set(bSynAckTimed) }(seg.Timestamp)
	if seg.Seq != m.cISN {
		m.raiseNum(SynAckChangedSeq, seg, FieldSeq, uint64(seg.Seq), uint64(m.cISN))
	}
	if m.has(bCSynAck) {
		if seg.Ack != m.cSynAckAck {
			m.raiseNum(SynAckChangedAck, seg, FieldAck, uint64(seg.Ack), uint64(m.cSynAckAck))
			if !seg.Ack.InRange(m.sISN.Add(1), m.sSynData) {
				m.unacceptable(seg.Ack, true)
			}
		}
		m.synAckRetx++
		return RoleSYNACKRetransmit
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
	m.timeSynAck(seg, m.lastSSyn)
	return RoleSYNACK
}

func (m *Machine) rst(seg *decode.Segment, fromClient bool) Role {
	f := seg.Flags
	if !fromClient && !m.has(bCAcked) {
		// An RST answering the SYN (RFC 9293 §3.10.7.3, SYN-SENT): only
		// acceptable with an ACK that acknowledges the SYN.
		ackOK := f&decode.ACK != 0 && seg.Ack.InRange(m.cISN.Add(1), m.cSynData)
		switch hi := m.cISN.Add(1 + m.cSynData); {
		case f&decode.ACK == 0 && m.has(bAckNoSynAck):
			// It answers the client's ACK segment, not the SYN: RFC 9293
			// §3.10.7.1 resets an ACK with <SEQ=SEG.ACK><CTL=RST>, no ACK.
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
		lo, n = m.cISN.Add(1), m.cSynData
	case fromClient:
		// The client aborts its own unanswered SYN: nothing to check.
		m.closeRST(true)
		return RoleRST
	default:
		lo, n = m.sISN.Add(1), m.sSynData
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
	side := 1
	if fromClient {
		side = 0
	}
	n := int(m.nBad[side])
	if slices.Contains(m.bad[side][:min(n, maxBadAcks)], ack) {
		return
	}
	m.bad[side][n%maxBadAcks] = ack
	// Once full, the count cycles through maxBadAcks … 2·maxBadAcks-1: it
	// stays "full" and n%maxBadAcks names the oldest slot.
	if n++; n == 2*maxBadAcks {
		n = maxBadAcks
	}
	m.nBad[side] = uint8(n)
}

// answersUnacceptable reports whether seq, the seq of an RST from the
// client (fromClient) or the server, is the ack of an unacceptable segment
// the other side sent: the reset RFC 9293 prescribes in reply to it.
func (m *Machine) answersUnacceptable(seq decode.Seq, fromClient bool) bool {
	side := 0 // the RST answers the peer's segment
	if fromClient {
		side = 1
	}
	return slices.Contains(m.bad[side][:min(int(m.nBad[side]), maxBadAcks)], seq)
}

func (m *Machine) closeRST(fromClient bool) {
	m.set(bRSTClosed)
	m.close = ServerRST
	if fromClient {
		m.close = ClientRST
	}
}

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
	lo := m.cISN.Add(1)
	sent := max(m.cSynData, m.cSent)
	seqOK := seg.Seq.InRange(lo, sent)
	if seqOK {
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
	if !seqOK {
		exp := lo.Add(sent)
		if m.cSent <= m.cSynData {
			exp = lo
			if m.has(bCAcked) {
				exp = m.synAckAck
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
	slo := m.sISN.Add(1)
	if !seg.Ack.InRange(slo, uint32(m.sNxt.Diff(slo))) && !m.acceptOffered(seg.Ack) {
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
		m.raise(AckFromServer, seg, "", 0, 0, false)
		return
	}
	end := seg.Seq.Add(uint32(seg.PayloadLen))
	if seg.Flags&decode.FIN != 0 {
		end = end.Add(1)
	}
	if seg.Seq.InRange(m.sISN.Add(1), uint32(m.sNxt.Diff(m.sISN))) {
		m.advanceSNxt(end) // only segments that continue the server's stream
	}
	if m.has(bSSynAck) {
		return
	}
	lo := m.cISN.Add(1)
	ackOK := seg.Ack.InRange(lo, m.cSynData)
	if !ackOK {
		m.raiseNum(AckWrongAck, seg, FieldAck, uint64(seg.Ack), uint64(lo.Add(m.cSynData)))
		m.unacceptable(seg.Ack, false)
	}
	if m.has(bCAcked) {
		return
	}
	slo := m.sISN.Add(1)
	if !seg.Seq.InRange(slo, m.sSynData) {
		m.raiseNum(AckWrongSeq, seg, FieldSeq, uint64(seg.Seq), uint64(slo))
		return
	}
	if ackOK {
		m.set(bCAcked)
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

// acceptOffered reports whether ack, the ack of a client segment before
// completion, acknowledges one of the other ISNs the server offered, and if
// so makes it the server's ISN. A client in SYN-SENT takes its IRS from the
// SYN-ACK it processes (RFC 9293 §3.10.7.3) and acknowledges IRS+1: its ack
// names the SYN-ACK it accepted, which synack_changed_seq already judged
// (RFC 9293 §3.4), so the handshake completes against that ISN and what
// follows is not judged again against the first one.
func (m *Machine) acceptOffered(ack decode.Seq) bool {
	for i, isn := range m.offered[:m.nOffered] {
		if ack.InRange(isn.Add(1), m.sSynData) {
			m.sISN, m.offered[i] = isn, m.sISN
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

// trackFIN records FINs and their acknowledgments for the teardown states.
func (m *Machine) trackFIN(seg *decode.Segment, fromClient bool) {
	f := seg.Flags
	fin, finSeq, finAcked := bCFin, &m.cFinSeq, bSFinAcked
	peerFin, peerFinSeq := bSFin, m.sFinSeq
	if !fromClient {
		fin, finSeq, finAcked = bSFin, &m.sFinSeq, bCFinAcked
		peerFin, peerFinSeq = bCFin, m.cFinSeq
	}
	if f&decode.ACK != 0 && m.has(peerFin) && seg.Ack.Diff(peerFinSeq) >= 1 {
		m.set(finAcked)
	}
	if f&decode.FIN != 0 && !m.has(fin) {
		m.set(fin)
		*finSeq = seg.Seq.Add(uint32(seg.PayloadLen))
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

// midstream handles a segment of an attempt whose SYN was not captured. No
// numbers can be judged without the client's ISN; impossible flags still
// make it malformed. The first SYN-ACK fixes the roles: its receiver is the
// client (CONTRACT.md), so a SYN-ACK from the caller's client flips them.
func (m *Machine) midstream(seg *decode.Segment, fromClient bool) (Role, bool) {
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
		m.sISN, m.synAckAck, m.synAckFrame, m.lastSynAck = seg.Seq, seg.Ack, seg.Frame, seg.Timestamp
		m.sOpts = synOptions(&seg.Options)
		m.checkSynOptions(seg)
		return RoleSYNACK, fromClient
	case f&decode.RST != 0:
		m.closeRST(fromClient)
		return RoleRST, fromClient
	}
	if fromClient && m.has(bSSynAck) && seg.Ack == m.sISN.Add(1) {
		m.set(bSAcked)
	}
	m.trackFIN(seg, fromClient)
	return contentRole(seg), fromClient
}

// flip swaps what the machine recorded per side; only counters and FIN
// state can exist before the first SYN-ACK of a midstream attempt.
func (m *Machine) flip() {
	m.bits ^= bFlipped
	m.cPkts, m.sPkts = m.sPkts, m.cPkts
	swap := func(a, b uint32) {
		x, y := m.has(a), m.has(b)
		m.bits &^= a | b
		if x {
			m.set(b)
		}
		if y {
			m.set(a)
		}
	}
	swap(bCFin, bSFin)
	swap(bCFinAcked, bSFinAcked)
	m.cFinSeq, m.sFinSeq = m.sFinSeq, m.cFinSeq
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

// states derives both endpoint states from what was captured.
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
	default:
		c, s = SynSent, SynReceived
		if m.has(bCAcked) {
			c = Established
		} else if m.has(bSBareSyn) {
			c = SynReceived
		}
		if m.has(bSAcked) {
			s = Established
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
