package report

import (
	"bytes"
	"cmp"
	"container/heap"
	"fmt"
	"io"
	"net/netip"
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
	cut  cut    // what they were
	all  flowStore
	// widths of the --all columns so far, and scratch to measure them
	// in (tableall.go)
	widths  [len(tableHeader)]int
	scratch []byte
	cellBuf []byte // the cells of the row being formatted (cells)
}

// row is one flow of the table, formatted but for its time column.
type row struct {
	sev int // severity rank: 0 is the most severe (see severity)
	ts  int64
	// verdict (its report index) and server, to aggregate the row if a
	// more severe one pushes it out of the list
	verdict        int
	client, server netip.AddrPort
	tunnel         string // the tunnel note, for the compact layout
	seq            uint64
	cells          [7]string
}

// severity ranks verdicts for the list of flows that need attention: what
// broke the protocol first, then refusals, then attempts left half-open,
// then midstream noise (a capture started mid-connection), then complete.
func severity(v handshake.Verdict) int {
	switch v {
	case handshake.Malformed:
		return 0
	case handshake.Refused:
		return 1
	case handshake.HalfOpen:
		return 2
	case handshake.Midstream:
		return 3
	}
	return 4
}

// cut aggregates the flows left out of the list, per verdict (in report
// order), with the servers they went to most.
type cut struct {
	n       [5]uint64
	servers [5]*heavy[netip.AddrPort]
}

// add counts a flow of the verdict of report index i to server.
func (c *cut) add(i int, server netip.AddrPort) {
	c.n[i]++
	if c.servers[i] == nil {
		c.servers[i] = newHeavy[netip.AddrPort](256)
	}
	c.servers[i].add(server)
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
	r := row{sev: severity(f.Verdict), ts: f.FirstTS, seq: t.seq}
	if !t.opts.All && len(t.rows) == t.opts.MaxRows {
		if !r.before(&t.rows[0]) {
			t.more++
			t.cut.add(verdictIndex(f.Verdict), f.Server)
			return nil
		}
		out := heap.Pop(&t.rows).(row)
		t.more++
		t.cut.add(out.verdict, out.server)
	}
	r.cells = t.cells(f)
	r.verdict, r.client, r.server = verdictIndex(f.Verdict), f.Client, f.Server
	if f.Tunnel.Len() > 0 {
		r.tunnel = "via " + f.Tunnel.String()
	}
	heap.Push(&t.rows, r)
	return nil
}

// cells formats f's row but for its time column.
func (t *tableWriter) cells(f *reassembly.Flow) [7]string {
	var ends [7]int
	var c [7]string
	t.cellBuf, ends = t.appendCells(t.cellBuf[:0], f)
	splitCells(c[:], string(t.cellBuf), 0, ends[:])
	return c
}

// splitCells sets cells to s cut at ends, from start: one string
// conversion for all of a row's cells.
func splitCells(cells []string, s string, start int, ends []int) {
	for i, e := range ends {
		cells[i], start = s[start:e], e
	}
}

// appendCells appends the cells of f's row but for its time column, one
// after another, and returns where each ends: the bytes of client (with
// tunnelNote), server, verdict, why, millis of both durations and
// retransmits (TestAppendCells compares them).
func (t *tableWriter) appendCells(dst []byte, f *reassembly.Flow) ([]byte, [7]int) {
	var ends [7]int
	dst = appendAddrPort(dst, f.Client)
	if f.Tunnel.Len() > 0 {
		dst = append(dst, tunnelNote(f.Tunnel)...)
	}
	ends[0] = len(dst)
	dst = appendAddrPort(dst, f.Server)
	ends[1] = len(dst)
	if t.opts.Color {
		dst = append(dst, verdictColor[f.Verdict]...)
		dst = append(dst, f.Verdict.String()...)
		dst = append(dst, "\x1b[0m"...)
	} else {
		dst = append(dst, f.Verdict.String()...)
	}
	ends[2] = len(dst)
	if len(f.Anomalies) > 0 {
		dst = append(dst, anomalyLines(f, t.opts.Files)...)
	} else {
		dst = f.AppendReason(dst)
	}
	ends[3] = len(dst)
	dst = appendTableMillis(dst, f.SYNToSYNACK, f.HasSYNToSYNACK)
	ends[4] = len(dst)
	dst = appendTableMillis(dst, f.SYNACKToACK, f.HasSYNACKToACK)
	ends[5] = len(dst)
	if f.SYNRetransmits == 0 && f.SYNACKRetransmits == 0 {
		dst = append(dst, '-')
	} else {
		dst = append(dst, "SYN "...)
		dst = appendUint(dst, uint64(f.SYNRetransmits))
		dst = append(dst, ", SYN-ACK "...)
		dst = appendUint(dst, uint64(f.SYNACKRetransmits))
	}
	ends[6] = len(dst)
	return dst, ends
}

