package partial_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/partial"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// pcapFile is a little-endian pcap split into its records.
type pcapFile struct {
	header []byte
	recs   [][]byte // each with its 16-byte record header
}

func readPcap(t testing.TB, path string) *pcapFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 && binary.LittleEndian.Uint32(b) != 0xa1b23c4d {
		t.Fatalf("%s: not a little-endian pcap", path)
	}
	p := &pcapFile{header: b[:24]}
	for off := 24; off < len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		p.recs = append(p.recs, b[off:off+16+n])
		off += 16 + n
	}
	return p
}

// bytesOf returns a pcap of the records at indices idx.
func (p *pcapFile) bytesOf(idx []int) []byte {
	out := slices.Clone(p.header)
	for _, i := range idx {
		out = append(out, p.recs[i]...)
	}
	return out
}

// part is one piece of a split: the whole capture's record indices, in
// order.
type part []int

// result is what an analysis or a merge reported, flows as normalised
// JSON lines (sorted) and the summary's counts.
type result struct {
	flows   []string
	summary string
}

func flowJSON(f *reassembly.Flow) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(report.AppendFlowJSON(nil, f), &m); err != nil {
		panic(err)
	}
	return m
}

func finish(flows []map[string]any, summary string) result {
	r := result{summary: summary}
	for _, f := range flows {
		b, _ := json.Marshal(f)
		r.flows = append(r.flows, string(b))
	}
	slices.Sort(r.flows)
	return r
}

// whole analyses the capture in one run; its flows are in the coordinates
// of the split: every frame becomes the frame in its part, every file index
// the index of that part among the merged files.
type wholeRun struct {
	flows   []map[string]any
	summary string
}

