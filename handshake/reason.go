package handshake

import (
	"net/netip"
	"strconv"

	"github.com/hsanalyze/hsanalyze/decode"
)

// Tale is what Result.AppendReason tells an attempt's reason from, beyond
// the rest of Result: the frame and delay of the segment that ended it, its
// first ICMP error, how long the SYNs and SYN-ACKs were resent. Machine
// keeps it up to date and Result copies it; its fields are unexported.
// Fixed size and no pointers (48 bytes), so that it costs every attempt
// the same and nothing for the garbage collector.
type Tale struct {
	// frame is, for a midstream attempt, its first frame; otherwise the
	// frame of the RST that closed it, or else of its first ICMP error.
	frame    uint64
	icmpFrom [16]byte // the ICMP error's sender (IPv4 iff tIcmpFrom4)
	// Durations in µs, saturated at 2^32-1 (71 min).
	synSpan  uint32 // from the first SYN to the last
	ackSpan  uint32 // from the first SYN-ACK to the last
	endDelay uint32 // from the segment the RST or ICMP error answers to it
	// synAfterAck counts client SYNs repeating the ISN after a SYN-ACK.
	synAfterAck        uint16
	icmpType, icmpCode uint8
	bits               uint8
	ending             Ending
	endGap             uint32 // µs from the last segment to the end (see EndAt)
}

// Bits of Tale.bits.
const (
	tRST          uint8 = 1 << iota // frame is the closing RST's
	tRSTAck                         // that RST had the ACK flag
	tICMP                           // an ICMP error was captured (frame is its, without tRST)
	tICMPv6                         // icmpType and icmpCode are ICMPv6
	tICMPFrom4                      // icmpFrom is an IPv4 address
	tFirstServer                    // the first segment came from the server (final roles)
	tSimultaneous                   // the server sent a bare SYN (simultaneous open)
)

