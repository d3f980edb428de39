package handshake

import "github.com/hsanalyze/hsanalyze/decode"

// bits of Machine.bits. A pair of bits for the two sides is the client's
// bit and, shifted left by one, the server's: bCSyn<<srv is bSSyn (see
// side).
const (
	bStarted         uint32 = 1 << iota
	bMidstream              // the first segment was not a SYN without ACK
	bCSyn                   // client SYN seen: sd[cli].isn valid
	bSSyn                   // server ISN known: sd[srv].isn valid
	bCSynAck                // the client sent a SYN-ACK (simultaneous open): sd[cli].synAckAck valid
	bSSynAck                // the server sent a SYN-ACK: sd[srv].synAckAck valid
	bCAcked                 // the server acknowledged the client's SYN correctly
	bSAcked                 // the client acknowledged the server's SYN correctly
	bCFin                   // client sent FIN: sd[cli].finSeq valid
	bSFin                   // server sent FIN: sd[srv].finSeq valid
	bCFinAcked              // the server acknowledged the client's FIN
	bSFinAcked              // the client acknowledged the server's FIN
	bSBareSyn               // the server sent a SYN without ACK (simultaneous open)
	bComplete               // handshake complete
	bRefused                // acceptable RST answered the SYN
	bFatal                  // a fatal anomaly was raised
	bRSTClosed              // an acceptable RST ended the connection
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
	bSSynInferred           // sd[srv].isn is inferred from the client's SYN-ACK: the server's SYN was not captured
)

// The two sides, as indexes of Machine.sd and shifts of a bit pair.
const (
	cli = 0
	srv = 1
)

// sideOf returns the index of the client's (fromClient) or the server's
// side.
func sideOf(fromClient bool) int {
	if fromClient {
		return cli
	}
	return srv
}

// side is what the machine keeps of one endpoint, the same for both: the
// SYN-ACK checks of a simultaneous open judge the client as the ordinary
// ones judge the server.
type side struct {
	isn       decode.Seq // of its SYN (or SYN-ACK): valid iff bCSyn<<side
	synAckAck decode.Seq // ack of its first SYN-ACK: valid iff bCSynAck<<side
	synData   uint32     // largest payload on one of its SYNs (the server's SYN-ACKs count)
	finSeq    decode.Seq // sequence number its FIN occupies: valid iff bCFin<<side
	pkts      uint32     // segments fed from it
	opts      SynOptions // of the client's first SYN; of the server's first SYN-ACK (or SYN)
}

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
//
// Memory: what every attempt needs is inline and fixed in size (168
// bytes), without pointers but x: frames, durations and times take 32 bits
// each (getWide, getTime). What only some attempts have (evidence, other
// offered ISNs, acks of unacceptable segments, an ICMP error, more than one
// SYN with timestamps, a server SYN, a frame, duration or time out of the
// 32-bit range) lives in x, allocated when the first of them occurs: a
// clean handshake allocates nothing.
type Machine struct {
	bits               uint32
	sNxt               decode.Seq // one past the highest sequence number the server sent
	cWndEnd            decode.Seq // right edge of the server's receive window (see widenClientWindow)
	finalSeq, finalAck decode.Seq
	cSent              uint32 // client sequence space sent after its SYN before completion, from ISN+1 (see clientAck)
	nSyn               uint32 // client SYN transmissions with timestamps
	synTSVal           uint32 // TSval of the SYN timestamp ring's first slot (see recordSynTS); its time is times[tsSynTS0]
	// endDelay (µs) runs from the segment the RST or ICMP error of the
	// tale answers to it (Result.Tale).
	endDelay uint32
	// wide holds frames and durations (see getWide), times capture
	// times (see getTime).
	wide  [numWide]uint32
	times [numTimes]uint32
	sd    [2]side
	// cSynWnd is the window of the client's first SYN (never scaled).
	cSynWnd, synRetx, synAckRetx, dupAcks uint16
	synAfterAck                           uint16 // client SYNs repeating the ISN after a SYN-ACK (Result.Tale)
	fastOpen                              FastOpen
	close                                 Close
	taleBits                              uint8  // Tale's bits
	firstTS                               int64  // capture time of the first segment
	x                                     *extra // nil until needed
}

