package report_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// benchFlows are flows as the pipeline makes them, one of each shape the
// bench captures are made of: a flood's half-open attempt with
// retransmitted SYNs, a complete one with options and both durations, a
// malformed one with evidence, and a tunnelled one. Their times and frame
// numbers are moved to where a large capture has them (nanoseconds set,
// frames in the millions), so that the numbers are as long as there.
func benchFlows(b *testing.B) []reassembly.Flow {
	var flows []reassembly.Flow
	for i, name := range []string{"syn-retransmit-3x.pcap", "complete-v4.pcap", "synack-wrong-ack.pcap", "tunnel-nested.pcap"} {
		a := analyzeFiles(b, []string{name})
		f := a.flows[0]
		shift := int64(1_795_000_123_456_789_012 + i*7_000_001_003)
		f.FirstTS += shift
		f.LastTS += shift
		for _, p := range []*uint64{&f.SYNFrame, &f.SYNACKFrame, &f.ACKFrame} {
			if *p != 0 {
				*p += 4_000_000
			}
		}
		for j := range f.Evidence {
			f.Evidence[j].Frame += 4_000_000
		}
		flows = append(flows, f)
	}
	return flows
}

// BenchmarkFormat measures turning one finished flow into output, per
// format, cycling through benchFlows; bytes are output bytes. The sorted
// formats (json, table --all) include holding the flow and writing it at
// Close.
func BenchmarkFormat(b *testing.B) {
	flows := benchFlows(b)
	for _, tc := range []struct {
		name, format string
		opts         report.Options
	}{
		{"ndjson", "ndjson", report.Options{}},
		{"json", "json", report.Options{}},
		{"csv", "csv", report.Options{}},
		{"zeek", "zeek", report.Options{}},
		{"zeek-json", "zeek-json", report.Options{}},
		{"table", "table", report.Options{}},
		{"table-all", "table", report.Options{All: true}},
		{"table-group", "table", report.Options{GroupBy: report.GroupServer}},
		{"junit", "junit", report.Options{}},
		{"parquet", "parquet", report.Options{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			// Output bytes per flow, from one rendering of 4000 flows.
			var out bytes.Buffer
			run(b, tc.format, tc.opts, flows, 4000, &out)
			b.SetBytes(int64(out.Len() / 4000))
			b.ReportAllocs()
			b.ResetTimer()
			run(b, tc.format, tc.opts, flows, b.N, io.Discard)
		})
	}
}

// run writes n flows, cycling through flows, in format to w.
func run(b *testing.B, format string, opts report.Options, flows []reassembly.Flow, n int, w io.Writer) {
	rw, err := report.New(format, w, opts)
	if err != nil {
		b.Fatal(err)
	}
	if s, ok := rw.(report.Starter); ok {
		s.Start(flows[0].FirstTS)
	}
	var stats report.Stats
	for i := range n {
		f := &flows[i%len(flows)]
		stats.Add(f)
		if err := rw.Flow(f); err != nil {
			b.Fatal(err)
		}
	}
	if err := rw.Close(&report.Capture{Packets: uint64(n)}, &stats); err != nil {
		b.Fatal(err)
	}
}