// micros converts ns to saturated µs; negative (a clock stepping back) is 0.
func micros(ns int64) uint32 {
	switch {
	case ns <= 0:
		return 0
	case ns/1000 >= 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(ns / 1000)
}

func (m *Machine) icmpError(seg *decode.Segment, e *decode.ICMPError) {
	if m.taleBits&tICMP != 0 {
		return
	}
	m.taleBits |= tICMP
	if m.taleBits&tRST == 0 && !m.has(bMidstream) {
		m.setWide(wTaleFrame, seg.Frame)
		m.endDelay = micros(seg.Timestamp - m.getTime(tsLastCSyn))
	}
	x := m.more()
	x.icmpType, x.icmpCode = e.Type, e.Code
	if e.V6 {
		m.taleBits |= tICMPv6
	}
	if e.From.Is4() || e.From.Is4In6() {
		m.taleBits |= tICMPFrom4
	}
	x.icmpFrom = e.From.As16()
}

// tell records what seg, of role, adds to the tale; wasClosed is whether an
// RST had closed the attempt before it.
func (m *Machine) tell(seg *decode.Segment, role Role, fromClient, wasClosed bool) {
	switch role {
	case RoleSYNACK:
		if m.getTime(tsFirstSynAck) == 0 {
			m.setTime(tsFirstSynAck, seg.Timestamp)
		}
	case RoleSYNRetransmit:
		if m.has(bSSynAck) && !m.has(bComplete) {
			m.synAfterAck++
		}
	case RoleRST:
		if wasClosed || !m.has(bRSTClosed) || m.has(bMidstream) {
			break
		}
		m.taleBits |= tRST
		if seg.Flags&decode.ACK != 0 {
			m.taleBits |= tRSTAck
		}
		m.setWide(wTaleFrame, seg.Frame)
		// What it answers: the SYN-ACK it follows, or the SYN.
		since := m.getTime(tsLastCSyn)
		if m.has(bSSynAck) {
			since = m.getTime(tsLastSynAck)
		}
		if since == 0 || since > seg.Timestamp {
			since = m.firstTS
		}
		m.endDelay = micros(seg.Timestamp - since)
	}
	if fromClient && m.has(bCAcked) && seg.Flags&decode.ACK != 0 && seg.Flags&decode.SYN == 0 {
		m.set(bCReplied)
	}
}

// taleResult builds the tale for Result.
func (m *Machine) taleResult() Tale {
	t := Tale{frame: m.getWide(wTaleFrame), endDelay: m.endDelay, synAfterAck: m.synAfterAck, bits: m.taleBits}
	if x := m.x; x != nil && m.taleBits&tICMP != 0 {
		t.icmpType, t.icmpCode, t.icmpFrom = x.icmpType, x.icmpCode, x.icmpFrom
	}
	if m.has(bFirstFromServer) != m.has(bFlipped) {
		t.bits |= tFirstServer
	}
	if m.has(bSBareSyn) {
		t.bits |= tSimultaneous
	}
	if m.has(bCSyn) {
		t.synSpan = micros(m.getTime(tsLastCSyn) - m.firstTS)
	}
	if first := m.getTime(tsFirstSynAck); first != 0 {
		t.ackSpan = micros(m.getTime(tsLastSynAck) - first)
	}
	return t
}

// Ending says how the caller stopped feeding an attempt, for its reason.
type Ending uint8

// Endings.
const (
	// EndedNormally: the attempt was closed, superseded by a new one, or
	// idle for the idle timeout.
	EndedNormally Ending = iota
	// EndedWithInput: the input ended while the attempt was open.
	EndedWithInput
	// EndedInterrupted: reading was interrupted (a signal) while the
	// attempt was open: it is judged unfinished.
	EndedInterrupted
)

// EndAt records, for the reason, that the caller stopped feeding the
// attempt while it was open (end is not EndedNormally), gap ns after its
// last segment.
func (r *Result) EndAt(end Ending, gap int64) {
	r.Tale.ending, r.Tale.endGap = end, micros(gap)
}

// AppendReason appends to dst one line of plain words saying why r got
// its verdict, such as "no SYN-ACK to 4 SYNs over 15.0 s" or "RST+ACK
// from the server 0.2 ms after the SYN (frame 4)"; for an attempt still
// open when the input ended or was interrupted (EndAt), it says so.
//
// The wording is stable enough to grep; docs/anomalies.md lists every
// form. Frames are numbered within the attempt's file.
func (r *Result) AppendReason(dst []byte) []byte {
	t := &r.Tale
	switch r.Verdict {
	case Malformed:
		dst = r.appendFatal(dst)
	case Refused:
		dst = t.appendRST(dst, "from the server", "after the SYN")
		if r.SYNRetransmits > 0 {
			dst = append(dst, ", which was sent "...)
			dst = appendCount(dst, int(r.SYNRetransmits)+1, "time", "times")
		}
	case Complete:
		dst = r.appendComplete(dst)
	case Midstream:
		dst = append(dst, "SYN not captured: first seen mid-connection at "...)
		dst = appendFrame(dst, t.frame)
		if t.bits&tFirstServer != 0 {
			dst = append(dst, ", from the server"...)
		} else {
			dst = append(dst, ", from the client"...)
		}
		if r.SYNACKFrame != 0 {
			dst = append(dst, "; SYN-ACK at "...)
			dst = appendFrame(dst, r.SYNACKFrame)
		}
	default:
		dst = r.appendHalfOpen(dst)
	}
	if r.Verdict == Complete || r.Verdict == Refused {
		return dst
	}
	switch t.ending {
	case EndedInterrupted:
		dst = append(dst, "; unfinished: interrupted "...)
		dst = appendMicros(dst, t.endGap)
		dst = append(dst, " after its last segment"...)
	case EndedWithInput:
		switch {
		case r.Verdict != HalfOpen:
		case t.endGap == 0:
			dst = append(dst, "; capture ended with its last segment"...)
		default:
			dst = append(dst, "; capture ended "...)
			dst = appendMicros(dst, t.endGap)
			dst = append(dst, " later"...)
		}
	}
	return dst
}

func (r *Result) appendFatal(dst []byte) []byte {
	for i := range r.Evidence {
		a := &r.Evidence[i]
		if !a.Code.Fatal() {
			continue
		}
		dst = append(dst, a.Code.String()...)
		if a.HasValues {
			dst = append(dst, ": "...)
			dst = a.AppendValues(dst)
		}
		dst = append(dst, " ("...)
		dst = appendFrame(dst, a.Frame)
		return append(dst, ')')
	}
	return append(dst, "a fatal anomaly"...)
}

// appendRST describes the RST that closed the attempt: "RST+ACK from the
// server 0.2 ms after the SYN (frame 4)".
func (t *Tale) appendRST(dst []byte, who, what string) []byte {
	if t.bits&tRSTAck != 0 {
		dst = append(dst, "RST+ACK "...)
	} else {
		dst = append(dst, "RST "...)
	}
	dst = append(dst, who...)
	dst = append(dst, ' ')
	dst = appendMicros(dst, t.endDelay)
	dst = append(dst, ' ')
	dst = append(dst, what...)
	dst = append(dst, " ("...)
	dst = appendFrame(dst, t.frame)
	return append(dst, ')')
}

func (r *Result) appendComplete(dst []byte) []byte {
	if r.Tale.bits&tSimultaneous != 0 {
		dst = append(dst, "simultaneous open completed"...)
	} else {
		dst = append(dst, "handshake completed"...)
	}
	if r.HasSYNToSYNACK && r.HasSYNACKToACK {
		dst = append(dst, " in "...)
		dst = appendDuration(dst, r.SYNToSYNACK+r.SYNACKToACK)
		dst = append(dst, " (SYN-ACK after "...)
		dst = appendDuration(dst, r.SYNToSYNACK)
		dst = append(dst, ')')
	}
	if r.SYNRetransmits > 0 {
		dst = append(dst, " after "...)
		dst = appendCount(dst, int(r.SYNRetransmits), "SYN retransmission", "SYN retransmissions")
	}
	return dst
}

func (r *Result) appendHalfOpen(dst []byte) []byte {
	t := &r.Tale
	synAck := r.SYNACKFrame != 0
	switch {
	case t.bits&tRST != 0 && r.Close == ClientRST && synAck:
		dst = append(dst, "client reset "...)
		dst = appendMicros(dst, t.endDelay)
		dst = append(dst, " after the SYN-ACK ("...)
		dst = appendFrame(dst, t.frame)
		return append(dst, ')')
	case t.bits&tRST != 0 && r.Close == ClientRST:
		dst = append(dst, "client reset "...)
		dst = appendMicros(dst, t.endDelay)
		dst = append(dst, " after its SYN, with no SYN-ACK captured ("...)
		dst = appendFrame(dst, t.frame)
		return append(dst, ')')
	case t.bits&tRST != 0 && synAck:
		dst = t.appendRST(dst, "from the server", "after its SYN-ACK")
		return append(dst, ", before the client's ACK"...)
	case t.bits&tICMP != 0 && !synAck:
		return r.appendICMP(dst)
	case t.bits&tSimultaneous != 0:
		return append(dst, "simultaneous open never completed"...)
	case synAck && t.synAfterAck > 0:
		dst = append(dst, "SYN-ACK never reached the client: it resent its SYN "...)
		dst = appendCount(dst, int(t.synAfterAck), "time", "times")
		dst = append(dst, " after the SYN-ACK ("...)
		dst = appendFrame(dst, r.SYNACKFrame)
		return append(dst, ')')
	case synAck && r.SYNACKRetransmits > 0:
		dst = append(dst, "SYN-ACK never acknowledged ("...)
		dst = appendCount(dst, int(r.SYNACKRetransmits), "retransmission", "retransmissions")
		dst = append(dst, " over "...)
		dst = appendMicros(dst, t.ackSpan)
		return append(dst, ')')
	case synAck:
		dst = append(dst, "SYN-ACK never acknowledged ("...)
		dst = appendFrame(dst, r.SYNACKFrame)
		return append(dst, ')')
	}
	if r.ServerPackets > 0 && r.Has(AckWithoutSynAck) {
		// The client acknowledged a SYN-ACK the capture lacks.
		dst = append(dst, "SYN-ACK not captured, though the client acknowledged one (the server sent "...)
		dst = appendCount(dst, int(r.ServerPackets), "segment", "segments")
		return append(dst, ')')
	}
	if r.ServerPackets == 0 {
		dst = append(dst, "no reply to "...)
	} else {
		dst = append(dst, "no SYN-ACK to "...)
	}
	if n := int(r.SYNRetransmits) + 1; n == 1 {
		dst = append(dst, "the SYN"...)
	} else {
		dst = appendCount(dst, n, "SYN", "SYNs")
		dst = append(dst, " over "...)
		dst = appendMicros(dst, t.synSpan)
	}
	if r.ServerPackets > 0 {
		dst = append(dst, " (the server sent "...)
		dst = appendCount(dst, int(r.ServerPackets), "other segment", "other segments")
		dst = append(dst, ')')
	}
	return dst
}

func (r *Result) appendICMP(dst []byte) []byte {
	t := &r.Tale
	dst = append(dst, "ICMP "...)
	dst = append(dst, ICMPText(t.icmpType, t.icmpCode, t.bits&tICMPv6 != 0)...)
	dst = append(dst, " from "...)
	a := netip.AddrFrom16(t.icmpFrom)
	if t.bits&tICMPFrom4 != 0 {
		a = a.Unmap()
	}
	dst = a.AppendTo(dst)
	dst = append(dst, ' ')
	dst = appendMicros(dst, t.endDelay)
	dst = append(dst, " after the SYN ("...)
	dst = appendFrame(dst, t.frame)
	return append(dst, ')')
}

// ICMPText names an ICMP (v6 false) or ICMPv6 error by its type and code in
// words, such as "port unreachable" or "time exceeded in transit".
func ICMPText(typ, code uint8, v6 bool) string {
	if v6 {
		switch typ {
		case 1:
			if int(code) < len(icmp6Unreach) {
				return icmp6Unreach[code]
			}
			return "destination unreachable (code " + strconv.Itoa(int(code)) + ")"
		case 2:
			return "packet too big"
		case 3:
			if code == 1 {
				return "time exceeded in fragment reassembly"
			}
			return "time exceeded in transit"
		case 4:
			return "parameter problem"
		}
		return "type " + strconv.Itoa(int(typ)) + " code " + strconv.Itoa(int(code))
	}
	switch typ {
	case 3:
		if int(code) < len(icmp4Unreach) {
			return icmp4Unreach[code]
		}
		return "destination unreachable (code " + strconv.Itoa(int(code)) + ")"
	case 4:
		return "source quench"
	case 5:
		return "redirect"
	case 11:
		if code == 1 {
			return "time exceeded in fragment reassembly"
		}
		return "time exceeded in transit"
	case 12:
		return "parameter problem"
	}
	return "type " + strconv.Itoa(int(typ)) + " code " + strconv.Itoa(int(code))
}

// Destination unreachable codes: RFC 792, RFC 1122 §3.2.2.1, RFC 1812
// §5.2.7.1 (ICMP); RFC 4443 §3.1 (ICMPv6).
var icmp4Unreach = [...]string{
	"net unreachable", "host unreachable", "protocol unreachable", "port unreachable",
	"fragmentation needed", "source route failed", "destination network unknown",
	"destination host unknown", "source host isolated", "network administratively prohibited",
	"host administratively prohibited", "network unreachable for TOS", "host unreachable for TOS",
	"communication administratively prohibited", "host precedence violation", "precedence cutoff in effect",
}

var icmp6Unreach = [...]string{
	"no route to destination", "communication administratively prohibited", "beyond scope of source address",
	"address unreachable", "port unreachable", "source address failed ingress/egress policy",
	"reject route to destination",
}

// AppendValues appends what a was seen and expected to be, such as "ack
// 1002, expected 1001" or, for flag sets, "flags FIN|PSH|URG, expected
// FIN|ACK|PSH|URG". It appends nothing when a has no values.
func (a *Anomaly) AppendValues(dst []byte) []byte {
	if !a.HasValues {
		return dst
	}
	dst = append(dst, a.Field...)
	dst = append(dst, ' ')
	if a.Field == FieldFlags {
		dst = append(dst, decode.Flags(a.Seen).String()...)
		dst = append(dst, ", expected "...)
		return append(dst, decode.Flags(a.Expected).String()...)
	}
	dst = strconv.AppendUint(dst, a.Seen, 10)
	dst = append(dst, ", expected "...)
	return strconv.AppendUint(dst, a.Expected, 10)
}

func appendFrame(dst []byte, frame uint64) []byte {
	dst = append(dst, "frame "...)
	return strconv.AppendUint(dst, frame, 10)
}

func appendCount(dst []byte, n int, one, many string) []byte {
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, ' ')
	if n == 1 {
		return append(dst, one...)
	}
	return append(dst, many...)
}

