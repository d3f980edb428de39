package html

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/report"
)

var (
	//go:embed page.tmpl
	pageTmpl string
	//go:embed style.css
	styleCSS string
	//go:embed script.js
	scriptJS string
)

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"f1":  func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"pct": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" },
}).Parse(pageTmpl))

// csp is the page's Content-Security-Policy: nothing may load from
// anywhere, and only the page's own script and style (by hash) may run.
var csp = func() string {
	h := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return "default-src 'none'; script-src " + h(scriptJS) + "; style-src " + h(styleCSS) +
		"; img-src data:; base-uri 'none'; form-action 'none'"
}()

// page is what the template renders.
type page struct {
	Title    string
	CSP      string
	CSS      template.CSS
	Script   template.JS
	Data     template.JS
	Version  string
	Summary  summaryView
	Timeline scene
	Failures scene
	Bins     []binView
	Latency  []latencyView
	Servers  []latencyView // per busiest server
	Failed   []hostView    // top servers and clients by failed attempts
	Anoms    []anomalyView
	Flows    flowsView
	Verdicts []string
}

type summaryView struct {
	Files       []File
	Packets     uint64
	TCPPackets  uint64
	Warnings    int
	First, Last string
	Span        string
	Flows       uint64
	Verdicts    []verdictView
	NotAnalysed []countView
	SYNRetx     uint64
	FirstFail   string // "" when no attempt failed
	// FirstFailFlow is "client server" of that attempt, for its ladder link.
	FirstFailFlow string
}

type verdictView struct {
	Name  string
	Count uint64
	Pct   float64
	First string // the earliest flow of this verdict, or ""
}

type countView struct {
	Name  string
	Count uint64
}

type binView struct {
	Start, End string
	Counts     [numVerdicts]uint64
}

type latencyView struct {
	Title  string
	Scene  scene
	Labels []string // the percentiles, formatted
}

type hostView struct {
	Title, Kind string // Kind: server or client
	Scene       scene
	Rows        []hostBar
	Untracked   uint64
}

type anomalyView struct {
	Code, Anchor string
	Fatal        bool
	Count        uint64
	RFC, About   string
	Examples     []exampleView
}

type exampleView struct {
	Time, Client, Server, Verdict, Evidence string
}

type flowsView struct {
	ProblemTotal, CompleteTotal      uint64
	ProblemEmbedded, SampleEmbedded  int
	ProblemCap                       int
	Stride                           uint64
	LadderCut                        uint64
	Rows                             []staticView
	More                             int // problem flows beyond the static rows
	Codes                            []string
	ProblemsComplete, SampleComplete bool
}

type staticView struct {
	Time, Client, Server, Verdict, Anomalies, SYN, ACK, Reason string
}