// Indexes of Machine.wide: frames, and durations in ns (valid iff
// bHasSynToSynAck, bHasSynAckToAck). wTaleFrame is the tale's frame: for a
// midstream attempt its first frame, else the frame of the RST that closed
// it, or else of its first ICMP error.
const (
	wSynFrame = iota
	wSynAckFrame
	wAckFrame
	wTaleFrame
	wSynToSynAck
	wSynAckToAck
	numWide
)

// wideOut in Machine.wide says the value is in extra.wide.
const wideOut = 1<<32 - 1

// getWide returns the value at index i of Machine.wide.
func (m *Machine) getWide(i int) uint64 {
	if v := m.wide[i]; v != wideOut {
		return uint64(v)
	}
	return m.x.far.wide[i]
}

// setWide sets the value at index i of Machine.wide: inline below
// wideOut (frames of a file of up to 4 billion packets, durations up to
// 4.29 s), else out of line.
func (m *Machine) setWide(i int, v uint64) {
	if v < wideOut {
		m.wide[i] = uint32(v)
		return
	}
	m.wide[i] = wideOut
	m.more().farOf().wide[i] = v
}

// Indexes of Machine.times: the capture times of the client's last SYN, of
// the last SYN-ACK (either side; valid iff bSynAckTimed) and of the first
// one, of the SYN timestamp ring's first slot, and the latest time of a
// segment or ICMP error fed (LastTS). A time never set is 0.
const (
	tsLastCSyn = iota
	tsLastSynAck
	tsFirstSynAck
	tsSynTS0
	tsLast
	numTimes
)

// getTime returns the time at index i of Machine.times. Inline, 0 is the
// time 0, timeOut says it is in extra.times, and any other v is firstTS +
// v - 1: times within 4.29 s after the first segment, most of an
// attempt's.
func (m *Machine) getTime(i int) int64 {
	switch v := m.times[i]; v {
	case 0:
		return 0
	case timeOut:
		return m.x.far.times[i]
	default:
		return m.firstTS + int64(v-1)
	}
}

const timeOut = 1<<32 - 1

// setTime sets the time at index i of Machine.times (see getTime); the
// first segment's time must be known.
func (m *Machine) setTime(i int, ts int64) {
	if d := ts - m.firstTS; ts != 0 && d >= 0 && d < timeOut-1 {
		m.times[i] = uint32(d + 1)
		return
	}
	if ts == 0 {
		m.times[i] = 0
		return
	}
	m.times[i] = timeOut
	m.more().farOf().times[i] = ts
}

// extra is the part of a Machine only some attempts need; the parts of it
// fewer still need are behind pointers of their own.
type extra struct {
	ev []Anomaly
	// ring holds the SYN timestamp ring's slots 1 and on, from a second
	// client SYN with timestamps until the server's first SYN-ACK read
	// them (then nil).
	ring     *[synTSRing - 1]synTS
	far      *far                      // values out of Machine.wide's and times's range
	lastSSyn int64                     // capture time of the server's last SYN
	offered  [maxOffered]decode.Seq    // other server ISNs offered, in order of first sight
	bad      [2][maxBadAcks]decode.Seq // [cli], [srv]: acks of that side's unacceptable segments
	nBad     [2]uint8                  // acks written to bad, per side (see unacceptable)
	nOffered uint8
	icmpType uint8 // of the first ICMP error (valid iff taleBits has tICMP)
	icmpCode uint8
	icmpFrom [16]byte
}

// far holds the values of Machine.wide and Machine.times that do not fit
// in their 32 bits, at the same indexes.
type far struct {
	wide  [numWide]uint64
	times [numTimes]int64
}

