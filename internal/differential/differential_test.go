package differential

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// maxBytes skips larger captures to keep the test under a minute.
	maxBytes = 5 << 20
	// A merged tshark run holds at most this many captures / bytes.
	groupFiles = 40
	groupBytes = 6 << 20
	allowFile  = "testdata/tshark-differences.md"
)

// capture is one file the test compares.
type capture struct {
	label string // "testdata/pcaps/..." or "shared:<manifest path>"
	path  string
	size  int64

	report  Report
	streams []*Stream
	skip    string // why it was not compared
}

// moduleRoot finds the directory holding go.mod above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// requireTool skips without the tool, except in CI (CI=true), which always
// installs it (.ci/run): there its absence is a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found in PATH: CI must install it (.ci/run installs tshark and tcptrace); the differential test cannot run without it", name)
	}
	t.Skipf("%s not installed: skipping the differential test (CI=true makes this a failure)", name)
	return ""
}

func TestAgainstTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark on every capture; skipped with -short")
	}
	tshark := requireTool(t, "tshark")
	root := moduleRoot(t)
	allowText, err := os.ReadFile(filepath.Join(root, allowFile))
	if err != nil {
		t.Fatal(err)
	}
	allow, err := ParseAllowList(allowText)
	if err != nil {
		t.Fatalf("%s: %v", allowFile, err)
	}

	bin := filepath.Join(t.TempDir(), "hsanalyze")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hsanalyze")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/hsanalyze: %v\n%s", err, out)
	}

	var caps []*capture
	local := localCaptures(t, root)
	caps = append(caps, local...)
	sharedDir := filepath.Join(root, "..", "shared", "pcaps")
	sharedRan := false
	if _, err := os.Stat(filepath.Join(sharedDir, "MANIFEST.tsv")); err != nil {
		t.Logf("shared captures not compared: %s absent (CI always has it)", sharedDir)
	} else {
		caps = append(caps, sharedCaptures(t, sharedDir)...)
		sharedRan = true
	}

	start := time.Now()
	var todo []*capture
	for _, c := range caps {
		if c.size > maxBytes {
			c.skip = fmt.Sprintf("%d bytes > %d", c.size, maxBytes)
			continue
		}
		todo = append(todo, c)
	}
	parallel(todo, func(c *capture) { runHsanalyze(bin, c) })
	t.Logf("hsanalyze: %.1fs", time.Since(start).Seconds())
	var ready []*capture
	for _, c := range todo {
		if c.skip == "" {
			ready = append(ready, c)
		}
	}
	runTsharkAll(t, tshark, ready)
	elapsed := time.Since(start)

	// Compare and check the allow-list.
	allowed := map[string]*AllowEntry{}
	used := map[string]bool{}
	for i := range allow {
		allowed[allow[i].Key()] = &allow[i]
	}
	var (
		streams, agree, numbers, explained, earlier, unexplained int
		files                                                    int
	)
	for _, c := range caps {
		if c.skip != "" {
			t.Logf("skipped %s: %s", c.label, c.skip)
			continue
		}
		files++
		for _, r := range Compare(c.label, c.streams, c.report.Flows) {
			if r.Stream >= 0 {
				streams++
			}
			earlier += r.Earlier
			switch r.Outcome {
			case Agree:
				agree++
			case AgreeNumbers:
				numbers++
			case Differ:
				if allowed[r.Key()] != nil {
					explained++
					used[r.Key()] = true
					continue
				}
				unexplained++
				stream := strconv.Itoa(r.Stream)
				if r.Stream < 0 {
					stream = "-"
				}
				t.Errorf("unexplained difference (add a row to %s if hsanalyze is right):\n| %s | %s | %s | %s | WHY |\n\t%s",
					allowFile, c.label, stream, r.Tshark, r.Hsanalyze, r.Detail)
			}
		}
	}
	for _, e := range allow {
		if used[e.Key()] {
			continue
		}
		if strings.HasPrefix(e.Capture, "shared:") && !sharedRan {
			continue
		}
		t.Errorf("%s:%d: allow-list entry matches no difference any more (remove it): %s stream %d tshark %s hsanalyze %s",
			allowFile, e.Line, e.Capture, e.Stream, e.Tshark, e.Hsanalyze)
	}
	t.Logf("differential vs tshark: %d captures, %d streams compared: %d agree, %d agree once hsanalyze's wrong numbers are verified in tshark's decoding, %d explained in %s, %d unexplained; %d earlier attempts in merged tshark streams not compared (%.1fs)",
		files, streams, agree, numbers, explained, allowFile, unexplained, earlier, elapsed.Seconds())

	if p, err := exec.LookPath("tcptrace"); err == nil {
		logTcptrace(t, p, caps)
	} else {
		t.Logf("tcptrace not installed: no tcptrace comparison")
	}
}

