package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Tracer is implemented by the Writers that show segments (junit: the
// timeline of a failing attempt). The caller passes the tracker's Trace
// calls on to it.
type Tracer interface {
	Trace(tr *reassembly.Trace)
}

// Bounds of the junit timelines: segments kept per attempt, segments kept
// in all, and failing attempts whose timeline is kept. Past them an
// attempt's <system-out> says how to get its timeline (--flow).
const (
	junitSegsPerAttempt = 16
	junitSegsTotal      = 1 << 18
	junitTimelines      = 1000
)

// junitSeg is one traced segment, compact.
type junitSeg struct {
	ts         int64
	frame      uint64
	seq, ack   uint32
	payload    int32
	flags      decode.Flags
	role       handshake.Role
	fromClient bool
	anomaly    handshake.Code // the first the segment raised
}

// junitWriter writes JUnit XML as GitLab (artifacts:reports:junit),
// Jenkins and the GitHub test-report actions read it: one <testsuite> per
// capture file, one <testcase> per connection attempt, failing when
// --fail-on fails its verdict (without --fail-on: malformed), with the
// verdict, anomaly, RFC clause and evidence in <failure> and the
// segments of the attempt in <system-out>. Checked against Jenkins'
// junit-10.xsd (testdata/junit). Flows are held in a flowStore, so memory
// stays bounded; at Close they are written file by file.
type junitWriter struct {
	w       io.Writer
	policy  FailOn
	files   []string
	store   flowStore
	counts  [5]uint64 // by handshake.Verdict
	perFile map[int]*[5]uint64

	open      map[uint64][]junitSeg // segments of open attempts
	openSegs  int
	timelines map[uint64]string // kept timelines of possibly failing attempts
}

func newJUnit(w io.Writer, opts Options) *junitWriter {
	p := opts.FailOn
	if len(p.Rules) == 0 {
		p.Add(FailRule{Verdict: handshake.Malformed})
	}
	return &junitWriter{w: w, policy: p, files: opts.Files, perFile: map[int]*[5]uint64{},
		open: map[uint64][]junitSeg{}, timelines: map[uint64]string{}}
}

// Trace keeps the first segments of every open attempt, within bounds.
func (j *junitWriter) Trace(tr *reassembly.Trace) {
	segs := j.open[tr.Attempt]
	if tr.Event.Flipped {
		for i := range segs {
			segs[i].fromClient = !segs[i].fromClient
		}
	}
	if len(segs) >= junitSegsPerAttempt || j.openSegs >= junitSegsTotal {
		return
	}
	s := tr.Segment
	js := junitSeg{ts: s.Timestamp, frame: s.Frame, seq: uint32(s.Seq), ack: uint32(s.Ack), payload: int32(min(s.PayloadLen, 1<<30)),
		flags: s.Flags, role: tr.Event.Role, fromClient: tr.Event.FromClient}
	if tr.ICMP != nil {
		js.role = handshake.RoleICMP
	}
	if len(tr.Event.Anomalies) > 0 {
		js.anomaly = tr.Event.Anomalies[0].Code
	}
	j.open[tr.Attempt] = append(segs, js)
	j.openSegs++
}

func (j *junitWriter) Flow(f *reassembly.Flow) error {
	j.counts[f.Verdict]++
	pf := j.perFile[f.File]
	if pf == nil {
		pf = new([5]uint64)
		j.perFile[f.File] = pf
	}
	pf[f.Verdict]++
	if segs, ok := j.open[f.Attempt]; ok {
		delete(j.open, f.Attempt)
		j.openSegs -= len(segs)
		if _, judged := j.policy.Rule(f.Verdict); judged && len(j.timelines) < junitTimelines {
			j.timelines[f.Attempt] = junitTimeline(segs, f)
		}
	}
	return j.store.add(f)
}

// junitTimeline renders the kept segments of f, one per line.
func junitTimeline(segs []junitSeg, f *reassembly.Flow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "timeline of %s → %s (first %d segments):\n", f.Client, f.Server, len(segs))
	for _, s := range segs {
		dir := "C→S"
		if !s.fromClient {
			dir = "S→C"
		}
		fmt.Fprintf(&b, "  frame %-6d +%.3f ms  %s  %-12s seq=%d ack=%d len=%d  %s", s.frame, float64(s.ts-f.FirstTS)/1e6, dir, s.flags, s.seq, s.ack, s.payload, s.role)
		if s.anomaly != 0 {
			fmt.Fprintf(&b, "  ← %s", s.anomaly)
		}
		b.WriteByte('\n')
	}
	if len(segs) == junitSegsPerAttempt {
		fmt.Fprintf(&b, "  … (hsanalyze --flow %s-%s shows all)\n", f.Client, f.Server)
	}
	return b.String()
}

// fileName names input file i for the report.
func (j *junitWriter) fileName(i int) string {
	if i >= 0 && i < len(j.files) {
		return j.files[i]
	}
	return "capture"
}

