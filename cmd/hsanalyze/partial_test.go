package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
	"github.com/hsanalyze/hsanalyze/internal/rezip"
)

// splitPcap cuts a little-endian pcap into files of n records each in dir
// and returns their paths, in order.
func splitPcap(t *testing.T, path, dir string, n int) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hdr, recs := b[:24], b[24:]
	var paths []string
	for len(recs) > 0 {
		out := append([]byte(nil), hdr...)
		for i := 0; i < n && len(recs) > 0; i++ {
			l := 16 + int(binary.LittleEndian.Uint32(recs[8:]))
			out, recs = append(out, recs[:l]...), recs[l:]
		}
		p := filepath.Join(dir, filepath.Base(path)+"."+string(rune('a'+len(paths)))+".pcap")
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestPartialMerge runs --partial on each part of a split capture and
// merge on the partials (given in reverse order): the summary counts and
// the verdicts per connection are those of one run over the parts, and so
// are --fail-on and the exit status.
func TestPartialMerge(t *testing.T) {
	dir := t.TempDir()
	parts := splitPcap(t, pcap("mix-200.pcap"), dir, 90)
	var partials []string
	for i := len(parts) - 1; i >= 0; i-- {
		out := parts[i] + ".partial"
		if r := runCLI(t, nil, nil, "--partial", out, parts[i]); r.code != exitOK || r.stdout != "" {
			t.Fatalf("--partial %s: exit %d, stdout %q, stderr %q", out, r.code, r.stdout, r.stderr)
		}
		partials = append(partials, out)
	}
	want := runCLI(t, nil, nil, append([]string{"--format", "json", "--jobs", "1", "--fail-on", "refused"}, parts...)...)
	got := runCLI(t, nil, nil, append([]string{"merge", "--format", "json", "--fail-on", "refused"}, partials...)...)
	if got.code != want.code || got.code != exitFailOn {
		t.Fatalf("merge exit %d, one run %d; stderr %s", got.code, want.code, got.stderr)
	}
	if got.stdout != want.stdout {
		w, g := decodeJSON(t, want.stdout), decodeJSON(t, got.stdout)
		t.Errorf("merge differs from one run: summary %+v vs %+v", g.Summary, w.Summary)
	}
	// The table, with a filter, is the same too.
	want = runCLI(t, nil, nil, append([]string{"--verdict", "malformed", "--jobs", "1"}, parts...)...)
	got = runCLI(t, nil, nil, append([]string{"merge", "--verdict", "malformed"}, partials...)...)
	if got.stdout != want.stdout || got.code != want.code {
		t.Errorf("merged table differs:\n%s\none run:\n%s", got.stdout, want.stdout)
	}
}

// TestJobsIdentical checks that --jobs over rotated files prints what the
// sequential run prints, in every format.
func TestJobsIdentical(t *testing.T) {
	dir := t.TempDir()
	parts := splitPcap(t, pcap("mix-200.pcap"), dir, 60)
	for _, format := range []string{"table", "json", "csv", "ndjson", "zeek", "zeek-json", "html"} {
		seq := runCLI(t, nil, nil, append([]string{"--format", format, "--all", "--jobs", "1"}, parts...)...)
		par := runCLI(t, nil, nil, append([]string{"--format", format, "--all", "--jobs", "3"}, parts...)...)
		if seq.stdout != par.stdout || seq.code != par.code || seq.stderr != par.stderr {
			t.Errorf("%s: --jobs 3 differs from --jobs 1 (exit %d vs %d)\n%s", format, par.code, seq.code, firstDiff(seq.stdout, par.stdout))
		}
	}
	// Overlapping files (here: the same file twice) are merged in
	// timestamp order as before.
	seq := runCLI(t, nil, nil, "--format", "json", "--jobs", "1", parts[0], parts[0])
	par := runCLI(t, nil, nil, "--format", "json", "--jobs", "2", parts[0], parts[0])
	if seq.stdout != par.stdout {
		t.Errorf("overlapping files: --jobs 2 differs from --jobs 1\n%s", firstDiff(seq.stdout, par.stdout))
	}
}

// TestJobsBounded checks that --jobs holds at most 4 x --max-memory of
// partial results for the merge: past that it says so and analyses the
// files one after another, printing what --jobs 1 prints.
func TestJobsBounded(t *testing.T) {
	parts := splitPcap(t, pcap("mix-200.pcap"), t.TempDir(), 60)
	// 200 flows alone take some 16 KB in the flow codec: more than 4 x 2 KiB.
	for _, format := range []string{"json", "ndjson"} {
		args := append([]string{"--format", format, "--max-memory", "2KiB"}, parts...)
		seq := runCLI(t, nil, nil, append([]string{"--jobs", "1"}, args...)...)
		par := runCLI(t, nil, nil, append([]string{"--jobs", "3"}, args...)...)
		if seq.stdout != par.stdout || seq.code != par.code {
			t.Errorf("%s: --jobs 3 past its bound differs from --jobs 1 (exit %d vs %d)\n%s", format, par.code, seq.code, firstDiff(seq.stdout, par.stdout))
		}
		note := "hsanalyze: note: --jobs: the partial results held for the merge passed 8KiB (4 x --max-memory): analysing the files one after another instead; raise --max-memory to let --jobs hold more\n"
		if !strings.HasPrefix(par.stderr, note) || strings.Contains(seq.stderr, "note: --jobs") {
			t.Errorf("%s: stderr of --jobs 3 does not begin with the note %q:\n%s", format, note, par.stderr)
		}
		if got := strings.TrimPrefix(par.stderr, note); got != seq.stderr {
			t.Errorf("%s: stderr differs beside the note:\n%s\n--jobs 1:\n%s", format, got, seq.stderr)
		}
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, al[i], bl[i])
		}
	}
	return "lengths differ"
}

