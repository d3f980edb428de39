package analyze

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
	"github.com/hsanalyze/hsanalyze/internal/scenarios"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// runFlows analyses the capture in data with opts and the given worker
// setting and returns every emitted flow as a JSON line, with the Start
// and Warn hooks in the order they were called.
func runFlows(t *testing.T, data []byte, opts Options, workers int) (string, Summary) {
	t.Helper()
	f, err := capture.Open("-", bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	opts.Workers = workers
	opts.Start = func(ts int64) { out = fmt.Appendf(out, "start %d\n", ts) }
	opts.Warn = func(fe *capture.FileError) { out = fmt.Appendf(out, "warning %v\n", fe) }
	sum, err := Run([]*capture.File{f}, opts, func(fl *reassembly.Flow) {
		out = append(report.AppendFlowJSON(out, fl), '\n')
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(out), sum
}

// sameForWorkers checks that 1, 2, 3 and 8 workers give the same flows,
// in the same order, and the same counts.
func sameForWorkers(t *testing.T, data []byte, opts Options) Summary {
	t.Helper()
	serial, s1 := runFlows(t, data, opts, 1)
	for _, w := range []int{2, 3, 8} {
		piped, s2 := runFlows(t, data, opts, w)
		if serial != piped {
			t.Errorf("flows differ between Workers 1 and %d", w)
		}
		if s1.Packets != s2.Packets || s1.TCPPackets != s2.TCPPackets || s1.Flows != s2.Flows || s1.Decoded != s2.Decoded ||
			s1.FirstTS != s2.FirstTS || s1.LastTS != s2.LastTS || s1.Early != s2.Early || len(s1.Warnings) != len(s2.Warnings) {
			t.Errorf("summaries differ: %+v vs %+v", s1, s2)
		}
	}
	return s1
}

// TestWorkersSameOutput checks that the pipeline changes nothing: on the
// mixes, on every capture of testdata/pcaps, and on a SYN flood against a
// small attempt table (early decisions).
func TestWorkersSameOutput(t *testing.T) {
	for _, n := range []int{200, 5000} {
		t.Run(fmt.Sprintf("mix-%d", n), func(t *testing.T) {
			data, exp, err := scenarios.MixPcap(n)
			if err != nil {
				t.Fatal(err)
			}
			s1 := sameForWorkers(t, data, Options{})
			if s1.Flows != uint64(len(exp)) {
				t.Errorf("%d flows, want %d", s1.Flows, len(exp))
			}
			// A live input's batches of one packet take another layout.
			sameForWorkers(t, data, Options{BatchSize: 1})
		})
	}
}

func TestWorkersSameOutputCaptures(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/pcaps/*.pcap*")
	if len(paths) == 0 {
		t.Fatal("no captures in ../testdata/pcaps")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			sameForWorkers(t, data, Options{})
		})
	}
}

func TestWorkersSameOutputFlood(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	victim := netip.MustParseAddrPort("192.0.2.10:80")
	const n = 8000
	for i := range n {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000)
		for _, d := range []time.Duration{0, time.Second, 3 * time.Second}[:1+i%3] {
			if err := w.Write(pcapgen.Seg{Time: at.Add(time.Duration(i)*50*time.Microsecond + d), Src: src, Dst: victim, Flags: pcapgen.SYN, Seq: uint32(i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	sum := sameForWorkers(t, buf.Bytes(), Options{Tracker: reassembly.Options{MaxMemory: 1 << 20}})
	if sum.Flows != n || sum.Early.Decided == 0 {
		t.Errorf("%d flows, %+v: want %d, some decided early", sum.Flows, sum.Early, n)
	}
}