func (j *junitWriter) Close(c *Capture, _ *Stats) error {
	defer j.store.close()
	if len(c.Files) > 0 {
		j.files = c.Files
	}
	bw := bufio.NewWriterSize(j.w, 64<<10)
	var total, failures uint64
	for _, n := range j.counts {
		total += n
	}
	failing := func(v handshake.Verdict) bool { return j.policy.Failing(v, &j.counts) }
	for v, n := range j.counts {
		if failing(handshake.Verdict(v)) {
			failures += n
		}
	}
	secs := func(ns int64) string { return strconv.FormatFloat(float64(max(ns, 0))/1e9, 'f', 6, 64) }
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(bw, "<testsuites name=\"hsanalyze\" tests=\"%d\" failures=\"%d\" errors=\"0\" time=\"%s\">\n", total, failures, secs(c.LastTS-c.FirstTS))
	nfiles := max(len(j.files), 1)
	for i := range nfiles {
		pf := j.perFile[i]
		if pf == nil {
			pf = new([5]uint64)
		}
		var tests, fails uint64
		for v, n := range pf {
			tests += n
			if failing(handshake.Verdict(v)) {
				fails += n
			}
		}
		name := xmlAttr(j.fileName(i))
		ts := ""
		if c.Packets > 0 {
			ts = time.Unix(0, c.FirstTS).UTC().Format("2006-01-02T15:04:05")
		}
		fmt.Fprintf(bw, "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"0\" time=\"%s\" timestamp=\"%s\">\n", name, tests, fails, secs(c.LastTS-c.FirstTS), ts)
		bw.WriteString("    <properties>\n")
		rules := make([]string, len(j.policy.Rules))
		for k, r := range j.policy.Rules {
			rules[k] = r.String()
		}
		fmt.Fprintf(bw, "      <property name=\"fail-on\" value=\"%s\"/>\n", xmlAttr(strings.Join(rules, ",")))
		bw.WriteString("    </properties>\n")
		err := j.store.each(func(f *reassembly.Flow) error {
			if f.File != i && !(i == 0 && (f.File < 0 || f.File >= nfiles)) {
				return nil
			}
			j.testcase(bw, f, name, failing(f.Verdict), secs)
			return nil
		})
		if err != nil {
			return fmt.Errorf("read stored flows: %w", err)
		}
		bw.WriteString("  </testsuite>\n")
	}
	bw.WriteString("</testsuites>\n")
	return bw.Flush()
}

// testcase writes f as a <testcase>.
func (j *junitWriter) testcase(bw *bufio.Writer, f *reassembly.Flow, classname string, failing bool, secs func(int64) string) {
	name := fmt.Sprintf("%s → %s %s", f.Client, f.Server, appendTime3339(nil, f.FirstTS))
	if f.SYNFrame != 0 {
		name += " frame " + strconv.FormatUint(f.SYNFrame, 10)
	} else if len(f.Evidence) > 0 {
		name += " frame " + strconv.FormatUint(f.Evidence[0].Frame, 10)
	}
	fmt.Fprintf(bw, "    <testcase name=\"%s\" classname=\"%s\" time=\"%s\"", xmlAttr(name), classname, secs(f.LastTS-f.FirstTS))
	if !failing {
		if r, ok := j.policy.Rule(f.Verdict); ok {
			fmt.Fprintf(bw, ">\n      <system-out>%s within the --fail-on threshold %s</system-out>\n    </testcase>\n", f.Verdict, xmlText(r.String()))
			return
		}
		bw.WriteString("/>\n")
		return
	}
	msg := f.Verdict.String()
	if len(f.Anomalies) > 0 {
		msg += ": " + f.Anomalies[0].String()
		if rfc := f.Anomalies[0].RFC(); rfc != "" {
			msg += " (" + rfc + ")"
		}
	}
	fmt.Fprintf(bw, ">\n      <failure message=\"%s\" type=\"%s\">", xmlAttr(msg), f.Verdict)
	var body strings.Builder
	fmt.Fprintf(&body, "%s → %s: %s: %s\n", f.Client, f.Server, f.Verdict, f.AppendReason(nil))
	for _, a := range f.Evidence {
		fmt.Fprintf(&body, "%s at frame %d", a.Code, a.Frame)
		if a.Field != "" {
			fmt.Fprintf(&body, ", field %s", a.Field)
		}
		if a.HasValues {
			fmt.Fprintf(&body, ": seen %d, expected %d", a.Seen, a.Expected)
		}
		if rfc := a.Code.RFC(); rfc != "" {
			fmt.Fprintf(&body, " — %s", rfc)
		}
		body.WriteByte('\n')
	}
	if len(f.Evidence) == 0 {
		fmt.Fprintf(&body, "no anomaly: the verdict %s itself fails --fail-on\n", f.Verdict)
	}
	bw.WriteString(xmlText(body.String()))
	bw.WriteString("</failure>\n")
	tl, ok := j.timelines[f.Attempt]
	if !ok {
		tl = fmt.Sprintf("timeline not kept (over %d failing attempts); hsanalyze --flow %s-%s shows it\n", junitTimelines, f.Client, f.Server)
	}
	fmt.Fprintf(bw, "      <system-out>%s</system-out>\n    </testcase>\n", xmlText(tl))
}

// xmlText escapes s for XML character data: &, <, > become entities, and
// what XML 1.0 cannot carry at all (control characters other than tab,
// newline and carriage return, invalid UTF-8, U+FFFE/U+FFFF) becomes
// U+FFFD, so that hostile capture names and strings always yield a
// well-formed document.
func xmlText(s string) string { return xmlEscape(s, false) }

// xmlAttr escapes s for a double-quoted attribute value: also " and the
// whitespace that attribute normalisation would fold.
func xmlAttr(s string) string { return xmlEscape(s, true) }

func xmlEscape(s string, attr bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1, r == 0xFFFE, r == 0xFFFF, r < 0x20 && r != '\t' && r != '\n' && r != '\r':
			b.WriteRune(utf8.RuneError)
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case attr && r == '"':
			b.WriteString("&quot;")
		case attr && r == '\t':
			b.WriteString("&#9;")
		case attr && r == '\n':
			b.WriteString("&#10;")
		case r == '\r':
			b.WriteString("&#13;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
