package report

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Timeline collects every segment of the connection attempts between two
// endpoints and writes them, attempt by attempt, as a table or as JSON:
// what a forensic reviewer reads. Feed it with Trace from the tracker's
// Options.Trace and Flow from the emit callback, then call Write. It is not
// safe for concurrent use; the zero value is not usable, use NewTimeline.
type Timeline struct {
	// Width is the terminal width WriteTable must fit (0: no limit). A
	// timeline wider than that, or any at CompactWidth or below, uses the
	// compact layout: relative numbers, options and anomalies under the
	// row.
	Width    int
	key      reassembly.FlowKey
	attempts map[uint64]*attemptLine
	order    []uint64
}

type attemptLine struct {
	flow []byte // the flow's JSON object, once emitted
	f    *reassembly.Flow
	segs []segLine
}

// segLine is one segment of a timeline.
type segLine struct {
	ts         int64
	frame      uint64
	fromClient bool
	flags      decode.Flags
	seq, ack   uint32
	window     uint16
	payload    int
	opts       string
	icmp       *icmpLine // set for an ICMP error quoting a segment
	ev         handshake.Event
	anomalies  []handshake.Anomaly
}

// icmpLine is what a timeline shows of an ICMP error: who sent it, what it
// says, and which segment it quotes (the segLine's fields describe that
// quoted segment, as far as the message carried it).
type icmpLine struct {
	from      netip.Addr
	typ, code uint8
	v6        bool
	quotedLen int // bytes of the quoted TCP header
}

// what names the error in words: "ICMP port unreachable".
func (i *icmpLine) what() string {
	p := "ICMP "
	if i.v6 {
		p = "ICMPv6 "
	}
	return p + handshake.ICMPText(i.typ, i.code, i.v6)
}

// NewTimeline returns a Timeline of the attempts between a and b, in either
// direction.
func NewTimeline(a, b netip.AddrPort) *Timeline {
	return &Timeline{key: reassembly.KeyOf(a, b), attempts: map[uint64]*attemptLine{}}
}

func (t *Timeline) attempt(n uint64) *attemptLine {
	a := t.attempts[n]
	if a == nil {
		a = &attemptLine{}
		t.attempts[n] = a
		t.order = append(t.order, n)
	}
	return a
}

// Trace records one segment if it belongs to the selected endpoints.
func (t *Timeline) Trace(tr *reassembly.Trace) {
	if tr.Key.Tuple() != t.key {
		return
	}
	s := tr.Segment
	l := segLine{
		ts: s.Timestamp, frame: s.Frame, fromClient: tr.Event.FromClient, flags: s.Flags,
		seq: uint32(s.Seq), ack: uint32(s.Ack), window: s.Window, payload: s.PayloadLen,
		opts: optionSummary(&s.Options), ev: tr.Event,
		anomalies: append([]handshake.Anomaly(nil), tr.Event.Anomalies...),
	}
	if i := tr.ICMP; i != nil {
		l.icmp = &icmpLine{from: i.From, typ: i.Type, code: i.Code, v6: i.V6, quotedLen: i.Quoted}
	}
	a := t.attempt(tr.Attempt)
	if tr.Event.Flipped {
		// The machine swapped client and server at this segment (a
		// midstream attempt's first SYN-ACK): earlier lines were traced in
		// the old roles.
		for i := range a.segs {
			a.segs[i].fromClient = !a.segs[i].fromClient
		}
	}
	a.segs = append(a.segs, l)
}

// Flow records an emitted attempt if it belongs to the selected endpoints,
// and reports whether it did.
func (t *Timeline) Flow(f *reassembly.Flow) bool {
	if reassembly.KeyOf(f.Client, f.Server) != t.key {
		return false
	}
	a := t.attempt(f.Attempt)
	a.flow = AppendFlowJSON(nil, f)
	cp := *f
	cp.Evidence = append([]handshake.Anomaly(nil), f.Evidence...)
	a.f = &cp
	return true
}