func localCaptures(t *testing.T, root string) []*capture {
	var out []*capture
	dir := filepath.Join(root, "testdata", "pcaps")
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := d.Name()
		if !strings.HasSuffix(name, ".pcap") && !strings.HasSuffix(name, ".pcapng") && !strings.HasSuffix(name, ".gz") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, &capture{label: filepath.ToSlash(rel), path: path, size: info.Size()})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sharedCaptures(t *testing.T, dir string) []*capture {
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*capture
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for first := true; sc.Scan(); first = false {
		if first {
			continue // header
		}
		rel, _, _ := strings.Cut(sc.Text(), "\t")
		if rel == "" {
			continue
		}
		c := &capture{label: "shared:" + rel, path: filepath.Join(dir, filepath.FromSlash(rel))}
		if info, err := os.Stat(c.path); err != nil {
			c.skip = "listed in MANIFEST.tsv but missing"
		} else {
			c.size = info.Size()
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// parallel runs fn on every capture with a bounded number of workers.
func parallel[T any](items []T, fn func(T)) {
	workers := max(2, runtime.NumCPU())
	ch := make(chan T)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				fn(it)
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

func runHsanalyze(bin string, c *capture) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--format", "json", c.path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		c.skip = "hsanalyze cannot read it: " + strings.TrimSpace(stderr.String())
		return
	}
	if err != nil {
		c.skip = fmt.Sprintf("hsanalyze: %v: %s", err, stderr.String())
		return
	}
	if err := json.Unmarshal(stdout.Bytes(), &c.report); err != nil {
		c.skip = fmt.Sprintf("hsanalyze JSON: %v", err)
	}
}

// runTsharkAll dissects every capture with tshark. tshark spends most of
// its time starting up (about half a second), so captures whose 4-tuples
// do not overlap are concatenated with mergecap into one pcapng and read
// by one tshark; frames are mapped back through per-file packet counts
// (capinfos). A group whose result does not split cleanly (a stream across
// two files, stream numbers not contiguous per file) is redone one file
// at a time, as are captures capinfos reports damaged.
func runTsharkAll(t *testing.T, tshark string, caps []*capture) {
	mergecap, err1 := exec.LookPath("mergecap")
	capinfos, err2 := exec.LookPath("capinfos")
	var solo []*capture
	var groups [][]*capture
	if err1 != nil || err2 != nil {
		t.Logf("mergecap or capinfos missing: one tshark per capture (slower)")
		solo = caps
	} else {
		counts := packetCounts(capinfos, caps)
		var mergeable []*capture
		for _, c := range caps {
			if _, ok := counts[c.path]; ok {
				mergeable = append(mergeable, c)
			} else {
				solo = append(solo, c)
			}
		}
		groups = groupCaptures(mergeable)
		t.Logf("capinfos: %d of %d captures can be merged", len(mergeable), len(caps))
		dir := t.TempDir()
		var mu sync.Mutex
		type job struct {
			n int
			g []*capture
		}
		var jobs []job
		for i, g := range groups {
			jobs = append(jobs, job{i, g})
		}
		parallel(jobs, func(j job) {
			g := j.g
			for try := 0; len(g) > 0; try++ {
				bad, err := runTsharkGroup(tshark, mergecap, filepath.Join(dir, fmt.Sprintf("g%d-%d.pcapng", j.n, try)), g, counts)
				if err == nil {
					return
				}
				// Take the captures at fault out and merge the rest again;
				// after three tries, or when all are at fault, go one by one.
				rest := g[:0:0]
				var out []*capture
				for i, c := range g {
					if bad[i] || try >= 2 {
						out = append(out, c)
					} else {
						rest = append(rest, c)
					}
				}
				if len(rest) == len(g) {
					out, rest = g, nil
				}
				t.Logf("merged run of %d captures: %v; %d of them run alone", len(g), err, len(out))
				mu.Lock()
				solo = append(solo, out...)
				mu.Unlock()
				g = rest
			}
		})
	}
	parallel(solo, func(c *capture) {
		out, stderr, err := runTshark(tshark, c.path)
		streams, perr := ParseTshark(out)
		switch {
		case perr != nil:
			c.skip = fmt.Sprintf("tshark output: %v", perr)
		case err != nil && len(streams) == 0:
			c.skip = fmt.Sprintf("tshark cannot read it: %v: %s", err, firstLine(stderr))
		default:
			c.streams = streams
		}
	})
	t.Logf("tshark: %d merged runs, %d single-capture runs", len(groups), len(solo))
}

func runTshark(tshark, path string) (stdout []byte, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, tshark, TsharkArgs(path)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.Bytes(), errb.String(), err
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Running as user") {
			return l
		}
	}
	return ""
}