// farOf returns x.far, allocating it if needed.
func (x *extra) farOf() *far {
	if x.far == nil {
		x.far = new(far)
	}
	return x.far
}

// synTS is one client SYN transmission with timestamps: its TSval and
// capture time.
type synTS struct {
	val uint32
	at  int64
}

// more returns m.x, allocating it if needed.
func (m *Machine) more() *extra {
	if m.x == nil {
		m.x = new(extra)
	}
	return m.x
}

// evidence returns the anomalies raised so far, nil if none.
func (m *Machine) evidence() []Anomaly {
	if m.x == nil {
		return nil
	}
	return m.x.ev
}

func (m *Machine) has(b uint32) bool { return m.bits&b != 0 }
func (m *Machine) set(b uint32)      { m.bits |= b }

func (m *Machine) raise(c Code, seg *decode.Segment, field string, seen, expected uint64, values bool) {
	if c.Fatal() {
		m.set(bFatal)
	}
	x := m.more()
	x.ev = append(x.ev, Anomaly{Code: c, Frame: seg.Frame, File: seg.File, Field: field, Seen: seen, Expected: expected, HasValues: values})
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
	n := len(m.evidence())
	if !m.has(bStarted) {
		m.set(bStarted)
		if f&(decode.SYN|decode.ACK) != decode.SYN {
			m.set(bMidstream)
		}
		if !fromClient {
			m.set(bFirstFromServer)
		}
		m.firstTS = seg.Timestamp
		m.setTime(tsLast, seg.Timestamp)
		if m.has(bMidstream) {
			m.setWide(wTaleFrame, seg.Frame)
		}
	}
	if seg.Timestamp > m.getTime(tsLast) {
		m.setTime(tsLast, seg.Timestamp)
	}
	m.noteFragments(seg)
	wasComplete, wasFlipped, wasClosed := m.has(bComplete), m.has(bFlipped), m.has(bRSTClosed)
	prevSynAck, synAckTimed := m.getTime(tsLastSynAck), m.has(bSynAckTimed)
	var role Role
	switch {
	case m.has(bMidstream):
		role, fromClient = m.midstream(seg, fromClient)
	case wasComplete:
		role = m.after(seg, fromClient)
	default:
		role = m.handshake(seg, fromClient)
	}
	m.sd[sideOf(fromClient)].pkts++
	m.tell(seg, role, fromClient, wasClosed)
	ev := Event{Role: role, FromClient: fromClient, Flipped: m.has(bFlipped) != wasFlipped}
	if !wasComplete && !m.has(bMidstream) && m.has(bCAcked) && m.has(bSAcked) {
		m.set(bComplete)
		ev.Completed = true
		ev.Role = RoleFinalACK
		m.setWide(wAckFrame, seg.Frame)
		if synAckTimed {
			if d := seg.Timestamp - prevSynAck; d >= 0 {
				m.setWide(wSynAckToAck, uint64(d))
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
	if all := m.evidence(); len(all) > n {
		ev.Anomalies = all[n:len(all):len(all)]
	}
	return ev
}

// ICMP records an ICMP error quoting seg, a segment of this attempt, as the
// informational anomaly icmp_error; fromClient tells the quoted segment's
// direction as for Step. It never changes the verdict: an ICMP error is not
// a refusal (CONTRACT.md; RFC 9293 §3.9.1 MUST-56/57 treat unreachable as a
// soft error for a connection in SYN-SENT).
func (m *Machine) ICMP(seg *decode.Segment, icmp decode.ICMPError, fromClient bool) Event {
	n := len(m.evidence())
	if seg.Timestamp > m.getTime(tsLast) || !m.has(bStarted) {
		m.setTime(tsLast, seg.Timestamp)
	}
	m.raise(ICMPError, seg, "", 0, 0, false)
	m.icmpError(seg, &icmp) // type and code do not change the judgement, only the reason
	c, s := m.states()
	all := m.x.ev
	return Event{Role: RoleICMP, Client: c, Server: s, Anomalies: all[n:len(all):len(all)],
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