// Len returns the number of attempts recorded.
func (t *Timeline) Len() int { return len(t.order) }

func optionSummary(o *decode.Options) string {
	var parts []string
	if o.Has(decode.OptMSS) {
		parts = append(parts, "mss "+strconv.Itoa(int(o.MSS)))
	}
	if o.Has(decode.OptWindowScale) {
		parts = append(parts, "wscale "+strconv.Itoa(int(o.WindowScale)))
	}
	if o.Has(decode.OptSACKPermitted) {
		parts = append(parts, "sackOK")
	}
	if o.Has(decode.OptTimestamps) {
		parts = append(parts, fmt.Sprintf("TS %d/%d", o.TSval, o.TSecr))
	}
	if o.Has(decode.OptFastOpen) {
		if o.CookieLen == 0 {
			parts = append(parts, "tfo cookie-request")
		} else {
			parts = append(parts, fmt.Sprintf("tfo cookie[%d]", o.CookieLen))
		}
	}
	if o.Has(decode.OptBad) {
		parts = append(parts, fmt.Sprintf("bad option %d", o.BadKind))
	}
	if o.Has(decode.OptTruncated) {
		parts = append(parts, "options cut")
	}
	return strings.Join(parts, ", ")
}

// relative returns v - isn when the ISN is known, as Wireshark's relative
// sequence numbers.
func relative(v uint32, isn decode.Seq, ok bool) string {
	if !ok {
		return "-"
	}
	return strconv.FormatUint(uint64(v-uint32(isn)), 10)
}

// WriteTable writes each attempt's summary line and its segments.
func (t *Timeline) WriteTable(w io.Writer, color bool) error {
	if len(t.order) == 0 {
		_, err := fmt.Fprintln(w, "No segment between these endpoints.")
		return err
	}
	for i, n := range t.order {
		a := t.attempts[n]
		if i > 0 {
			fmt.Fprintln(w)
		}
		f := a.f
		if f == nil || len(a.segs) == 0 {
			continue
		}
		tw := &tableWriter{opts: Options{Color: color}}
		var head bytes.Buffer
		fmt.Fprintf(&head, "Attempt %d: %s → %s  %s", i+1, f.Client, f.Server, tw.verdict(f.Verdict))
		if f.Tunnel.Len() > 0 {
			fmt.Fprintf(&head, "  via %s", f.Tunnel)
		}
		if f.HasClientISN {
			fmt.Fprintf(&head, "  client ISN %d", uint32(f.ClientISN))
		}
		if f.HasServerISN {
			fmt.Fprintf(&head, "  server ISN %d", uint32(f.ServerISN))
		}
		fmt.Fprintf(&head, "\nReason: %s\n", f.AppendReason(nil))
		if err := wrapLines(w, head.Bytes(), t.Width); err != nil {
			return err
		}
		var full bytes.Buffer
		if t.Width <= 0 || t.Width > CompactWidth {
			if err := writeAttemptTable(&full, a); err != nil {
				return err
			}
		}
		if full.Len() > 0 && (t.Width <= 0 || widest(full.Bytes()) <= t.Width) {
			if _, err := w.Write(full.Bytes()); err != nil {
				return err
			}
			continue
		}
		writeAttemptCompact(w, a, t.Width)
	}
	return nil
}

