package report

import (
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
	icmp       string
	ev         handshake.Event
	anomalies  []handshake.Anomaly
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
	if tr.ICMP != nil {
		l.icmp = fmt.Sprintf("ICMP type %d code %d from %s", tr.ICMP.Type, tr.ICMP.Code, tr.ICMP.From)
		if tr.ICMP.V6 {
			l.icmp = "ICMPv6" + l.icmp[4:]
		}
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
		fmt.Fprintf(w, "Attempt %d: %s → %s  %s", i+1, f.Client, f.Server, tw.verdict(f.Verdict))
		if f.Tunnel.Len() > 0 {
			fmt.Fprintf(w, "  via %s", f.Tunnel)
		}
		if f.HasClientISN {
			fmt.Fprintf(w, "  client ISN %d", uint32(f.ClientISN))
		}
		if f.HasServerISN {
			fmt.Fprintf(w, "  server ISN %d", uint32(f.ServerISN))
		}
		fmt.Fprintln(w)
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
			if s.icmp != "" {
				flags = s.icmp
			}
			var anom []string
			for _, an := range s.anomalies {
				line := an.Code.String()
				if an.HasValues {
					line += ": " + evidenceValues(&an)
				}
				anom = append(anom, line+"\n  "+an.Code.RFC())
			}
			cells := []string{
				fmt.Sprintf("%.3f", float64(s.ts-start)/1e6), strconv.FormatUint(s.frame, 10), dir, flags,
				relative(s.seq, seqISN, seqOK) + " / " + strconv.FormatUint(uint64(s.seq), 10), ack,
				strconv.Itoa(int(s.window)), strconv.Itoa(s.payload), s.opts,
				s.ev.Client.String(), s.ev.Server.String(), strings.Join(anom, "\n"),
			}
			if err := tbl.Append(cells); err != nil {
				return err
			}
		}
		if err := tbl.Render(); err != nil {
			return err
		}
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
			if s.fromClient {
				b = appendString(b, "client_to_server")
			} else {
				b = appendString(b, "server_to_client")
			}
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
			b = appendKey(b, "options", false)
			b = appendString(b, s.opts)
			if s.icmp != "" {
				b = appendKey(b, "icmp", false)
				b = appendString(b, s.icmp)
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
