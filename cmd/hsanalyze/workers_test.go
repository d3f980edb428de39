package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/internal/scenarios"
)

// TestWorkersSameReport: every format prints the same bytes with one
// goroutine, the default and three, on a mix of every verdict large
// enough for several batches and chunks (the unit tests cover the layouts
// and formatters one by one; this is the command as users run it).
func TestWorkersSameReport(t *testing.T) {
	// Several goroutines only with GOMAXPROCS above 1 (see
	// analyze.Options.Workers).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	data, _, err := scenarios.MixPcap(3000)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "mix.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--format", "table"},
		{"--format", "table", "--all"},
		{"--format", "json"},
		{"--format", "ndjson"},
		{"--format", "csv"},
		{"--format", "zeek"},
		{"--format", "zeek-json"},
		{"--format", "junit"},
	} {
		var want string
		for _, workers := range []string{"1", "0", "3"} {
			var stdout, stderr bytes.Buffer
			argv := append(append([]string{"--workers", workers}, args...), path)
			code := run(argv, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
			if code != exitOK && code != exitFailOn {
				t.Fatalf("%v: exit %d: %s", argv, code, stderr.String())
			}
			if workers == "1" {
				want = stdout.String()
				if len(want) < 1000 {
					t.Fatalf("%v: only %d bytes of report", argv, len(want))
				}
			} else if stdout.String() != want {
				t.Errorf("%v: another report than with --workers 1", argv)
			}
		}
	}
}