// TestMergeRefuses checks that merge exits 2 naming the file, printing
// nothing, for a truncated partial and for partials of other options; and
// that --partial refuses report flags.
func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.partial")
	if r := runCLI(t, nil, nil, "--partial", good, pcap("mix-200.pcap")); r.code != exitOK {
		t.Fatalf("--partial: %s", r.stderr)
	}
	b, _ := os.ReadFile(good)
	cut := filepath.Join(dir, "cut.partial")
	os.WriteFile(cut, b[:len(b)*2/3], 0o644)
	other := filepath.Join(dir, "other.partial")
	if r := runCLI(t, nil, nil, "--partial", other, "--idle-timeout", "30s", pcap("mix-200.pcap")); r.code != exitOK {
		t.Fatalf("--partial: %s", r.stderr)
	}
	for _, tc := range []struct {
		args []string
		name string
	}{
		{[]string{"merge", "--format", "ndjson", good, cut}, cut},
		{[]string{"merge", good, other}, other},
		{[]string{"merge", "--idle-timeout", "30s", good}, good},
		{[]string{"merge", filepath.Join(dir, "absent.partial")}, "absent.partial"},
		{[]string{"merge", pcap("mix-200.pcap")}, "mix-200.pcap"},
	} {
		r := runCLI(t, nil, nil, tc.args...)
		if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, tc.name) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing printed, naming %s", tc.args, r.code, r.stdout, r.stderr, tc.name)
		}
	}
	for _, flag := range []string{"--fail-on=refused", "--format=json", "-q", "--verdict=refused"} {
		r := runCLI(t, nil, nil, "--partial", filepath.Join(dir, "x.partial"), flag, pcap("mix-200.pcap"))
		if r.code != exitError || !strings.Contains(r.stderr, "merge") {
			t.Errorf("--partial with %s: exit %d, stderr %q", flag, r.code, r.stderr)
		}
	}
}

