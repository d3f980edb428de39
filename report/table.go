package report

import (
	"cmp"
	"container/heap"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// tableWriter prints the summary and then the flows that need attention
// (all flows with Options.All), sorted by time. Without All it keeps only
// the MaxRows earliest rows in memory and counts the rest; with All it holds
// the flows in a flowStore and streams the table (tableall.go).
type tableWriter struct {
	w    io.Writer
	opts Options
	rows rowHeap
	seq  uint64
	more uint64 // rows cut from the list
	all  flowStore
	// widths of the --all columns so far, and scratch to measure them
	// in (tableall.go)
	widths  [len(tableHeader)]int
	scratch []byte
}

// row is one flow of the table, formatted but for its time column.
type row struct {
	ts    int64
	seq   uint64
	cells [7]string
}

func newTable(w io.Writer, opts Options) *tableWriter {
	if opts.MaxRows <= 0 {
		opts.MaxRows = 50
	}
	return &tableWriter{w: w, opts: opts}
}

func (t *tableWriter) Flow(f *reassembly.Flow) error {
	if t.opts.Quiet || (f.Verdict == handshake.Complete && !t.opts.All) {
		return nil
	}
	if t.opts.All {
		return t.addAll(f)
	}
	t.seq++
	r := row{ts: f.FirstTS, seq: t.seq}
	if !t.opts.All && len(t.rows) == t.opts.MaxRows {
		if !r.before(&t.rows[0]) {
			t.more++
			return nil
		}
		heap.Pop(&t.rows)
		t.more++
	}
	r.cells = t.cells(f)
	heap.Push(&t.rows, r)
	return nil
}

// cells formats f's row but for its time column.
func (t *tableWriter) cells(f *reassembly.Flow) [7]string {
	return [7]string{
		f.Client.String() + tunnelNote(f.Tunnel), f.Server.String(), t.verdict(f.Verdict),
		why(f, t.opts.Files), millis(f.SYNToSYNACK, f.HasSYNToSYNACK), millis(f.SYNACKToACK, f.HasSYNACKToACK),
		retransmits(f),
	}
}

// tableHeader is the header of the flow list.
var tableHeader = [8]string{"time", "client", "server", "verdict", "anomalies / reason", "syn→synack", "synack→ack", "retransmits"}

// tunnelNote is the compact form of a flow's tunnel for a table cell,
// "\nvia vxlan=42" under the address, or "" for plain traffic.
func tunnelNote(t *decode.Tunnel) string {
	if t.Len() == 0 {
		return ""
	}
	return "\nvia " + t.String()
}

func (r *row) before(o *row) bool {
	return r.ts < o.ts || (r.ts == o.ts && r.seq < o.seq)
}

// rowHeap is a max-heap by time: its root is the latest row kept.
type rowHeap []row

func (h rowHeap) Len() int           { return len(h) }
func (h rowHeap) Less(i, j int) bool { return h[j].before(&h[i]) }
func (h rowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rowHeap) Push(x any)        { *h = append(*h, x.(row)) }
func (h *rowHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}

// ANSI colours for verdicts.
var verdictColor = map[handshake.Verdict]string{
	handshake.Complete:  "\x1b[32m", // green
	handshake.HalfOpen:  "\x1b[33m", // yellow
	handshake.Refused:   "\x1b[36m", // cyan
	handshake.Malformed: "\x1b[1;31m",
	handshake.Midstream: "\x1b[2m", // dim
}

func (t *tableWriter) verdict(v handshake.Verdict) string {
	if !t.opts.Color {
		return v.String()
	}
	return verdictColor[v] + v.String() + "\x1b[0m"
}

// why is a row's explanation: its anomalies with their evidence, or, when
// it has none, its reason.
func why(f *reassembly.Flow, files []string) string {
	if len(f.Anomalies) > 0 {
		return anomalyLines(f, files)
	}
	return string(f.AppendReason(nil))
}

// anomalyLines describes each anomaly code of f once, with the numbers of
// its first occurrence: "synack_wrong_ack: ack 1002, expected 1001 (frame 2)",
// naming the file too when there are several.
func anomalyLines(f *reassembly.Flow, files []string) string {
	var b strings.Builder
	for _, c := range f.Anomalies {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(c.String())
		for i := range f.Evidence {
			a := &f.Evidence[i]
			if a.Code != c {
				continue
			}
			if a.HasValues {
				b.WriteString(": ")
				b.Write(a.AppendValues(nil))
			}
			if len(files) > 1 && a.File < len(files) {
				fmt.Fprintf(&b, " (%s frame %d)", files[a.File], a.Frame)
			} else {
				fmt.Fprintf(&b, " (frame %d)", a.Frame)
			}
			break
		}
	}
	return b.String()
}

func millis(ns int64, ok bool) string {
	if !ok {
		return "-"
	}
	return string(strconv.AppendFloat(make([]byte, 0, 16), float64(ns)/1e6, 'f', 3, 64)) + " ms" // fmt's %.3f, without its cost per row
}

func retransmits(f *reassembly.Flow) string {
	if f.SYNRetransmits == 0 && f.SYNACKRetransmits == 0 {
		return "-"
	}
	return fmt.Sprintf("SYN %d, SYN-ACK %d", f.SYNRetransmits, f.SYNACKRetransmits)
}

func (t *tableWriter) Close(c *Capture, s *Stats) error {
	t.summary(c, s)
	if t.opts.Quiet {
		return nil
	}
	if t.opts.All {
		return t.closeAll(c)
	}
	rows := []row(t.rows)
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.seq, b.seq))
	})
	if len(rows) == 0 {
		what := "No flow needs attention"
		if t.opts.All {
			what = "No flows"
		}
		fmt.Fprintf(t.w, "\n%s.\n", what)
		return nil
	}
	title := "Flows that need attention"
	if t.opts.All {
		title = "Flows"
	}
	fmt.Fprintf(t.w, "\n%s (%d):\n", title, uint64(len(rows))+t.more)
	layout := timeLayout(c)
	tbl := newTableWriter(t.w, tableHeader[:])
	for _, r := range rows {
		cells := append([]string{time.Unix(0, r.ts).UTC().Format(layout)}, r.cells[:]...)
		if err := tbl.Append(cells); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	if t.more > 0 {
		fmt.Fprintf(t.w, "… %d more (use --all)\n", t.more)
	}
	return nil
}