// appendMicros appends a saturated µs duration of Tale.
func appendMicros(dst []byte, us uint32) []byte {
	if us == 1<<32-1 {
		return append(dst, "over 71 min"...)
	}
	return appendDuration(dst, int64(us)*1000)
}

// appendDuration appends ns in the unit a person reads best: "0.2 ms",
// "15.0 s", "3 min 20 s"; a negative duration (a capture whose clock
// steps back) as "0 ms". Below two minutes it is the decimal that
// strconv.AppendFloat(dst, float64(ns)/unit, 'f', decimals, 64) writes
// (appendDurationFloat; TestAppendDuration compares them), in integers:
// AppendFloat was most of the cost of a reason.
func appendDuration(dst []byte, ns int64) []byte {
	ns = max(ns, 0)
	switch {
	case ns < 100_000: // below 0.1 ms: three decimals
		return append(appendFixed(dst, ns, 1e3, 3), " ms"...)
	case ns < 1e9:
		return append(appendFixed(dst, ns, 1e5, 1), " ms"...)
	case ns < 120e9:
		return append(appendFixed(dst, ns, 1e8, 1), " s"...)
	}
	s := ns / 1e9
	dst = strconv.AppendInt(dst, s/60, 10)
	dst = append(dst, " min "...)
	dst = strconv.AppendInt(dst, s%60, 10)
	return append(dst, " s"...)
}

