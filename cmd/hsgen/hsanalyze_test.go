package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestHsanalyzeMatchesExpect builds hsanalyze, runs it with --format json
// on a generated capture of about 2000 flows, and compares its summary
// with the sidecar exactly. It skips while hsanalyze does not print the
// CONTRACT.md JSON object with a "summary" yet.
func TestHsanalyzeMatchesExpect(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hsanalyze; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build hsanalyze")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hsanalyze")
	build := exec.Command(goTool, "build", "-o", bin, "github.com/hsanalyze/hsanalyze/cmd/hsanalyze")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build hsanalyze: %v\n%s", err, out)
	}

	for sh := range numShapes {
		t.Run(sh.String(), func(t *testing.T) {
			p := params{flows: 2000, concurrency: 200, seed: 3, lifetime: 4 * time.Second, shape: sh}
			compareSummary(t, bin, dir, p)
		})
	}
}

// compareSummary runs hsanalyze bin on the capture for p and compares its
// summary with the sidecar.
func compareSummary(t *testing.T, bin, dir string, p params) {
	capture := filepath.Join(dir, p.shape.String()+".pcap")
	exp, err := writeCapture(capture, nil, false, p)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "--format", "json", capture)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hsanalyze --format json: %v\n%s", err, stderr.String())
	}
	var got struct {
		Summary *Summary `json:"summary"`
	}
	if json.Unmarshal(stdout.Bytes(), &got) != nil || got.Summary == nil {
		t.Skipf("hsanalyze --format json does not print a JSON summary yet; it printed %.200q", stdout.String())
	}
	if *got.Summary != exp.Summary {
		// Keep the capture for a look with tshark or hsanalyze.
		keep := filepath.Join(os.TempDir(), "hsgen-mismatch.pcap")
		if data, err := os.ReadFile(capture); err == nil && os.WriteFile(keep, data, 0o644) == nil {
			t.Logf("capture kept as %s (hsgen -shape %s -flows 2000 -concurrency 200 -seed 3 rewrites it)", keep, p.shape)
		}
		t.Errorf("hsanalyze's summary differs from hsgen's sidecar:\nhsanalyze %+v\nsidecar   %+v\nper template: %v",
			*got.Summary, exp.Summary, exp.Templates)
	}
}
