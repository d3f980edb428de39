package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// daskPython returns a python3 that has Dask's distributed scheduler, or
// skips the test (fails it in CI, where .ci/run installs it).
func daskPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import distributed").Run() == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("python3 with Dask distributed is missing in CI (.ci/run installs python3-distributed)")
	}
	t.Skip("no python3 with Dask distributed (apt-get install python3-distributed)")
	return ""
}

// buildBinary builds hsanalyze into dir for a test that runs it as a
// program.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "hsanalyze")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestDaskLocalCluster runs scripts/hsanalyze-dask with a LocalCluster of
// two worker processes on a capture split in four, and checks that its
// report is byte for byte that of one run over the parts.
func TestDaskLocalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Dask cluster")
	}
	py := daskPython(t)
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	parts := splitPcap(t, pcap("mix-200.pcap"), dir, 140)
	for _, args := range [][]string{
		{"--format", "json"},
		{"--fail-on", "malformed", "--verdict", "malformed,half_open", "--idle-timeout", "90s"},
	} {
		script := append([]string{"../../scripts/hsanalyze-dask", "--local", "2", "--hsanalyze", bin}, args...)
		cmd := exec.Command(py, append(script, parts...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		want := runCLI(t, nil, nil, append(append([]string{"--jobs", "1"}, args...), parts...)...)
		if code != want.code || stdout.String() != want.stdout {
			t.Errorf("hsanalyze-dask %q: exit %d (one run %d), stderr:\n%s\n%s", args, code, want.code, stderr.String(), firstDiff(want.stdout, stdout.String()))
		}
	}
}
