package report_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/internal/scenarios"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// TestSortedFormatsSameForWorkers: JSON and the --all table, which format
// their sorted flows on Options.Workers goroutines at Close, write the
// same bytes for any number, on a mix of every verdict large enough for
// several chunks.
func TestSortedFormatsSameForWorkers(t *testing.T) {
	data, exp, err := scenarios.MixPcap(5000)
	if err != nil {
		t.Fatal(err)
	}
	f, err := capture.Open("-", bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	var a analyzed
	sum, err := analyze.Run([]*capture.File{f}, analyze.Options{}, func(f *reassembly.Flow) {
		c := *f
		c.Anomalies = slices.Clone(f.Anomalies)
		c.Evidence = slices.Clone(f.Evidence)
		a.flows = append(a.flows, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.flows) != len(exp) {
		t.Fatalf("%d flows, want %d", len(a.flows), len(exp))
	}
	a.capture = report.Capture{Files: []string{"mix.pcap"}, Packets: sum.Packets, TCPPackets: sum.TCPPackets, FirstTS: sum.FirstTS, LastTS: sum.LastTS}
	for _, tc := range []struct {
		format string
		opts   report.Options
	}{
		{"json", report.Options{}},
		{"table", report.Options{All: true}},
	} {
		tc.opts.Workers = 1
		want := render(t, a, tc.format, tc.opts)
		for _, w := range []int{2, 3, 8} {
			tc.opts.Workers = w
			if got := render(t, a, tc.format, tc.opts); !bytes.Equal(got, want) {
				t.Errorf("%s (all %v): %d workers write other bytes than 1", tc.format, tc.opts.All, w)
			}
		}
	}
}