// packetCounts returns the number of records capinfos reads in each file,
// leaving out files it reports an error for.
func packetCounts(capinfos string, caps []*capture) map[string]int {
	args := []string{"-T", "-c", "-r", "-M"}
	for _, c := range caps {
		args = append(args, c.path)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(capinfos, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // non-zero when any file is bad; stderr names it
	counts := map[string]int{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		name, n, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(strings.TrimSpace(n)); err == nil {
			counts[name] = v
		}
	}
	for _, c := range caps {
		if strings.Contains(stderr.String(), `"`+c.path+`"`) {
			delete(counts, c.path)
		}
	}
	return counts
}

// groupCaptures packs captures into groups without a shared 4-tuple
// (by hsanalyze's flows; the split check catches any tshark sees more).
func groupCaptures(caps []*capture) [][]*capture {
	type group struct {
		caps   []*capture
		bytes  int64
		tuples map[Tuple]bool
	}
	var groups []*group
next:
	for _, c := range caps {
		var tuples []Tuple
		for _, f := range c.report.Flows {
			if tu, ok := f.Tuple(); ok {
				tuples = append(tuples, tu)
			}
		}
	try:
		for _, g := range groups {
			if len(g.caps) >= groupFiles || g.bytes+c.size > groupBytes {
				continue
			}
			for _, tu := range tuples {
				if g.tuples[tu] {
					continue try
				}
			}
			g.caps = append(g.caps, c)
			g.bytes += c.size
			for _, tu := range tuples {
				g.tuples[tu] = true
			}
			continue next
		}
		g := &group{caps: []*capture{c}, bytes: c.size, tuples: map[Tuple]bool{}}
		for _, tu := range tuples {
			g.tuples[tu] = true
		}
		groups = append(groups, g)
	}
	out := make([][]*capture, len(groups))
	for i, g := range groups {
		out[i] = g.caps
	}
	return out
}

// runTsharkGroup merges a group, runs tshark once and splits the streams
// back per capture. It returns false when the split is not clean.
// bad marks the captures at fault when the split fails.
func runTsharkGroup(tshark, mergecap, merged string, g []*capture, counts map[string]int) (bad map[int]bool, err error) {
	all := map[int]bool{}
	for i := range g {
		all[i] = true
	}
	args := []string{"-a", "-I", "none", "-F", "pcapng", "-w", merged}
	for _, c := range g {
		args = append(args, c.path)
	}
	if out, err := exec.Command(mergecap, args...).CombinedOutput(); err != nil {
		return all, fmt.Errorf("mergecap: %v: %s", err, firstLine(string(out)))
	}
	defer os.Remove(merged)
	out, stderr, err := runTshark(tshark, merged)
	if err != nil {
		return all, fmt.Errorf("tshark: %v: %s", err, firstLine(stderr))
	}
	streams, err := ParseTshark(out)
	if err != nil {
		return all, err
	}
	// File i holds merged frames (offset[i], offset[i]+count].
	offsets := make([]int, len(g)+1)
	for i, c := range g {
		offsets[i+1] = offsets[i] + counts[c.path]
	}
	fileOf := func(frame int) int {
		i := sort.SearchInts(offsets[1:], frame) // first i with offsets[i+1] >= frame
		if i >= len(g) || frame <= offsets[i] {
			return -1
		}
		return i
	}
	per := make([][]*Stream, len(g))
	for _, s := range streams {
		i := fileOf(s.Packets[0].Frame)
		if i < 0 {
			return all, fmt.Errorf("frame %d beyond the %d packets capinfos counted", s.Packets[0].Frame, offsets[len(g)])
		}
		for k := range s.Packets {
			if j := fileOf(s.Packets[k].Frame); j != i {
				return map[int]bool{i: true, j: true}, fmt.Errorf("stream %d (%s) spans %s and another capture", s.ID, s.Tuple, g[i].label)
			}
			s.Packets[k].Frame -= offsets[i]
		}
		per[i] = append(per[i], s)
	}
	for i, ss := range per {
		if len(ss) == 0 {
			continue
		}
		base := ss[0].ID
		for k, s := range ss {
			if s.ID != base+k {
				return all, fmt.Errorf("%s: stream numbers not contiguous", g[i].label)
			}
			s.ID -= base
		}
	}
	for i, ss := range per {
		g[i].streams = ss
	}
	return nil, nil
}

var tcptraceConn = regexp.MustCompile(`^\s*\d+: .*\((\w+)\)\s*$`)

// logTcptrace logs where tcptrace -n's count of complete connections
// differs from hsanalyze's complete flows. Information only.
func logTcptrace(t *testing.T, tcptrace string, caps []*capture) {
	var mu sync.Mutex
	var lines []string
	var read, same int
	var todo []*capture
	for _, c := range caps {
		if c.skip == "" {
			todo = append(todo, c)
		}
	}
	parallel(todo, func(c *capture) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, _ := exec.CommandContext(ctx, tcptrace, "-n", c.path).Output()
		if !bytes.Contains(out, []byte("TCP connection info:")) && !bytes.Contains(out, []byte("TCP packets traced")) {
			return // tcptrace cannot read this link type or format
		}
		status := map[string]int{}
		conns := 0
		for _, l := range strings.Split(string(out), "\n") {
			if m := tcptraceConn.FindStringSubmatch(l); m != nil {
				status[m[1]]++
				conns++
			}
		}
		hs := map[string]int{}
		for _, f := range c.report.Flows {
			hs[f.Verdict]++
		}
		mu.Lock()
		defer mu.Unlock()
		read++
		if status["complete"] == hs["complete"] && conns == len(c.report.Flows) {
			same++
			return
		}
		lines = append(lines, fmt.Sprintf("%s: tcptrace %d connections (%d complete, %d reset); hsanalyze %d flows (%d complete, %d refused)",
			c.label, conns, status["complete"], status["reset"], len(c.report.Flows), hs["complete"], hs["refused"]))
	})
	sort.Strings(lines)
	t.Logf("tcptrace -n read %d captures; connection and complete counts equal hsanalyze's in %d (tcptrace's \"complete\" means SYN and FIN both ways, not the handshake; see %s)", read, same, allowFile)
	if testing.Verbose() {
		for _, l := range lines {
			t.Log("tcptrace: " + l)
		}
	}
}
