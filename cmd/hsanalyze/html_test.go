package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestHTMLFormat checks that --format html writes one page with the same
// verdict counts as the JSON summary, and honours the filters.
func TestHTMLFormat(t *testing.T) {
	js := decodeJSON(t, runCLI(t, nil, nil, "--format", "json", "--verdict", "malformed,refused", pcap("mix-200.pcap")).stdout)
	r := runCLI(t, nil, nil, "--format", "html", "--verdict", "malformed,refused", pcap("mix-200.pcap"))
	if r.code != exitOK || !strings.HasPrefix(r.stdout, "<!DOCTYPE html>") {
		t.Fatalf("exit %d, stderr %q, output starts %.40q", r.code, r.stderr, r.stdout)
	}
	for _, c := range []struct {
		verdict string
		n       uint64
	}{{"malformed", js.Summary.Malformed}, {"refused", js.Summary.Refused}, {"complete", 0}} {
		cell := `data-verdict="` + c.verdict + `">`
		i := strings.Index(r.stdout, cell)
		if i < 0 || !strings.HasPrefix(r.stdout[i+len(cell):], strconv.FormatUint(c.n, 10)+"<") {
			t.Errorf("%s: page does not show %d", c.verdict, c.n)
		}
	}
}

// TestHTMLRefusesTerminal checks the hint when stdout is a terminal.
func TestHTMLRefusesTerminal(t *testing.T) {
	tty := openTerminal(t)
	var stderr strings.Builder
	code := run([]string{"--format", "html", pcap("mix-200.pcap")}, strings.NewReader(""), tty, &stderr, func(string) string { return "" })
	if code != exitError || !strings.Contains(stderr.String(), "-o report.html") {
		t.Errorf("exit %d, stderr %q: want 2 and a hint to redirect", code, stderr.String())
	}
}

// --flow prints a timeline; with html it is a usage error.
func TestHTMLWithFlowIsUsageError(t *testing.T) {
	r := runCLI(t, nil, nil, "--format", "html", "--flow", "192.0.2.1:1-192.0.2.2:2", pcap("mix-200.pcap"))
	if r.code != exitError || !strings.Contains(r.stderr, "--flow") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}

// TestHTMLOutputFile checks that -o writes the page to a file, also when
// standard output is a terminal.
func TestHTMLOutputFile(t *testing.T) {
	tty := openTerminal(t)
	path := t.TempDir() + "/report.html"
	var stderr strings.Builder
	code := run([]string{"--format", "html", "-o", path, pcap("mix-200.pcap")}, strings.NewReader(""), tty, &stderr, func(string) string { return "" })
	b, err := os.ReadFile(path)
	if code != exitOK || err != nil || !strings.HasPrefix(string(b), "<!DOCTYPE html>") || !strings.HasSuffix(string(b), "</html>\n") {
		t.Errorf("exit %d, stderr %q, read %v, %d bytes", code, stderr.String(), err, len(b))
	}
}