// writeAttemptCompact writes one attempt's segments in the compact layout:
// relative numbers only, no window or length, the options, ICMP details
// and anomalies on lines under the row.
func writeAttemptCompact(w io.Writer, a *attemptLine, width int) {
	f := a.f
	ct := newCompactTable(w, width, "t (ms)", "frame", "dir", "flags", "seq", "ack", "client", "server")
	rows := make([][]string, len(a.segs))
	under := make([]string, len(a.segs))
	start := a.segs[0].ts
	for i := range a.segs {
		s := &a.segs[i]
		dir, seqISN, seqOK, ackISN, ackOK := "C → S", f.ClientISN, f.HasClientISN, f.ServerISN, f.HasServerISN
		if !s.fromClient {
			dir, seqISN, seqOK, ackISN, ackOK = "C ← S", f.ServerISN, f.HasServerISN, f.ClientISN, f.HasClientISN
		}
		flags, seq, ack := s.flags.String(), relative(s.seq, seqISN, seqOK), "-"
		if s.flags.Has(decode.ACK) {
			ack = relative(s.ack, ackISN, ackOK)
		}
		var notes []string
		if s.opts != "" {
			notes = append(notes, s.opts)
		}
		if s.icmp != nil {
			to := "C"
			if !s.fromClient {
				to = "S"
			}
			notes = []string{"from " + s.icmp.from.String() + ", quotes " + quotedSummary(s, dir, seq)}
			dir, flags, seq, ack = "R → "+to, s.icmp.what(), "-", "-"
		}
		for _, an := range s.anomalies {
			line := an.Code.String()
			if an.HasValues {
				line += ": " + string(an.AppendValues(nil))
			}
			notes = append(notes, line+" ("+an.Code.RFC()+")")
		}
		rows[i] = []string{fmt.Sprintf("%.3f", float64(s.ts-start)/1e6), strconv.FormatUint(s.frame, 10), dir, flags,
			seq, ack, s.ev.Client.String(), s.ev.Server.String()}
		under[i] = strings.Join(notes, "\n")
		ct.measure(rows[i])
	}
	ct.writeHeader()
	for i := range rows {
		ct.row(rows[i], under[i])
	}
}