// page builds the template's view of everything collected.
func (w *Writer) page(c *report.Capture, st *report.Stats) (*page, error) {
	files := w.opts.Files
	if len(files) == 0 {
		for _, name := range c.Files {
			files = append(files, File{Name: name})
		}
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	p := &page{
		Title:   "hsanalyze report: " + strings.Join(names, ", "),
		CSP:     csp,
		CSS:     template.CSS(styleCSS),
		Script:  template.JS(scriptJS),
		Version: w.opts.Version,
	}
	multiDay := c.LastTS-c.FirstTS > int64(24*time.Hour) || time.Unix(0, c.FirstTS).UTC().YearDay() != time.Unix(0, c.LastTS).UTC().YearDay()
	when := func(ts int64) string { return clockLabel(ts, 1000, multiDay) }
	for _, v := range verdicts {
		p.Verdicts = append(p.Verdicts, v.String())
	}

	// Summary.
	s := &p.Summary
	s.Files, s.Packets, s.TCPPackets, s.Warnings = files, c.Packets, c.TCPPackets, c.Warnings
	if c.Packets > 0 {
		s.First, s.Last = rfc3339(c.FirstTS), rfc3339(c.LastTS)
		s.Span = time.Duration(c.LastTS - c.FirstTS).String()
	}
	s.Flows, s.SYNRetx = st.Flows, st.SYNRetransmits
	for i, v := range verdicts {
		vv := verdictView{Name: v.String(), Count: st.ByVerdict[i]}
		if st.Flows > 0 {
			vv.Pct = 100 * float64(vv.Count) / float64(st.Flows)
		}
		if ff := w.firsts[i]; ff.seen {
			vv.First = fmt.Sprintf("%s %s → %s", when(ff.ts), ff.client, ff.server)
		}
		s.Verdicts = append(s.Verdicts, vv)
	}
	for r, n := range report.NotAnalysed(c) {
		if n > 0 {
			s.NotAnalysed = append(s.NotAnalysed, countView{report.Reason(r).Words(), n})
		}
	}
	firstFail, hasFail := int64(0), false
	for _, v := range []int{vHalfOpen, vRefused, vMalformed} {
		if ff := w.firsts[v]; ff.seen && (!hasFail || ff.ts < firstFail) {
			firstFail, hasFail = ff.ts, true
			s.FirstFail = fmt.Sprintf("%s UTC: %s, %s → %s", when(ff.ts), verdicts[v], ff.client, ff.server)
			s.FirstFailFlow = ff.client.String() + " " + ff.server.String()
		}
	}

	// Verdicts over time.
	bins := w.bins.display(min(100, max(20, int(st.Flows/5))))
	p.Timeline = timelineScene("chart-time", "Connection attempts over capture time, by verdict", stackOrder, 280, bins, firstFail, hasFail)
	// Failures alone on their own scale: a few among many complete flows
	// still show when they begin.
	p.Failures = timelineScene("chart-fail", "Failed attempts (malformed, refused, half-open) over capture time", failedOrder[:], 200, bins, firstFail, hasFail)
	for _, b := range bins {
		p.Bins = append(p.Bins, binView{Start: when(b.start), End: when(b.end), Counts: b.counts})
	}

	// Latency.
	p.Latency = []latencyView{
		w.overallLatency("lat-syn", "SYN → SYN-ACK", &w.syn),
		w.overallLatency("lat-ack", "SYN-ACK → ACK", &w.ack),
	}
	for _, h := range w.busiest(3) {
		hs := w.servers.m[h]
		for _, l := range []struct {
			id, name string
			b        *latBins
		}{{"syn", "SYN → SYN-ACK", hs.syn}, {"ack", "SYN-ACK → ACK", hs.ack}} {
			var marks []percentile
			for _, q := range []struct {
				name string
				p    float64
			}{{"p50", 50}, {"p95", 95}, {"p99", 99}} {
				if v, ok := l.b.quantile(q.p); ok {
					marks = append(marks, percentile{q.name, v})
				}
			}
			title := fmt.Sprintf("%s, server %s (%d attempts)", l.name, h, hs.attempts)
			lv := latencyView{Title: title,
				Scene: latencyScene(fmt.Sprintf("lat-%s-%d", l.id, len(p.Servers)), title, l.b, marks, 380, 160)}
			lv.Labels = markLabels(marks)
			p.Servers = append(p.Servers, lv)
		}
	}

	// Top servers and clients by failed attempts.
	p.Failed = []hostView{
		topFailed("top-servers", "Servers with most failed attempts", "server", &w.servers),
		topFailed("top-clients", "Clients with most failed attempts", "client", &w.clients),
	}

	// Anomalies.
	for _, a := range st.TopAnomalies(st.AnomalyCodes()) {
		av := anomalyView{Code: a.Key.String(), Anchor: "anomaly-" + a.Key.String(), Fatal: a.Key.Fatal(),
			Count: a.Count, RFC: a.Key.RFC(), About: about[a.Key]}
		for _, e := range w.examples[a.Key] {
			av.Examples = append(av.Examples, exampleView{
				Time: when(e.ts), Client: e.client.String(), Server: e.server.String(), Verdict: e.verdict.String(),
				Evidence: evidenceText(&e.ev, names),
			})
		}
		p.Anoms = append(p.Anoms, av)
	}

	// Flows.
	fv := &p.Flows
	fv.ProblemTotal, fv.CompleteTotal = w.problems, w.completes
	fv.ProblemEmbedded, fv.SampleEmbedded = len(w.rows.prob.rows), len(w.rows.sample.rows)
	fv.ProblemCap = w.opts.MaxProblemFlows
	fv.Stride, fv.LadderCut = w.rows.stride, w.ladderCut
	fv.ProblemsComplete = uint64(fv.ProblemEmbedded) == fv.ProblemTotal
	fv.SampleComplete = uint64(fv.SampleEmbedded) == fv.CompleteTotal
	rows := slices.Clone([]staticRow(w.earliest.h))
	slices.SortFunc(rows, func(a, b staticRow) int { return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.n, b.n)) })
	for _, r := range rows {
		codes := make([]string, len(r.anomalies))
		for i, c := range r.anomalies {
			codes[i] = c.String()
		}
		fv.Rows = append(fv.Rows, staticView{
			Time: when(r.ts), Client: r.client.String(), Server: r.server.String(), Verdict: r.verdict.String(),
			Anomalies: strings.Join(codes, " "), SYN: msLabel(r.syn, r.hasSyn), ACK: msLabel(r.ack, r.hasAck), Reason: r.reason,
		})
	}
	fv.More = fv.ProblemEmbedded - len(fv.Rows)
	for _, a := range p.Anoms {
		fv.Codes = append(fv.Codes, a.Code)
	}
	data, err := w.data(c, names)
	if err != nil {
		return nil, fmt.Errorf("html report: pack flows: %w", err)
	}
	p.Data = template.JS(data)
	return p, nil
}

