package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

var update = flag.Bool("update", false, "rewrite report/testdata/golden from the current output")

// goldenCases are the inputs of the golden files: each is a list of
// scenario captures, analysed one by one (they all use the same 4-tuples,
// so analysing them as one capture would merge their handshakes).
var goldenCases = []struct {
	name  string
	files []string
	// only, if set, limits the renderings to these extensions.
	only []string
}{
	// One flow of every verdict, evidence with and without values, IPv6,
	// TFO: the fields every format has to render.
	{"verdicts", []string{"complete-v4.pcap", "complete-v6.pcap", "syn-only.pcap", "refused.pcap", "synack-wrong-ack.pcap", "rst-without-ack.pcap", "midstream.pcap", "tfo-rejected.pcap", "syn-retransmit-3x.pcap"}, nil},
	// Two attempts on one 4-tuple, one after the other.
	{"port-reuse", []string{"port-reuse.pcap"}, nil},
	// 200 flows: the table cuts its list, JSON sorts by time.
	// (The table and CSV only: the other renderings add nothing but size.)
	{"mix-200", []string{"mix-200.pcap"}, []string{"txt", "csv"}},
	// Tunnelled flows: two levels, and one inner 4-tuple in two VNIs.
	{"tunnels", []string{"tunnel-nested.pcap", "tunnel-vxlan-two-vnis.pcap"}, []string{"all.txt", "json", "csv"}},
	// No input at all: the summary of nothing.
	{"empty", nil, nil},
}

// goldenFormats are the renderings of each case: file extension, format
// and table options.
var goldenFormats = []struct {
	ext    string
	format string
	opts   report.Options
}{
	{"txt", "table", report.Options{}},
	{"all.txt", "table", report.Options{All: true}},
	{"color.txt", "table", report.Options{Color: true}},
	{"quiet.txt", "table", report.Options{Quiet: true}},
	{"json", "json", report.Options{}},
	{"ndjson", "ndjson", report.Options{}},
	{"csv", "csv", report.Options{}},
	{"zeek.log", "zeek", report.Options{}},
	{"zeek.json", "zeek-json", report.Options{}},
}

// analyzed is the result of running the real pipeline on some captures.
type analyzed struct {
	capture report.Capture
	flows   []reassembly.Flow
}

// analyzeFiles runs analyze.Run on each named capture of testdata/pcaps in
// turn and keeps deep copies of the flows (the emitted *Flow is only valid
// during the callback); the Capture sums the runs.
func analyzeFiles(t testing.TB, names []string) analyzed {
	t.Helper()
	a := analyzed{capture: report.Capture{Files: names}}
	for _, n := range names {
		f, err := capture.Open(filepath.Join("..", "testdata", "pcaps", n), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := analyze.Run([]*capture.File{f}, analyze.Options{}, func(f *reassembly.Flow) {
			c := *f
			c.Anomalies = slices.Clone(f.Anomalies)
			c.Evidence = slices.Clone(f.Evidence)
			a.flows = append(a.flows, c)
		})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := &a.capture
		c.Packets += sum.Packets
		c.TCPPackets += sum.TCPPackets
		c.Warnings += len(sum.Warnings)
		for k, n := range sum.Decoded.ByKind {
			c.Decoded.ByKind[k] += n
		}
		c.Decoded.IP += sum.Decoded.IP
		c.Fragments.Fragments += sum.Fragments.Fragments
		c.Fragments.Reassembled += sum.Fragments.Reassembled
		if c.FirstTS == 0 || sum.FirstTS < c.FirstTS {
			c.FirstTS = sum.FirstTS
		}
		c.LastTS = max(c.LastTS, sum.LastTS)
	}
	return a
}

// render writes a's flows in format with opts, as the command does.
func render(t testing.TB, a analyzed, format string, opts report.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := report.New(format, &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := w.(report.Starter); ok {
		s.Start(a.capture.FirstTS)
	}
	var stats report.Stats
	for i := range a.flows {
		stats.Add(&a.flows[i])
		if err := w.Flow(&a.flows[i]); err != nil {
			t.Fatal(err)
		}
	}
	c := a.capture
	if err := w.Close(&c, &stats); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, gc := range goldenCases {
		a := analyzeFiles(t, gc.files)
		for _, gf := range goldenFormats {
			if gc.only != nil && !slices.Contains(gc.only, gf.ext) {
				continue
			}
			name := gc.name + "." + gf.ext
			t.Run(name, func(t *testing.T) {
				got := render(t, a, gf.format, gf.opts)
				path := filepath.Join("testdata", "golden", name)
				if *update {
					if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./report -update)", err)
				}
				if d := lineDiff(string(want), string(got)); d != "" {
					t.Errorf("%s mismatch (-want +got):\n%s", path, d)
				}
			})
		}
	}
}

// lineDiff returns a line diff of want and got ("-" lines only in want,
// "+" lines only in got, "  " common), or "" when they are equal. It is a
// longest-common-subsequence diff, quadratic, fine for golden files.
func lineDiff(want, got string) string {
	if want == got {
		return ""
	}
	split := func(s string) []string {
		l := strings.SplitAfter(s, "\n")
		if l[len(l)-1] == "" {
			l = l[:len(l)-1]
		}
		return l
	}
	a, b := split(want), split(got)
	n, m := len(a), len(b)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	line := func(prefix, s string) {
		out.WriteString(prefix)
		out.WriteString(strings.TrimSuffix(s, "\n"))
		if !strings.HasSuffix(s, "\n") {
			out.WriteString(" (no newline at end)")
		}
		out.WriteByte('\n')
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			line("  ", a[i])
			i++
			j++
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			line("- ", a[i])
			i++
		default:
			line("+ ", b[j])
			j++
		}
	}
	return out.String()
}