// writeAttemptTable writes one attempt's segments as the full bordered
// table.
func writeAttemptTable(w io.Writer, a *attemptLine) error {
	f := a.f
	tbl := newTableWriter(w, []string{"t (ms)", "frame", "dir", "flags", "seq (rel/raw)", "ack (rel/raw)", "win", "len", "options", "client", "server", "anomaly"})
	start := a.segs[0].ts
	for _, s := range a.segs {
		dir, seqISN, seqOK, ackISN, ackOK := "C → S", f.ClientISN, f.HasClientISN, f.ServerISN, f.HasServerISN
		if !s.fromClient {
			dir, seqISN, seqOK, ackISN, ackOK = "C ← S", f.ServerISN, f.HasServerISN, f.ClientISN, f.HasClientISN
		}
		flags, ack := s.flags.String(), "-"
		if s.flags.Has(decode.ACK) {
			ack = relative(s.ack, ackISN, ackOK) + " / " + strconv.FormatUint(uint64(s.ack), 10)
		}
		var anom []string
		for _, an := range s.anomalies {
			line := an.Code.String()
			if an.HasValues {
				line += ": " + string(an.AppendValues(nil))
			}
			anom = append(anom, line+"\n  "+an.Code.RFC())
		}
		cells := []string{
			fmt.Sprintf("%.3f", float64(s.ts-start)/1e6), strconv.FormatUint(s.frame, 10), dir, flags,
			relative(s.seq, seqISN, seqOK) + " / " + strconv.FormatUint(uint64(s.seq), 10), ack,
			strconv.Itoa(int(s.window)), strconv.Itoa(s.payload), s.opts,
			s.ev.Client.String(), s.ev.Server.String(), strings.Join(anom, "\n"),
		}
		if s.icmp != nil {
			// Its own row: the router's message back to the sender
			// of the segment it quotes, no seq/ack of its own.
			to := "C"
			if !s.fromClient {
				to = "S"
			}
			cells[2] = "R → " + to
			cells[3] = s.icmp.what() + "\nfrom " + s.icmp.from.String()
			cells[4], cells[5], cells[6], cells[7] = "-", "-", "-", "-"
			cells[8] = "quotes " + quotedSummary(&s, dir, relative(s.seq, seqISN, seqOK))
		}
		if err := tbl.Append(cells); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	return nil
}

// WriteJSON writes {"attempts":[{"flow":{...},"segments":[...]}]}.
func (t *Timeline) WriteJSON(w io.Writer) error {
	b := []byte(`{"attempts":[`)
	written := 0
	for _, n := range t.order {
		a := t.attempts[n]
		if a.f == nil {
			continue
		}
		if written > 0 {
			b = append(b, ',')
		}
		written++
		b = append(b, "\n  {\"flow\":"...)
		b = append(b, a.flow...)
		b = append(b, `,"segments":[`...)
		for j, s := range a.segs {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, "\n    {"...)
			b = appendKey(b, "ts", true)
			b = appendTime(b, s.ts)
			b = appendKey(b, "frame", false)
			b = strconv.AppendUint(b, s.frame, 10)
			b = appendKey(b, "direction", false)
			switch {
			case s.icmp != nil && s.fromClient:
				b = appendString(b, "router_to_client")
			case s.icmp != nil:
				b = appendString(b, "router_to_server")
			case s.fromClient:
				b = appendString(b, "client_to_server")
			default:
				b = appendString(b, "server_to_client")
			}
			if s.icmp != nil {
				// No TCP header of its own: the quoted one is in "quoted".
				b = append(b, `,"flags":null,"seq":null,"ack":null,"window":null,"payload_len":null`...)
			} else {
				b = appendKey(b, "flags", false)
				b = appendString(b, s.flags.String())
				b = appendKey(b, "seq", false)
				b = strconv.AppendUint(b, uint64(s.seq), 10)
				b = appendKey(b, "ack", false)
				b = strconv.AppendUint(b, uint64(s.ack), 10)
				b = appendKey(b, "window", false)
				b = strconv.AppendUint(b, uint64(s.window), 10)
				b = appendKey(b, "payload_len", false)
				b = strconv.AppendInt(b, int64(s.payload), 10)
			}
			b = appendKey(b, "options", false)
			b = appendString(b, s.opts)
			if s.icmp != nil {
				b = appendICMPJSON(b, &s)
			}
			b = appendKey(b, "role", false)
			b = appendString(b, s.ev.Role.String())
			b = appendKey(b, "client_state", false)
			b = appendString(b, s.ev.Client.String())
			b = appendKey(b, "server_state", false)
			b = appendString(b, s.ev.Server.String())
			b = appendKey(b, "evidence", false)
			b = appendEvidence(b, s.anomalies)
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, "\n]}\n"...)
	_, err := w.Write(b)
	return err
}

// quotedSummary describes the segment an ICMP error quotes, as far as the
// message carried its header: "C → S SYN seq 0 / 1000".
func quotedSummary(s *segLine, dir, rel string) string {
	q := dir
	if s.icmp.quotedLen >= 14 {
		q += " " + s.flags.String()
	}
	return q + " seq " + rel + " / " + strconv.FormatUint(uint64(s.seq), 10)
}

// appendICMPJSON appends the fields of an ICMP row: what the error says, who
// sent it, and the quoted segment (flags and ack only when it carried them).
func appendICMPJSON(b []byte, s *segLine) []byte {
	i := s.icmp
	b = appendKey(b, "icmp", false)
	b = appendString(b, i.what())
	b = appendKey(b, "icmp_type", false)
	b = strconv.AppendUint(b, uint64(i.typ), 10)
	b = appendKey(b, "icmp_code", false)
	b = strconv.AppendUint(b, uint64(i.code), 10)
	b = appendKey(b, "icmp_from", false)
	b = appendString(b, i.from.String())
	b = appendKey(b, "quoted", false)
	b = append(b, '{')
	b = appendKey(b, "direction", true)
	if s.fromClient {
		b = appendString(b, "client_to_server")
	} else {
		b = appendString(b, "server_to_client")
	}
	b = appendKey(b, "seq", false)
	b = strconv.AppendUint(b, uint64(s.seq), 10)
	if i.quotedLen >= 12 {
		b = appendKey(b, "ack", false)
		b = strconv.AppendUint(b, uint64(s.ack), 10)
	}
	if i.quotedLen >= 14 {
		b = appendKey(b, "flags", false)
		b = appendString(b, s.flags.String())
	}
	return append(b, '}')
}
