package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGroupBy runs the built command's grouped tables: one row per server,
// client or server port with counts per verdict and SYN→SYN-ACK
// percentiles, most failed attempts first; the counts add up to the
// summary's.
func TestGroupBy(t *testing.T) {
	mix := pcap("mix-200.pcap")
	out := runBuilt(t, nil, "--group-by", "port", mix).stdout
	rows := map[string][]string{}
	var order []string
	for _, l := range strings.Split(out, "\n") {
		cells := strings.Split(l, "│")
		if len(cells) == 11 && strings.TrimSpace(cells[1]) != "port" {
			k := strings.TrimSpace(cells[1])
			rows[k] = cells
			order = append(order, k)
		}
	}
	if len(rows) != 3 || rows["80"] == nil || rows["443"] == nil || rows["22"] == nil {
		t.Fatalf("rows %v:\n%s", order, out)
	}
	total := 0
	for _, c := range rows {
		total += atoiT(t, strings.TrimSpace(c[2]))
		if strings.TrimSpace(c[8]) != "0.100 ms" {
			t.Errorf("p50 %q, want 0.100 ms", c[8])
		}
	}
	if total != 200 {
		t.Errorf("attempts add up to %d, want 200", total)
	}
	if order[0] != "22" { // 22 has the most failed attempts (26+10+15)
		t.Errorf("first group %s, want 22:\n%s", order[0], out)
	}
	// A scan: grouped by client, the scanner is one row.
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run hsgen")
	}
	scan := filepath.Join(t.TempDir(), "scan.pcap")
	if b, err := exec.Command(gocmd, "run", "../hsgen", "-shape", "scan", "-flows", "3000", "-q", "-o", scan).CombinedOutput(); err != nil {
		t.Fatalf("hsgen: %v %s", err, b)
	}
	out = runBuilt(t, nil, "--group-by", "client", scan).stdout
	if !strings.Contains(out, "Attempts by client (1 groups") || !strings.Contains(out, "│ 10.66.0.1 │ 3000     │ 0        │ 750       │ 2250    │") {
		t.Errorf("scan by client:\n%s", out)
	}
	if r := runBuilt(t, nil, "--group-by", "vlan", mix); r.code != exitError {
		t.Errorf("--group-by vlan: exit %d", r.code)
	}
	if r := runBuilt(t, nil, "--group-by", "server", "--format", "json", mix); r.code != exitError {
		t.Errorf("--group-by with json: exit %d", r.code)
	}
}

func atoiT(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("%q is not a count", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