// appendAddrPort appends p as p.String() writes it.
func appendAddrPort(dst []byte, p netip.AddrPort) []byte {
	if !p.Addr().IsValid() {
		return append(dst, p.String()...)
	}
	return p.AppendTo(dst)
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

// before orders rows by severity, then time, then arrival.
func (r *row) before(o *row) bool {
	return cmp.Or(cmp.Compare(r.sev, o.sev), cmp.Compare(r.ts, o.ts), cmp.Compare(r.seq, o.seq)) < 0
}

// rowHeap is a max-heap in list order: its root is the row listed last.
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
	return string(appendTableMillis(make([]byte, 0, 16), ns, ok))
}

// appendTableMillis appends a duration as fmt's %.3f of milliseconds
// and " ms", or "-" when !ok.
func appendTableMillis(dst []byte, ns int64, ok bool) []byte {
	if !ok {
		return append(dst, '-')
	}
	return append(appendMillis3(dst, ns), " ms"...)
}

// appendMillis3 appends ns as milliseconds with three decimals, the bytes
// of strconv.AppendFloat(dst, float64(ns)/1e6, 'f', 3, 64)
// (TestAppendMillis3 compares them), in integers below 10^15 ns: there
// the quotient is within 2^-53 of ns/10^6, far closer than the 1 ns
// between a whole ns and a rounding boundary, so both round alike but at
// a boundary itself (a tie), which goes to strconv.
func appendMillis3(dst []byte, ns int64) []byte {
	if ns <= -1e15 || ns >= 1e15 || ns%1000 == 500 || ns%1000 == -500 {
		return strconv.AppendFloat(dst, float64(ns)/1e6, 'f', 3, 64)
	}
	if ns < 0 {
		dst = append(dst, '-')
		ns = -ns
	}
	us := ns / 1000
	if ns%1000 > 500 {
		us++
	}
	dst = appendUint(dst, uint64(us/1000))
	frac := us % 1000
	return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

func (t *tableWriter) Close(c *Capture, s *Stats) (err error) {
	// Text lines go through a buffer so that they can be fitted to the
	// terminal (wrapLines); the flow list is fitted by its layout.
	out := t.w
	var text bytes.Buffer
	t.w = &text
	flushText := func() error {
		err := wrapLines(out, text.Bytes(), t.opts.Width)
		text.Reset()
		return err
	}
	defer func() {
		if t.w == &text && err == nil {
			err = flushText()
		}
		t.w = out
	}()
	t.summary(c, s)
	if t.opts.Quiet {
		return nil
	}
	if t.opts.All {
		if err := flushText(); err != nil {
			return err
		}
		t.w = out
		return t.closeAll(c)
	}
	rows := []row(t.rows)
	slices.SortFunc(rows, func(a, b row) int {
		if a.before(&b) {
			return -1
		}
		return 1
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
	if err := flushText(); err != nil {
		return err
	}
	if err := t.writeRows(out, rows, timeLayout(c)); err != nil {
		return err
	}
	t.writeCut()
	return nil
}

// writeRows writes the flow list in the layout that fits Options.Width:
// the full table; the full table with its explanation column wrapped; the
// bordered table without the timing columns, wrapped; or, on a narrow
// terminal, the compact layout.
func (t *tableWriter) writeRows(w io.Writer, rows []row, layout string) error {
	width := t.opts.Width
	if width > 0 && width <= CompactWidth {
		return t.writeCompact(w, rows, layout)
	}
	full, err := t.renderFull(rows, layout, 0, len(tableHeader))
	if err != nil || width <= 0 || widest(full) <= width {
		if err == nil {
			_, err = w.Write(full)
		}
		return err
	}
	// Wrap the explanation (column 4) into what the other columns leave,
	// with all of them, then without the timing columns.
	for _, ncol := range []int{len(tableHeader), 5} {
		bare, err := t.renderFull(rows, layout, -1, ncol)
		if err != nil {
			return err
		}
		if avail := width - (widest(bare) - displayWidth(tableHeader[4])); avail >= minWrap {
			if fitted, err := t.renderFull(rows, layout, avail, ncol); err == nil && widest(fitted) <= width {
				_, err = w.Write(fitted)
				return err
			}
		}
	}
	return t.writeCompact(w, rows, layout)
}

// renderFull renders the bordered table with the first ncol columns;
// whyWidth > 0 wraps the explanation column to that width, -1 leaves it
// empty (to measure the others).
func (t *tableWriter) renderFull(rows []row, layout string, whyWidth, ncol int) ([]byte, error) {
	var b bytes.Buffer
	tbl := newTableWriter(&b, tableHeader[:ncol])
	for _, r := range rows {
		cells := append([]string{time.Unix(0, r.ts).UTC().Format(layout)}, r.cells[:]...)[:ncol]
		switch {
		case whyWidth < 0:
			cells[4] = ""
		case whyWidth > 0:
			cells[4] = strings.Join(wrap(cells[4], whyWidth), "\n")
		}
		if err := tbl.Append(cells); err != nil {
			return nil, err
		}
	}
	if err := tbl.Render(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// writeCompact writes rows in the compact layout: time to the
// millisecond, shortened addresses, the verdict, and the explanation
// wrapped under the row.
func (t *tableWriter) writeCompact(w io.Writer, rows []row, layout string) error {
	layout = strings.TrimSuffix(layout, "000")
	ct := newCompactTable(w, t.opts.Width, "time", "client", "server", "verdict")
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = []string{time.Unix(0, r.ts).UTC().Format(layout), shortAddr(r.client), shortAddr(r.server), t.verdict(reportVerdicts[r.verdict])}
		ct.measure(cells[i])
	}
	ct.writeHeader()
	for i, r := range rows {
		under := r.cells[3]
		if r.tunnel != "" {
			under += "\n" + r.tunnel
		}
		ct.row(cells[i], under)
	}
	return nil
}

// writeCut aggregates the flows left out of the list: "… 60,214 more
// half_open, 59,880 of them to 10.0.0.5:443", one line per verdict, most
// severe first.
func (t *tableWriter) writeCut() {
	if t.more == 0 {
		return
	}
	for _, v := range []handshake.Verdict{handshake.Malformed, handshake.Refused, handshake.HalfOpen, handshake.Midstream} {
		i := verdictIndex(v)
		n := t.cut.n[i]
		if n == 0 {
			continue
		}
		fmt.Fprintf(t.w, "… %s more %s", thousands(n), v)
		if h := t.cut.servers[i]; h != nil {
			if top := h.top(1, compareAddrPort); len(top) == 1 && top[0].Count > 1 {
				about := ""
				if !h.exact() {
					about = "at least "
				}
				fmt.Fprintf(t.w, ", %s%s of them to %s", about, thousands(top[0].Count), top[0].Key)
			}
		}
		fmt.Fprintln(t.w)
	}
	fmt.Fprintf(t.w, "(%s flows not listed: use --all to list them, or --group-by server|client|port)\n", thousands(t.more))
}

func compareAddrPort(a, b netip.AddrPort) int { return a.Compare(b) }

// thousands formats n with comma separators: 60,214.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
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
	tops, exact := s.TopFailedServers(5)
	writeTopFailed(w, "Top servers by failed attempts: ", tops, exact)
	tops, exact = s.TopFailedClients(5)
	writeTopFailed(w, "Top clients by failed attempts: ", tops, exact)
}

// writeTopFailed writes a summary line of the addresses with most failed
// attempts; a count of a summary that is not exact is a lower bound (×≥).
func writeTopFailed(w io.Writer, title string, tops []Counted[netip.Addr], exact bool) {
	if len(tops) == 0 {
		return
	}
	fmt.Fprint(w, title)
	for i, a := range tops {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		if exact {
			fmt.Fprintf(w, "%s ×%d", a.Key, a.Count)
		} else {
			fmt.Fprintf(w, "%s ×≥%d", a.Key, a.Count)
		}
	}
	fmt.Fprintln(w)
}
