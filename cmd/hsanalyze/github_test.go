package main

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// TestGitHubAnnotations: with GITHUB_ACTIONS=true the --fail-on matches
// become ::error annotations, aggregated so that GitHub's limit of 10 per
// step still accounts for every failing attempt, and the job summary is
// appended to $GITHUB_STEP_SUMMARY.
func TestGitHubAnnotations(t *testing.T) {
	// 12 captures of one malformed and one half-open attempt each: 24
	// groups (file, verdict, anomaly), more than the 10 annotations GitHub
	// shows per step.
	dir := t.TempDir()
	var files []string
	for i := range 12 {
		name := filepath.Join(dir, fmt.Sprintf("capture-%02d.pcap", i))
		f, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w, err := pcapgen.NewWriter(f, false)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 11, 24, 10, 0, i, 0, time.UTC)
		c1 := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(41000+2*i))
		c2 := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), uint16(41001+2*i))
		s := netip.MustParseAddrPort("198.51.100.2:80")
		for _, sg := range []pcapgen.Seg{
			{Time: t0, Src: c1, Dst: s, Seq: 1000, Flags: pcapgen.SYN},
			{Time: t0.Add(time.Millisecond), Src: s, Dst: c1, Seq: 5000, Ack: 1002, Flags: pcapgen.SYN | pcapgen.ACK},
			{Time: t0.Add(2 * time.Millisecond), Src: c2, Dst: s, Seq: 3000, Flags: pcapgen.SYN},
		} {
			if err := w.Write(sg); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		files = append(files, name)
	}
	summary := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(summary, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--format", "json", "--fail-on", "malformed,half_open"}, files...)
	r := runCLI(t, nil, map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}, args...)
	if r.code != exitFailOn {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	var annotations []string
	for _, l := range lines {
		if strings.HasPrefix(l, "::error ") {
			annotations = append(annotations, l)
		} else if !strings.HasPrefix(l, "hsanalyze: --fail-on matched: ") {
			t.Errorf("stderr line %q", l)
		}
	}
	if len(annotations) != 10 || !strings.Contains(annotations[9], "more attempts in") {
		t.Fatalf("%d annotations, want 9 groups and a 10th for the rest:\n%s", len(annotations), r.stderr)
	}
	// Every failing attempt is counted once across the annotations.
	count := regexp.MustCompile(`title=hsanalyze%3A (\d+) `)
	total := 0
	for _, a := range annotations {
		m := count.FindStringSubmatch(a)
		if m == nil {
			t.Fatalf("annotation without a count: %q", a)
		}
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	failing := 0
	for _, f := range decodeJSON(t, r.stdout).Flows {
		if f.Verdict == "malformed" || f.Verdict == "half_open" {
			failing++
		}
	}
	if total != failing || failing != 24 {
		t.Errorf("annotations count %d attempts, %d failed", total, failing)
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"earlier step\n## hsanalyze: TCP handshakes", "| malformed |", "### Top anomalies", "### First failing attempts", "--fail-on matched"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("job summary lacks %q:\n%s", want, md)
		}
	}

	// --github without the environment prints the annotations too; no
	// summary file is written without $GITHUB_STEP_SUMMARY.
	r = runCLI(t, nil, nil, "--github", "--fail-on", "malformed", pcap("ack-wrong-ack.pcap"))
	if r.code != exitFailOn || !strings.HasPrefix(r.stderr, "::error file=") {
		t.Errorf("--github: exit %d stderr %q", r.code, r.stderr)
	}
	// Without GitHub, no workflow commands.
	r = runCLI(t, nil, nil, "--fail-on", "malformed", pcap("ack-wrong-ack.pcap"))
	if strings.Contains(r.stderr, "::") {
		t.Errorf("workflow commands outside GitHub: %q", r.stderr)
	}
}

// TestQuietMachineFormats: -q prints the summary only.
func TestQuietMachineFormats(t *testing.T) {
	for _, format := range []string{"json", "ndjson", "csv"} {
		r := runCLI(t, nil, nil, "-q", "--format", format, pcap("mix-200.pcap"))
		if r.code != exitOK || strings.Contains(r.stdout, "client_ip") || !strings.Contains(r.stdout, "half_open") {
			t.Errorf("-q --format %s: exit %d\n%s", format, r.code, r.stdout)
		}
		if n := strings.Count(strings.TrimSuffix(r.stdout, "\n"), "\n"); format != "csv" && n != 0 || format == "csv" && n != 1 {
			t.Errorf("-q --format %s: %d lines", format, n+1)
		}
	}
	if r := runCLI(t, nil, nil, "-q", "--format", "json", pcap("mix-200.pcap")); !strings.HasPrefix(r.stdout, `{"summary":{"packets":551,`) {
		t.Errorf("-q json: %s", r.stdout)
	}
	for _, format := range []string{"zeek", "zeek-json", "junit"} {
		if r := runCLI(t, nil, nil, "-q", "--format", format, pcap("mix-200.pcap")); r.code != exitError {
			t.Errorf("-q --format %s: exit %d, want a usage error", format, r.code)
		}
	}
}

func TestVersionInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef"},
		{Key: "vcs.time", Value: "2026-12-01T20:00:00Z"}, {Key: "vcs.modified", Value: "true"},
	}}
	if got, want := versionOf(bi), "(devel) git 0123456789abcdef 2026-12-01T20:00:00Z (modified), go1.25.0"; got != want {
		t.Errorf("versionOf = %q, want %q", got, want)
	}
	bi.Settings = nil
	if got := versionOf(bi); got != "(devel), go1.25.0" {
		t.Errorf("without VCS: %q", got)
	}
	// A binary built from a git checkout carries the revision.
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if fi, err := os.Stat("../../.git"); err != nil || !fi.IsDir() {
		t.Skip("not a plain git checkout (the go command does not stamp builds in a git worktree)")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git to stamp the build with")
	}
	bin := filepath.Join(t.TempDir(), "hsanalyze")
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := exec.Command(bin, "--version").Output()
	if out := string(b); err != nil || !regexp.MustCompile(`^hsanalyze \S+ git [0-9a-f]{40} \d{4}-\d\d-\d\dT`).MatchString(out) {
		t.Errorf("--version: %v %q, want the git revision and date", err, out)
	}
}