func TestLineDiff(t *testing.T) {
	if d := lineDiff("a\nb\n", "a\nb\n"); d != "" {
		t.Errorf("equal inputs: %q", d)
	}
	want := "  a\n- b\n+ c\n  d\n"
	if d := lineDiff("a\nb\nd\n", "a\nc\nd\n"); d != want {
		t.Errorf("got\n%s\nwant\n%s", d, want)
	}
}

// objectKeys reads one JSON object from dec and returns its keys in order,
// checking each value parses.
func objectKeys(t *testing.T, dec *json.Decoder) []string {
	t.Helper()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("want '{', got %v %v", tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("value of %q: %v", keys[len(keys)-1], err)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		t.Fatalf("want '}', got %v %v", tok, err)
	}
	return keys
}

// TestJSONKeys checks that every flow object of the json and ndjson
// formats has exactly report.Columns() as keys, in that order.
func TestJSONKeys(t *testing.T) {
	a := analyzeFiles(t, goldenCases[0].files)
	if len(a.flows) == 0 {
		t.Fatal("no flows")
	}
	t.Run("json", func(t *testing.T) {
		out := render(t, a, "json", report.Options{})
		if !json.Valid(out) {
			t.Fatalf("not JSON:\n%s", out)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("want '{', got %v %v", tok, err)
		}
		var top []string
		n := 0
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			top = append(top, key.(string))
			if key != "flows" {
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				t.Fatalf("flows: want '[', got %v %v", tok, err)
			}
			for dec.More() {
				if keys := objectKeys(t, dec); !slices.Equal(keys, report.Columns()) {
					t.Errorf("flow %d keys\n%q\nwant\n%q", n, keys, report.Columns())
				}
				n++
			}
			if _, err := dec.Token(); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(top, []string{"summary", "flows"}) {
			t.Errorf("top-level keys %q, want summary, flows", top)
		}
		if n != len(a.flows) {
			t.Errorf("%d flows in JSON, %d analysed", n, len(a.flows))
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		out := render(t, a, "ndjson", report.Options{})
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		n := 0
		for i, l := range lines {
			dec := json.NewDecoder(strings.NewReader(l))
			keys := objectKeys(t, dec)
			if _, err := dec.Token(); err != io.EOF {
				t.Errorf("line %d: more than one value", i+1)
			}
			if slices.Contains(keys, "summary") {
				continue // an optional summary line
			}
			if !slices.Equal(keys, report.Columns()) {
				t.Errorf("line %d keys\n%q\nwant\n%q", i+1, keys, report.Columns())
			}
			n++
		}
		if n != len(a.flows) {
			t.Errorf("%d flow lines, %d analysed", n, len(a.flows))
		}
	})
}

// TestCSVShape checks the CSV parses, its header is report.Columns(), every
// row has one cell per column and the list cells hold JSON.
func TestCSVShape(t *testing.T) {
	a := analyzeFiles(t, goldenCases[0].files)
	out := render(t, a, "csv", report.Options{})
	rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, out)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], report.Columns()) {
		t.Fatalf("header %q, want %q", rows[0], report.Columns())
	}
	if len(rows)-1 != len(a.flows) {
		t.Errorf("%d rows, %d flows", len(rows)-1, len(a.flows))
	}
	col := func(name string) int { return slices.Index(report.Columns(), name) }
	for i, r := range rows[1:] {
		if len(r) != len(report.Columns()) {
			t.Errorf("row %d: %d cells, want %d", i+1, len(r), len(report.Columns()))
			continue
		}
		var anomalies []string
		if err := json.Unmarshal([]byte(r[col("anomalies")]), &anomalies); err != nil {
			t.Errorf("row %d anomalies %q: %v", i+1, r[col("anomalies")], err)
		}
		var evidence []map[string]any
		if err := json.Unmarshal([]byte(r[col("evidence")]), &evidence); err != nil {
			t.Errorf("row %d evidence %q: %v", i+1, r[col("evidence")], err)
		}
		f := a.flows[i]
		if len(evidence) != len(f.Evidence) || len(anomalies) != len(f.Anomalies) {
			t.Errorf("row %d: %d evidence %d anomalies, want %d %d", i+1, len(evidence), len(anomalies), len(f.Evidence), len(f.Anomalies))
		}
		if r[col("verdict")] != f.Verdict.String() || r[col("client_ip")] != f.Client.Addr().String() || r[col("server_port")] != fmt.Sprint(f.Server.Port()) {
			t.Errorf("row %d %q does not match flow %v→%v %v", i+1, r[:5], f.Client, f.Server, f.Verdict)
		}
	}
}