// timeLayout drops the date when the capture lies within one UTC day.
func timeLayout(c *Capture) string {
	y1, m1, d1 := time.Unix(0, c.FirstTS).UTC().Date()
	y2, m2, d2 := time.Unix(0, c.LastTS).UTC().Date()
	if y1 == y2 && m1 == m2 && d1 == d2 {
		return "15:04:05.000000"
	}
	return "2006-01-02 15:04:05.000000"
}

func newTableWriter(w io.Writer, header []string) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off), // before WithHeader, which formats at once
		tablewriter.WithHeader(header),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
	)
}

// notAnalysedLine lists the non-zero counts of NotAnalysed in words, "" if
// every frame was analysed.
func notAnalysedLine(c *Capture) string {
	var parts []string
	for r, n := range NotAnalysed(c) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, Reason(r).Words()))
		}
	}
	return strings.Join(parts, ", ")
}

func (t *tableWriter) summary(c *Capture, s *Stats) {
	w := t.w
	fmt.Fprintf(w, "Files:         %s\n", strings.Join(c.Files, ", "))
	if len(c.Filters) > 0 {
		fmt.Fprintf(w, "Filters:       %s (flow counts below are of the selected flows)\n", strings.Join(c.Filters, "; "))
	}
	fmt.Fprintf(w, "Packets:       %d (%d TCP segments)", c.Packets, c.TCPPackets)
	if c.Duplicates > 0 {
		fmt.Fprintf(w, ", %d duplicate frame(s) dropped", c.Duplicates)
	}
	if c.Warnings > 0 {
		fmt.Fprintf(w, ", %d damage warning(s)", c.Warnings)
	}
	fmt.Fprintln(w)
	if line := notAnalysedLine(c); line != "" {
		fmt.Fprintf(w, "Not analysed:  %s\n", line)
	}
	if f := &c.Fragments; f.Fragments > 0 {
		fmt.Fprintf(w, "IP fragments:  %d: %d datagrams reassembled, %d incomplete (%d fragments)", f.Fragments, f.Reassembled, f.Incomplete, f.IncompleteFragments)
		if f.Overlaps > 0 {
			fmt.Fprintf(w, ", %d overlapping", f.Overlaps)
		}
		if f.Tiny > 0 {
			fmt.Fprintf(w, ", %d tiny", f.Tiny)
		}
		fmt.Fprintln(w)
	}
	if c.Packets > 0 {
		span := time.Duration(c.LastTS - c.FirstTS)
		fmt.Fprintf(w, "Capture:       %s to %s (%s)\n",
			time.Unix(0, c.FirstTS).UTC().Format(time.RFC3339Nano), time.Unix(0, c.LastTS).UTC().Format(time.RFC3339Nano), span)
	}
	fmt.Fprintf(w, "Flows:         %d\n", s.Flows)
	for i, v := range reportVerdicts {
		n := s.ByVerdict[i]
		pct := 0.0
		if s.Flows > 0 {
			pct = 100 * float64(n) / float64(s.Flows)
		}
		name := t.verdict(v)
		pad := strings.Repeat(" ", 11-len(v.String()))
		fmt.Fprintf(w, "  %s%s %7d  %5.1f%%\n", name, pad, n, pct)
	}
	if l, ok := s.Latency(50, 95, 99, 100); ok {
		fmt.Fprintf(w, "SYN→SYN-ACK:   p50 %s  p95 %s  p99 %s  max %s\n", millis(l[0], true), millis(l[1], true), millis(l[2], true), millis(l[3], true))
	}
	fmt.Fprintf(w, "SYN retransmissions: %d\n", s.SYNRetransmits)
	if e := c.Early; e.Decided > 0 {
		fmt.Fprintf(w, "Decided early: %d (attempt table full, --max-memory); %d later segments absorbed\n", e.Decided, e.Absorbed)
	}
	if tops := s.TopAnomalies(5); len(tops) > 0 {
		fmt.Fprintf(w, "Top anomalies: ")
		for i, a := range tops {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			kind := "info"
			if a.Key.Fatal() {
				kind = "fatal"
			}
			fmt.Fprintf(w, "%s ×%d (%s)", a.Key, a.Count, kind)
		}
		fmt.Fprintln(w)
	}
	if tops := s.TopFailedServers(5); len(tops) > 0 {
		fmt.Fprintf(w, "Top servers by failed attempts: ")
		for i, a := range tops {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprintf(w, "%s ×%d", a.Key, a.Count)
		}
		fmt.Fprintln(w)
	}
}
