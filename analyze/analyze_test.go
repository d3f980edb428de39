package analyze

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/internal/scenarios"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// runFlows analyses the capture in data with the given worker setting and
// returns every emitted flow as a JSON line, in emission order.
func runFlows(t *testing.T, data []byte, workers int) (string, Summary) {
	t.Helper()
	f, err := capture.Open("-", bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	sum, err := Run([]*capture.File{f}, Options{Workers: workers}, func(fl *reassembly.Flow) {
		out = append(report.AppendFlowJSON(out, fl), '\n')
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(out), sum
}

// TestWorkersSameOutput checks that reading in a goroutine of its own
// changes nothing: the same flows, in the same order, and the same counts.
func TestWorkersSameOutput(t *testing.T) {
	for _, n := range []int{200, 5000} {
		t.Run(fmt.Sprintf("mix-%d", n), func(t *testing.T) {
			data, exp, err := scenarios.MixPcap(n)
			if err != nil {
				t.Fatal(err)
			}
			serial, s1 := runFlows(t, data, 1)
			piped, s2 := runFlows(t, data, 2)
			if serial != piped {
				t.Error("flows differ between Workers 1 and 2")
			}
			if s1.Packets != s2.Packets || s1.TCPPackets != s2.TCPPackets || s1.Flows != s2.Flows || s1.Decoded != s2.Decoded ||
				s1.FirstTS != s2.FirstTS || s1.LastTS != s2.LastTS {
				t.Errorf("summaries differ: %+v vs %+v", s1, s2)
			}
			if s1.Flows != uint64(len(exp)) {
				t.Errorf("%d flows, want %d", s1.Flows, len(exp))
			}
		})
	}
}