func markLabels(marks []percentile) []string {
	out := make([]string, len(marks))
	for i, m := range marks {
		out[i] = m.Name + " " + durLabel(m.NS)
	}
	return out
}

func msLabel(ns int64, ok bool) string {
	if !ok {
		return "–"
	}
	return strconv.FormatFloat(float64(ns)/1e6, 'f', 3, 64) + " ms"
}

// overallLatency draws one latency distribution of all flows, with exact
// percentiles (within 0.8%, report.Histogram).
func (w *Writer) overallLatency(id, name string, h *report.Histogram) latencyView {
	var bins latBins
	h.Each(func(lo, _ int64, n uint64) {
		i := latIndex(lo)
		bins[i] = uint32(min(uint64(bins[i])+n, 1<<32-1))
	})
	var marks []percentile
	if h.Count() > 0 {
		for _, q := range []struct {
			name string
			p    float64
		}{{"p50", 50}, {"p95", 95}, {"p99", 99}} {
			marks = append(marks, percentile{q.name, float64(h.Quantile(q.p))})
		}
	}
	title := fmt.Sprintf("%s, all servers (%d attempts)", name, h.Count())
	lv := latencyView{Title: title, Scene: latencyScene(id, title, &bins, marks, 460, 220)}
	lv.Labels = markLabels(marks)
	return lv
}