// appendFixed appends ns (0 <= ns < 2^53) in steps of step ns, rounded to
// the nearest step, with decimals (1 or 3) digits after the point: the
// unit is step*10^decimals ns. It equals strconv's 'f' formatting of
// float64(ns)/unit: that quotient is within 2^-53 of ns/unit, far closer
// than the 1 ns that separates a whole ns from a rounding boundary, so
// both round alike but at a boundary itself (a tie), where strconv rounds
// the float, slightly off the tie, or half to even: ties go to strconv.
func appendFixed(dst []byte, ns, step int64, decimals int) []byte {
	q, r := ns/step, ns%step
	switch {
	case 2*r == step:
		return appendDurationFloat(dst, ns, step, decimals)
	case 2*r > step:
		q++
	}
	scale := int64(10)
	if decimals == 3 {
		scale = 1000
	}
	dst = strconv.AppendInt(dst, q/scale, 10)
	frac := q % scale
	if decimals == 3 {
		return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	}
	return append(dst, '.', byte('0'+frac))
}

// appendDurationFloat is appendFixed by strconv.AppendFloat.
func appendDurationFloat(dst []byte, ns, step int64, decimals int) []byte {
	unit := float64(step) * 10
	if decimals == 3 {
		unit = float64(step) * 1000
	}
	return strconv.AppendFloat(dst, float64(ns)/unit, 'f', decimals, 64)
}
