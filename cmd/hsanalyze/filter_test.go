package main

import (
	"strings"
	"testing"
)

// TestFiltersPeopleType runs the built command with the filters the issue
// names: the time of day the table prints, durations, comma lists, an
// inverted window (a usage error) and the summary naming what is active.
func TestFiltersPeopleType(t *testing.T) {
	mix := pcap("mix-200.pcap") // 200 attempts 1 ms apart from 10:00:00.000 UTC
	count := func(t *testing.T, args ...string) (int, jsonReport) {
		t.Helper()
		r := runBuilt(t, nil, append([]string{"--format", "json", mix}, args...)...)
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("%v: exit %d stderr %q", args, r.code, r.stderr)
		}
		rep := decodeJSON(t, r.stdout)
		return len(rep.Flows), rep
	}
	t.Run("time of day as the table prints it", func(t *testing.T) {
		n, _ := count(t, "--since", "10:00:00.1", "--until", "10:00:00.149")
		m, _ := count(t, "--since", "10:00:00.100000", "--until", "10:00:00.149000")
		o, _ := count(t, "--since", "100ms", "--until", "149ms")
		z, _ := count(t, "--since", "12:00:00.1+02:00", "--until", "12:00:00.149+02:00")
		if n != 50 || m != 50 || o != 50 || z != 50 {
			t.Errorf("flows %d, %d, %d, %d; want 50 for each spelling of 10:00:00.100-.149", n, m, o, z)
		}
	})
	t.Run("comma lists", func(t *testing.T) {
		both, _ := count(t, "--port", "80,443")
		a, _ := count(t, "--port", "80")
		b, _ := count(t, "--port", "443")
		if both != a+b || a == 0 || b == 0 {
			t.Errorf("--port 80,443: %d flows, want %d+%d", both, a, b)
		}
		hosts, _ := count(t, "--host", "192.0.2.1,192.0.2.2")
		nets, _ := count(t, "--net", "192.0.2.1/32,192.0.2.2/32")
		if hosts == 0 || hosts != nets {
			t.Errorf("--host list %d flows, --net list %d", hosts, nets)
		}
	})
	t.Run("summary names the filters", func(t *testing.T) {
		_, rep := count(t, "--port", "80,443", "--since", "10:00:00.1")
		got := strings.Join(rep.Summary.Filters, "; ")
		if got != "port 80,443; since 10:00:00.1 (2026-11-24T10:00:00.1Z)" {
			t.Errorf("summary.filters %q", got)
		}
		table := runBuilt(t, nil, mix, "--verdict", "refused", "--port", "80,443")
		if !strings.Contains(table.stdout, "\nFilters:       verdict refused; port 80,443 ") {
			t.Errorf("table summary lacks the filters:\n%s", table.stdout)
		}
		if _, rep := count(t); len(rep.Summary.Filters) != 0 {
			t.Errorf("no filter given, summary.filters %q", rep.Summary.Filters)
		}
	})
	for _, args := range [][]string{
		{"--since", "150ms", "--until", "100ms"},
		{"--since", "100ms", "--until", "100ms"},
		{"--since", "10:00:01", "--until", "10:00:00.5"},
		{"--since", "10:00:00.5", "--until", "100ms"}, // ordered once the capture's start is known
	} {
		t.Run("empty window "+strings.Join(args, " "), func(t *testing.T) {
			r := runBuilt(t, nil, append([]string{mix}, args...)...)
			if r.code != exitError || r.stdout != "" || !strings.Contains(r.stderr, "is not before --until") {
				t.Errorf("exit %d stdout %q stderr %q, want a usage error", r.code, r.stdout, r.stderr)
			}
		})
	}
}