func analyseWhole(t testing.TB, p *pcapFile) wholeRun {
	t.Helper()
	all := make([]int, len(p.recs))
	for i := range all {
		all[i] = i
	}
	f, err := capture.Open("-", bytes.NewReader(p.bytesOf(all)), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w wholeRun
	sum, err := analyze.Run([]*capture.File{f}, analyze.Options{}, func(fl *reassembly.Flow) { w.flows = append(w.flows, flowJSON(fl)) })
	if err != nil {
		t.Fatal(err)
	}
	w.summary = fmt.Sprintf("packets %d tcp %d first %d last %d", sum.Packets, sum.TCPPackets, sum.FirstTS, sum.LastTS)
	return w
}

// inSplit maps the whole run's flows to the split's coordinates.
func (w wholeRun) inSplit(parts []part, position []int) result {
	where := map[int][2]int{} // global frame (1-based) -> part, local frame
	for pi, pt := range parts {
		for li, g := range pt {
			where[g+1] = [2]int{pi, li + 1}
		}
	}
	out := make([]map[string]any, 0, len(w.flows))
	for _, f := range w.flows {
		g := make(map[string]any, len(f))
		for k, v := range f {
			g[k] = v
		}
		for _, k := range []string{"syn_frame", "synack_frame", "ack_frame"} {
			if v, ok := g[k].(float64); ok {
				g[k] = float64(where[int(v)][1])
			}
		}
		var ev []any
		for _, e := range g["evidence"].([]any) {
			e := maps(e)
			loc := where[int(e["frame"].(float64))]
			e["file"], e["frame"] = float64(position[loc[0]]), float64(loc[1])
			ev = append(ev, e)
		}
		if ev == nil {
			ev = []any{}
		}
		g["evidence"] = ev
		if r, ok := g["reason"].(string); ok {
			g["reason"] = frameRef.ReplaceAllStringFunc(r, func(m string) string {
				n, _ := strconv.Atoi(strings.TrimPrefix(m, "frame "))
				return fmt.Sprintf("frame %d", where[n][1])
			})
		}
		out = append(out, g)
	}
	return finish(out, w.summary)
}

// frameRef is a frame cited in a flow's reason.
var frameRef = regexp.MustCompile(`frame \d+`)

func maps(v any) map[string]any {
	m := map[string]any{}
	for k, x := range v.(map[string]any) {
		m[k] = x
	}
	return m
}

// merges counts calls of merge: every other one keeps the partials in
// memory (as --jobs does) rather than in files.
var merges int

// merge writes one partial per part and merges them.
func merge(t testing.TB, dir string, p *pcapFile, parts []part) (result, []int, []string) {
	t.Helper()
	if merges++; merges%2 == 0 {
		return mergeInMemory(t, p, parts)
	}
	var paths []string
	for i, pt := range parts {
		f, err := capture.Open("-", bytes.NewReader(p.bytesOf(pt)), 0)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("part%d.partial", i))
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := partial.Write(out, []*capture.File{f}, []string{fmt.Sprintf("part%d.pcap", i)}, analyze.Options{}, "test"); err != nil {
			t.Fatal(err)
		}
		f.Close()
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	plan, err := partial.Open(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	return runPlan(t, plan, len(parts))
}

// mergeInMemory is merge with partial results held in memory.
func mergeInMemory(t testing.TB, p *pcapFile, parts []part) (result, []int, []string) {
	t.Helper()
	codec := partial.FlowCodec{Append: report.AppendFlowRecord, Decode: report.DecodeFlowRecord}
	var mps []*partial.MemPart
	for i, pt := range parts {
		f, err := capture.Open("-", bytes.NewReader(p.bytesOf(pt)), 0)
		if err != nil {
			t.Fatal(err)
		}
		mp, _, err := partial.WriteMemory([]*capture.File{f}, []string{fmt.Sprintf("part%d.pcap", i)}, analyze.Options{}, codec)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		mps = append(mps, mp)
	}
	plan, err := partial.MemPlan(mps, partial.ResolveOptions(analyze.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return runPlan(t, plan, len(parts))
}

// runPlan merges and returns the result, each part's position in the
// merged order and the warnings.
func runPlan(t testing.TB, plan *partial.Plan, nparts int) (result, []int, []string) {
	t.Helper()
	position := make([]int, nparts)
	for pos, in := range plan.Parts() {
		position[in] = pos
	}
	var flows []map[string]any
	var warnings []string
	if err := plan.Run(func(f *reassembly.Flow) { flows = append(flows, flowJSON(f)) }, func(w string) { warnings = append(warnings, w) }); err != nil {
		t.Fatal(err)
	}
	m := plan.Merged()
	return finish(flows, fmt.Sprintf("packets %d tcp %d first %d last %d", m.Packets, m.TCPPackets, m.FirstTS, m.LastTS)), position, warnings
}

// cutAt splits n records at the given sorted cut points.
func cutAt(n int, cuts []int) []part {
	var parts []part
	start := 0
	for _, c := range append(slices.Clone(cuts), n) {
		var pt part
		for i := start; i < c; i++ {
			pt = append(pt, i)
		}
		parts = append(parts, pt)
		start = c
	}
	return parts
}

// byFlowHash splits records by the hash of their 4-tuple into n parts,
// each holding whole connections; records that are not TCP (nor ICMP
// errors quoting TCP) go to the first part.
func byFlowHash(p *pcapFile, n int, seed uint64) []part {
	dec := decode.NewDecoder(decode.DecoderOptions{})
	parts := make([]part, n)
	for i, r := range p.recs {
		var pkt decode.Packet
		dec.Decode(1, r[16:], int(binary.LittleEndian.Uint32(r[12:])), &pkt)
		k := 0
		if pkt.Kind == decode.KindTCP || pkt.Kind == decode.KindICMPError {
			lo, hi := reassembly.KeyOf(pkt.Segment.Src, pkt.Segment.Dst).Endpoints()
			h := fnv.New64a()
			fmt.Fprintf(h, "%d %s %s", seed, lo, hi)
			k = int(h.Sum64() % uint64(n))
		}
		parts[k] = append(parts[k], i)
	}
	return parts
}

func compare(t *testing.T, what string, want, got result, warnings []string) bool {
	t.Helper()
	if len(warnings) > 0 {
		t.Errorf("%s: merge warned: %q", what, warnings)
	}
	if want.summary != got.summary {
		t.Errorf("%s: summary\nmerged %s\nwhole  %s", what, got.summary, want.summary)
		return false
	}
	if slices.Equal(want.flows, got.flows) {
		return true
	}
	var missing, extra []string
	for _, f := range want.flows {
		if !slices.Contains(got.flows, f) {
			missing = append(missing, f)
		}
	}
	for _, f := range got.flows {
		if !slices.Contains(want.flows, f) {
			extra = append(extra, f)
		}
	}
	t.Errorf("%s: %d flows merged, %d in one run\nonly in one run: %s\nonly merged:     %s", what, len(got.flows), len(want.flows),
		strings.Join(head(missing, 3), "\n  "), strings.Join(head(extra, 3), "\n  "))
	return false
}

func head(s []string, n int) []string { return s[:min(n, len(s))] }

// TestMergeEveryCut cuts the 200-flow mix in two at every packet
// boundary (between every SYN and its SYN-ACK, between every pair of
// retransmissions) and checks the merge against one run.
func TestMergeEveryCut(t *testing.T) {
	p := readPcap(t, "../testdata/pcaps/mix-200.pcap")
	whole := analyseWhole(t, p)
	dir := t.TempDir()
	step := 1
	if testing.Short() || raceBuild {
		step = 7
	}
	for c := 0; c <= len(p.recs); c += step {
		parts := cutAt(len(p.recs), []int{c})
		got, pos, warn := merge(t, dir, p, parts)
		if !compare(t, fmt.Sprintf("cut before record %d", c), whole.inSplit(parts, pos), got, warn) {
			return
		}
	}
}

// TestMergeRandomCuts cuts the 200-flow mix at random points into up to
// 12 parts, many times, and splits it by flow hash.
func TestMergeRandomCuts(t *testing.T) {
	p := readPcap(t, "../testdata/pcaps/mix-200.pcap")
	whole := analyseWhole(t, p)
	dir := t.TempDir()
	rounds := 150
	if testing.Short() || raceBuild {
		rounds = 20
	}
	rng := rand.New(rand.NewPCG(14, 1))
	for r := range rounds {
		n := 1 + rng.IntN(11)
		cuts := make([]int, n)
		for i := range cuts {
			cuts[i] = rng.IntN(len(p.recs) + 1)
		}
		slices.Sort(cuts)
		parts := cutAt(len(p.recs), cuts)
		got, pos, warn := merge(t, dir, p, parts)
		if !compare(t, fmt.Sprintf("round %d, cuts %v", r, cuts), whole.inSplit(parts, pos), got, warn) {
			return
		}
	}
	splits := uint64(20)
	if raceBuild {
		splits = 4
	}
	for seed := range splits {
		parts := byFlowHash(p, 2+int(seed%5), seed)
		got, pos, warn := merge(t, dir, p, parts)
		if !compare(t, fmt.Sprintf("flow hash split %d", seed), whole.inSplit(parts, pos), got, warn) {
			return
		}
	}
}

// TestMergeGenerated cuts a generated 20k-flow capture (cmd/hsgen) at
// random points and by flow hash.
func TestMergeGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses a 20k-flow capture many times")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to run cmd/hsgen: %v", err)
	}
	dir := t.TempDir()
	capPath := filepath.Join(dir, "gen.pcap")
	cmd := exec.Command(goTool, "run", "../cmd/hsgen", "-flows", "20000", "-seed", "14", "-q", "-o", capPath)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hsgen: %v\n%s", err, out)
	}
	p := readPcap(t, capPath)
	whole := analyseWhole(t, p)
	rng := rand.New(rand.NewPCG(14, 2))
	rounds := 6
	if raceBuild {
		rounds = 1
	}
	for r := range rounds {
		cuts := make([]int, 1+rng.IntN(9))
		for i := range cuts {
			cuts[i] = rng.IntN(len(p.recs) + 1)
		}
		slices.Sort(cuts)
		parts := cutAt(len(p.recs), cuts)
		got, pos, warn := merge(t, dir, p, parts)
		if !compare(t, fmt.Sprintf("round %d, cuts %v", r, cuts), whole.inSplit(parts, pos), got, warn) {
			return
		}
	}
	parts := byFlowHash(p, 4, 1)
	got, pos, warn := merge(t, dir, p, parts)
	compare(t, "flow hash split", whole.inSplit(parts, pos), got, warn)
}
