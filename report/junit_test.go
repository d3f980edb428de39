package report_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/internal/junitcheck"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// renderJUnit runs the pipeline on the named captures of testdata/pcaps
// (one capture, files in order) with the junit writer tracing, as the
// command does.
func renderJUnit(t *testing.T, names []string, opts report.Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	opts.Files = names
	w, err := report.New("junit", &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	var files []*capture.File
	for i, n := range names {
		f, err := capture.Open(filepath.Join("..", "testdata", "pcaps", n), nil, i)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	var stats report.Stats
	sum, err := analyze.Run(files, analyze.Options{Tracker: reassembly.Options{Trace: w.(report.Tracer).Trace}}, func(f *reassembly.Flow) {
		stats.Add(f)
		if err := w.Flow(f); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &report.Capture{Files: names, Packets: sum.Packets, TCPPackets: sum.TCPPackets, FirstTS: sum.FirstTS, LastTS: sum.LastTS}
	if err := w.Close(c, &stats); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// junitDoc is what the consumers read of a report.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	var malformedHalfOpen report.FailOn
	for _, s := range []string{"malformed", "half_open>10%"} {
		r, err := report.ParseFailRule(s)
		if err != nil {
			t.Fatal(err)
		}
		malformedHalfOpen.Add(r)
	}
	tests := []struct {
		golden   string
		files    []string
		opts     report.Options
		failures int
	}{
		{"synack-wrong-ack.junit.xml", []string{"synack-wrong-ack.pcap"}, report.Options{}, 1},
		{"mix-200.junit.xml", []string{"mix-200.pcap"}, report.Options{FailOn: malformedHalfOpen}, 51 + 64},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out := renderJUnit(t, tt.files, tt.opts)
			path := filepath.Join("testdata", "golden", tt.golden)
			if *update {
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
			} else if want, err := os.ReadFile(path); err != nil {
				t.Fatalf("%v (run go test ./report -update)", err)
			} else if d := lineDiff(string(want), string(out)); d != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, d)
			}
			var doc junitDoc
			if err := xml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("not XML: %v", err)
			}
			names := map[string]bool{}
			failures := 0
			for _, s := range doc.Suites {
				for _, c := range s.Cases {
					if names[c.Name] || c.Classname != s.Name {
						t.Errorf("test case %q: name repeated or classname %q is not the suite %q", c.Name, c.Classname, s.Name)
					}
					names[c.Name] = true
					if c.Failure != nil {
						failures++
						if !strings.Contains(c.SystemOut, "frame") || c.Failure.Message == "" {
							t.Errorf("failing %q: message %q, system-out %q", c.Name, c.Failure.Message, c.SystemOut)
						}
					}
				}
			}
			if failures != tt.failures || doc.Failures != tt.failures {
				t.Errorf("%d failures (%d counted), want %d", failures, doc.Failures, tt.failures)
			}
			junitcheck.Validate(t, out)
		})
	}
}
