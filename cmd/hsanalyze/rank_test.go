package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRanking runs the built command's default table: flows that need
// attention are listed most severe first (malformed, refused, half_open,
// midstream), the rest is aggregated per verdict with its top server, and
// the summary names the clients with most failures (a scanner).
func TestRanking(t *testing.T) {
	out := runBuilt(t, nil, pcap("mix-200.pcap")).stdout
	var verdicts []string
	for _, l := range strings.Split(out, "\n") {
		if cells := strings.Split(l, "│"); len(cells) > 5 && strings.HasPrefix(cells[1], " 10:") {
			verdicts = append(verdicts, strings.TrimSpace(cells[4]))
		}
	}
	rank := map[string]int{"malformed": 0, "refused": 1, "half_open": 2, "midstream": 3}
	if len(verdicts) != 50 || verdicts[0] != "malformed" {
		t.Fatalf("%d rows, first %q", len(verdicts), verdicts)
	}
	for i := 1; i < len(verdicts); i++ {
		if rank[verdicts[i]] < rank[verdicts[i-1]] {
			t.Errorf("row %d %s after %s", i+1, verdicts[i], verdicts[i-1])
		}
	}
	for _, want := range []string{
		"\n… 1 more malformed\n",
		"\n… 30 more refused, 4 of them to 198.51.100.3:443\n",
		"\n… 64 more half_open, 6 of them to 198.51.100.3:22\n",
		"\n… 30 more midstream, 4 of them to 198.51.100.4:80\n",
		"\nTop clients by failed attempts: 192.0.2.1 ×4, ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}

	// A port scan: the scanner is named, and the cut rows are its
	// target's.
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run hsgen")
	}
	scan := filepath.Join(t.TempDir(), "scan.pcap")
	if b, err := exec.Command(gocmd, "run", "../hsgen", "-shape", "scan", "-flows", "3000", "-q", "-o", scan).CombinedOutput(); err != nil {
		t.Fatalf("hsgen: %v %s", err, b)
	}
	out = runBuilt(t, nil, scan).stdout
	for _, want := range []string{"\nTop clients by failed attempts: 10.66.0.1 ×3000\n", "\n… 2,200 more refused", "\n… 750 more half_open"} {
		if !strings.Contains(out, want) {
			t.Errorf("scan table lacks %q:\n%s", want, out)
		}
	}
}