// busiest returns the n servers with most attempts that have latency bins
// and at least one measured latency.
func (w *Writer) busiest(n int) []netip.Addr {
	var out []netip.Addr
	for a, h := range w.servers.m {
		if h.syn != nil && h.byVerdict[vComplete]+h.byVerdict[vHalfOpen]+h.byVerdict[vMalformed] > 0 {
			var any bool
			for _, c := range h.syn {
				any = any || c > 0
			}
			if any {
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int {
		return cmp.Or(cmp.Compare(w.servers.m[b].attempts, w.servers.m[a].attempts), a.Compare(b))
	})
	return out[:min(n, len(out))]
}

// topN is how many addresses the top-N charts list.
const topN = 10

func topFailed(id, title, kind string, t *hostTable) hostView {
	var rows []hostBar
	for a, h := range t.m {
		if h.failed() > 0 {
			rows = append(rows, hostBar{Addr: a.String(), Counts: h.byVerdict, Total: h.attempts})
		}
	}
	f := func(h hostBar) uint64 { return h.Counts[vHalfOpen] + h.Counts[vRefused] + h.Counts[vMalformed] }
	slices.SortFunc(rows, func(a, b hostBar) int {
		if c := cmp.Compare(f(b), f(a)); c != 0 {
			return c
		}
		pa, _ := netip.ParseAddr(a.Addr)
		pb, _ := netip.ParseAddr(b.Addr)
		return pa.Compare(pb)
	})
	rows = rows[:min(topN, len(rows))]
	return hostView{Title: title, Kind: kind, Scene: hostScene(id, title, rows), Rows: rows, Untracked: t.untracked}
}

// evidenceText describes one anomaly occurrence: "frame 2: ack 1002,
// expected 1001".
func evidenceText(a *handshake.Anomaly, files []string) string {
	where := "frame " + strconv.FormatUint(a.Frame, 10)
	if len(files) > 1 && a.File < len(files) {
		where = files[a.File] + " " + where
	}
	if !a.HasValues {
		return where
	}
	if a.Field == handshake.FieldFlags {
		return fmt.Sprintf("%s: flags %s, expected %s", where, decode.Flags(a.Seen), decode.Flags(a.Expected))
	}
	return fmt.Sprintf("%s: %s %d, expected %d", where, a.Field, a.Seen, a.Expected)
}

// data encodes what the script needs, as JSON safe inside a script element.
func (w *Writer) data(c *report.Capture, files []string) ([]byte, error) {
	origin := c.FirstTS
	if len(w.rows.prob.rows)+len(w.rows.sample.rows) > 0 {
		origin = int64(1) << 62
		for _, e := range []*encoded{&w.rows.prob, &w.rows.sample} {
			for _, r := range e.rows {
				origin = min(origin, r.ts)
			}
		}
	}
	b := []byte(`{"origin_us":`)
	b = strconv.AppendInt(b, floorDiv(origin, 1000), 10)
	b = append(b, `,"origin_ns":`...)
	b = strconv.AppendInt(b, origin-floorDiv(origin, 1000)*1000, 10)
	b = append(b, `,"files":[`...)
	for i, f := range files {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f)
	}
	b = append(b, `],"verdicts":[`...)
	for i, v := range verdicts {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v.String())
	}
	b = append(b, `],"states":[`...)
	for i, s := range handshake.States() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s.String())
	}
	b = append(b, `],"flags":[`...)
	for i := range 9 {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, decode.Flags(1<<i).String())
	}
	// Indexed by handshake.Code: Codes are numbered from 1 without gaps.
	b = append(b, `],"codes":[null`...)
	for _, code := range handshake.Codes() {
		b = append(b, `,[`...)
		b = appendString(b, code.String())
		b = append(b, ',')
		b = appendBit(b, code.Fatal())
		b = append(b, ',')
		b = appendString(b, code.RFC())
		b = append(b, ']')
	}
	b = append(b, `],"addrs":[`...)
	for i, a := range w.rows.addrs.list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, a.String())
	}
	b = append(b, `],"problems":`...)
	b = strconv.AppendInt(b, int64(len(w.rows.prob.rows)), 10)
	b = append(b, `,"seed":`...)
	b = strconv.AppendUint(b, uint64(w.opts.CommunityIDSeed), 10)
	b = append(b, `,"packed":"`...)
	packed, err := w.packed(origin)
	if err != nil {
		return nil, err
	}
	b = append(b, packed...)
	return append(b, `"}`...), nil
}

// packed returns {"flows":[...],"ladders":[...]} gzipped and base64
// encoded: flows and ladders are most of the page, and compress about
// tenfold. The script unpacks them with DecompressionStream.
func (w *Writer) packed(origin int64) ([]byte, error) {
	var raw []byte
	raw = append(raw, `{"flows":[`...)
	raw = appendRows(raw, &w.rows.prob, origin, true)
	raw = appendRows(raw, &w.rows.sample, origin, len(w.rows.prob.rows) == 0)
	raw = append(raw, "],\n\"ladders\":["...)
	raw = append(raw, w.rows.ladders...)
	raw = append(raw, "]}"...)
	var z bytes.Buffer
	zw, err := gzip.NewWriterLevel(&z, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return base64.StdEncoding.AppendEncode(nil, z.Bytes()), nil
}

func render(w io.Writer, p *page) error {
	if err := tmpl.Execute(w, p); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}
