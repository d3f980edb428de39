package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOutputFile checks -o for every format: the file holds exactly what
// standard output would, standard output stays empty, and the exit status
// is the same.
func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []string{"table", "json", "ndjson", "csv"} {
		t.Run(format, func(t *testing.T) {
			want := runCLI(t, nil, nil, "--format", format, "--fail-on", "malformed", pcap("mix-200.pcap"))
			out := filepath.Join(dir, "report."+format)
			got := runCLI(t, nil, nil, "--format", format, "--fail-on", "malformed", "-o", out, pcap("mix-200.pcap"))
			if got.code != want.code || got.code != exitFailOn {
				t.Errorf("exit %d with -o, %d without; want %d", got.code, want.code, exitFailOn)
			}
			if got.stdout != "" {
				t.Errorf("-o also wrote to stdout:\n%s", got.stdout)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != want.stdout || len(b) == 0 {
				t.Errorf("file differs from stdout (%d vs %d bytes)", len(b), len(want.stdout))
			}
		})
	}
	t.Run("dash is stdout", func(t *testing.T) {
		r := runCLI(t, nil, nil, "-q", "-o", "-", pcap("mix-200.pcap"))
		if r.code != exitOK || !strings.Contains(r.stdout, "Flows:") {
			t.Errorf("exit %d, stdout:\n%s", r.code, r.stdout)
		}
	})
	t.Run("timeline", func(t *testing.T) {
		out := filepath.Join(dir, "timeline.txt")
		r := runCLI(t, nil, nil, "--flow", "192.0.2.1:40000-198.51.100.2:80", "-o", out, pcap("synack-wrong-ack.pcap"))
		b, _ := os.ReadFile(out)
		if r.code != exitOK || r.stdout != "" || !strings.Contains(string(b), "synack_wrong_ack") {
			t.Errorf("exit %d, stdout %q, file:\n%s", r.code, r.stdout, b)
		}
	})
}

// TestOutputFileErrors checks that an unwritable -o exits 2 naming the
// file, and that a run that fails keeps the previous file untouched and
// leaves no temporary file behind.
func TestOutputFileErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "dir", "r.json")
	r := runCLI(t, nil, nil, "-o", missing, pcap("mix-200.pcap"))
	if r.code != exitError || !strings.Contains(r.stderr, missing) {
		t.Errorf("exit %d, stderr %q; want 2 naming %s", r.code, r.stderr, missing)
	}

	out := filepath.Join(dir, "r.json")
	if err := os.WriteFile(out, []byte("previous\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, nil, "--format", "json", "-o", out, filepath.Join(dir, "absent.pcap"))
	if r.code != exitError {
		t.Errorf("exit %d for an absent capture, want 2", r.code)
	}
	if b, _ := os.ReadFile(out); string(b) != "previous\n" {
		t.Errorf("a failed run changed the report file to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