// refusedCapture writes part (0, 1, ...) of a capture of refused
// attempts: 3000 SYNs each answered by an RST 1 ms later, 10 ms apart,
// the parts a minute apart, and returns its path.
func refusedCapture(t *testing.T, dir string, part int) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	server := netip.MustParseAddrPort("192.0.2.10:80")
	for i := range 3000 {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 8, byte(part), byte(i >> 8)}), uint16(1024+i))
		ts := at.Add(time.Duration(part*60_000+i*10) * time.Millisecond)
		w.Write(pcapgen.Seg{Time: ts, Src: client, Dst: server, Flags: pcapgen.SYN, Seq: uint32(i)})
		w.Write(pcapgen.Seg{Time: ts.Add(time.Millisecond), Src: server, Dst: client, Flags: pcapgen.RST | pcapgen.ACK, Ack: uint32(i + 1)})
	}
	path := filepath.Join(dir, fmt.Sprintf("refused-%d.pcap", part))
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMergeDamagedRecordPrintsNothing checks that a partial whose records
// are damaged inside a valid zstd stream (which the JSON and table merges
// no longer decode before merging, see holdsReport) still makes merge
// exit 2 naming the file and print nothing, in every format.
func TestMergeDamagedRecordPrintsNothing(t *testing.T) {
	dir := t.TempDir()
	// Two parts in time order: the first one intact, with enough refused
	// attempts decided inside it (3 MB of NDJSON) that a streaming format
	// prints them before the merge reaches the second one's damage.
	caps := []string{refusedCapture(t, dir, 0), refusedCapture(t, dir, 1)}
	good, later := filepath.Join(dir, "good.partial"), filepath.Join(dir, "later.partial")
	for i, out := range []string{good, later} {
		if r := runCLI(t, nil, nil, "--partial", out, caps[i]); r.code != exitOK {
			t.Fatalf("--partial: %s", r.stderr)
		}
	}
	b, _ := os.ReadFile(later)
	n := len(rezip.Records(t, b))
	// Bytes in the flow records, flipped one at a time: each is a partial
	// a buggy writer could leave, with a valid zstd checksum.
	tried := 0
	for i := 16; i < n/2 && tried < 8; i += n / 40 {
		flipped := rezip.Partial(t, b, func(r []byte) { r[i] ^= 0xff })
		bad := filepath.Join(dir, "bad.partial")
		os.WriteFile(bad, flipped, 0o644)
		if r := runCLI(t, nil, nil, "merge", "--format", "ndjson", bad); r.code == exitOK {
			continue // the flip still decodes: nothing to refuse
		}
		tried++
		for _, format := range []string{"table", "json", "ndjson", "csv"} {
			r := runCLI(t, nil, nil, "merge", "--format", format, good, bad)
			if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, bad) {
				t.Errorf("byte %d flipped, --format %s: exit %d, stdout %.200q, stderr %q; want 2, nothing printed, naming %s", i, format, r.code, r.stdout, r.stderr, bad)
			}
		}
	}
	if tried == 0 {
		t.Fatal("no flipped byte made a partial merge refuses")
	}
}

// TestPartialSameForWorkers checks that --partial writes the same bytes
// whatever --workers is: with more than one, reading and decoding run on
// a goroutine of their own (analyze.Options.EmitWhileTracking).
func TestPartialSameForWorkers(t *testing.T) {
	dir := t.TempDir()
	// The generated capture has several batches of packets: with one
	// only, tracking and emit would not overlap even if emit were
	// deferred (which -race then reports).
	for _, capture := range []string{pcap("mix-200.pcap"), pcap("scan-probes.pcap"), pcap("tunnel-nested.pcap"), refusedCapture(t, dir, 0)} {
		var first []byte
		for _, workers := range []string{"1", "2", "3"} {
			out := filepath.Join(dir, workers+".partial")
			if r := runCLI(t, nil, nil, "--partial", out, "--workers", workers, capture); r.code != exitOK {
				t.Fatalf("%s --workers %s: exit %d: %s", capture, workers, r.code, r.stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = b
			} else if !bytes.Equal(b, first) {
				t.Errorf("%s: --workers %s wrote another partial than --workers 1", capture, workers)
			}
		}
	}
}
