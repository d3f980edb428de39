package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/report"
)

// pcap names a scenario capture of testdata/pcaps.
func pcap(name string) string { return filepath.Join("../../testdata/pcaps", name) }

// cliResult is what one run of the command produced.
type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command on args with stdin and the environment env.
func runCLI(t *testing.T, stdin io.Reader, env map[string]string, args ...string) cliResult {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	code := run(args, stdin, &stdout, &stderr, func(k string) string { return env[k] })
	return cliResult{code, stdout.String(), stderr.String()}
}

// decodeJSON decodes a --format json report.
func decodeJSON(t *testing.T, out string) jsonReport {
	t.Helper()
	var rep jsonReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	return rep
}

// flowKey identifies a flow across runs.
func flowKey(f jsonFlow) string {
	return f.client() + " " + f.ServerIP + " " + f.FirstTS + " " + f.Verdict
}

func keys(flows []jsonFlow) []string {
	var k []string
	for _, f := range flows {
		k = append(k, flowKey(f))
	}
	return k
}

// TestFormats runs each format on a scenario capture and checks the shape
// of stdout; stderr stays empty and the exit status is 0.
func TestFormats(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, out string)
	}{
		{"mix-200.pcap --format json", []string{"--format", "json", pcap("mix-200.pcap")}, func(t *testing.T, out string) {
			rep := decodeJSON(t, out)
			s := rep.Summary
			if len(rep.Flows) != 200 || s.Flows != 200 || s.Complete != 25 || s.HalfOpen != 64 || s.Refused != 30 || s.Malformed != 51 || s.Midstream != 30 {
				t.Errorf("%d flows, summary %+v; want 200 flows: 25 complete, 64 half_open, 30 refused, 51 malformed, 30 midstream", len(rep.Flows), s)
			}
			if !slices.IsSortedFunc(rep.Flows, func(a, b jsonFlow) int { return strings.Compare(a.FirstTS, b.FirstTS) }) {
				t.Error("flows not in first_ts order")
			}
		}},
		{"mix-200.pcap --format ndjson", []string{"--format", "ndjson", pcap("mix-200.pcap")}, func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			n := 0
			for i, l := range lines {
				var m map[string]json.RawMessage
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("line %d is not one JSON object: %v\n%s", i+1, err, l)
				}
				if _, ok := m["summary"]; ok {
					continue // allowed, not required
				}
				var f jsonFlow
				if err := json.Unmarshal([]byte(l), &f); err != nil || f.Verdict == "" || f.ClientIP == "" {
					t.Errorf("line %d is not a flow: %v\n%s", i+1, err, l)
				}
				n++
			}
			if n != 200 {
				t.Errorf("%d flow lines, want 200", n)
			}
		}},
		{"refused.pcap --format csv", []string{"--format", "csv", pcap("refused.pcap")}, func(t *testing.T, out string) {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rows[0], report.Columns()) || !slices.Equal(rows[0][:12], []string{"client_ip", "client_port", "server_ip", "server_port", "verdict", "anomalies", "client_isn", "server_isn", "evidence", "first_ts", "syn_to_synack_ms", "synack_to_ack_ms"}) {
				t.Errorf("header %q", rows[0])
			}
			if len(rows) != 2 || rows[1][4] != "refused" || rows[1][0] != "192.0.2.1" {
				t.Errorf("rows %q, want one refused flow from 192.0.2.1", rows[1:])
			}
		}},
		{"synack-wrong-ack.pcap --format table", []string{"--format", "table", pcap("synack-wrong-ack.pcap")}, func(t *testing.T, out string) {
			if !strings.Contains(out, "malformed") || !strings.Contains(out, "synack_wrong_ack") {
				t.Errorf("table lacks the malformed flow:\n%s", out)
			}
		}},
		{"synack-wrong-ack.pcap (table by default)", []string{pcap("synack-wrong-ack.pcap")}, func(t *testing.T, out string) {
			if !strings.Contains(out, "synack_wrong_ack") || json.Valid([]byte(out)) {
				t.Errorf("default format is not the table:\n%s", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, nil, tt.args...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			tt.check(t, r.stdout)
		})
	}
}

// TestFailOn checks the exit status --fail-on gives, with the report still
// printed.
func TestFailOn(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   int
		stderr string // the one line when it matched
	}{
		{"ack-wrong-ack.pcap --fail-on malformed", []string{pcap("ack-wrong-ack.pcap"), "--fail-on", "malformed"}, exitFailOn, "malformed 1"},
		{"complete-v4.pcap --fail-on malformed", []string{pcap("complete-v4.pcap"), "--fail-on", "malformed"}, exitOK, ""},
		{"refused.pcap --fail-on half_open,refused", []string{pcap("refused.pcap"), "--fail-on", "half_open,refused"}, exitFailOn, "refused 1"},
		// --fail-on judges the selected flows only.
		{"mix-200.pcap --verdict complete --fail-on malformed", []string{pcap("mix-200.pcap"), "--verdict", "complete", "--fail-on", "malformed"}, exitOK, ""},
		// Thresholds: mix-200 has 51 malformed and 64 half_open of 200.
		{"mix-200.pcap --fail-on malformed>51", []string{pcap("mix-200.pcap"), "--fail-on", "malformed>51"}, exitOK, ""},
		{"mix-200.pcap --fail-on malformed>50", []string{pcap("mix-200.pcap"), "--fail-on", "malformed>50"}, exitFailOn, "malformed 51 > 50"},
		{"mix-200.pcap --fail-on half_open>32%", []string{pcap("mix-200.pcap"), "--fail-on", "half_open>32%"}, exitOK, ""},
		{"mix-200.pcap --fail-on half_open>31.5%", []string{pcap("mix-200.pcap"), "--fail-on", "half_open>31.5%"}, exitFailOn, "half_open 64 of 200 (32.0%) > 31.5%"},
		{"mix-200.pcap --fail-on malformed,half_open>2%", []string{pcap("mix-200.pcap"), "--fail-on", "malformed,half_open>2%"}, exitFailOn, "malformed 51; half_open 64 of 200 (32.0%) > 2%"},
	}
	// mix-200 has flows of every verdict: each name is accepted and matches.
	for _, v := range verdictNames {
		n := map[string]string{"complete": "25", "half_open": "64", "refused": "30", "malformed": "51", "midstream": "30"}[v]
		tests = append(tests, struct {
			name   string
			args   []string
			want   int
			stderr string
		}{"mix-200.pcap --fail-on " + v, []string{pcap("mix-200.pcap"), "--fail-on", v}, exitFailOn, v + " " + n})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, format := range []string{"json", "table", "ndjson", "csv", "zeek", "zeek-json", "junit", "html"} {
				r := runCLI(t, nil, nil, append(tt.args, "--format", format)...)
				want := ""
				if tt.stderr != "" {
					want = "hsanalyze: --fail-on matched: " + tt.stderr + "\n"
				}
				if r.code != tt.want || r.stderr != want {
					t.Errorf("--format %s: exit %d stderr %q, want exit %d and stderr %q", format, r.code, r.stderr, tt.want, want)
				}
				switch format {
				case "json":
					if rep := decodeJSON(t, r.stdout); len(rep.Flows) == 0 {
						t.Error("no flows printed")
					}
				case "table":
					if !strings.Contains(r.stdout, "Flows:") {
						t.Errorf("no report printed:\n%s", r.stdout)
					}
				default:
					if len(r.stdout) == 0 {
						t.Errorf("--format %s printed nothing", format)
					}
				}
			}
		})
	}
}

func TestFailOnErrors(t *testing.T) {
	for _, arg := range []string{"malformed>", "malformed>x", "half_open>100%", "half_open>-1%", "broken>2", "half_open>2%%"} {
		r := runCLI(t, nil, nil, pcap("mix-200.pcap"), "--fail-on", arg)
		if r.code != exitError || !strings.Contains(r.stderr, "hsanalyze: ") || r.stdout != "" {
			t.Errorf("--fail-on %s: exit %d stdout %q stderr %q, want a usage error", arg, r.code, r.stdout, r.stderr)
		}
	}
}

func TestFilters(t *testing.T) {
	type pred func(f jsonFlow) bool
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) // both captures start here
	in := func(ip string, p netip.Prefix) bool { return p.Contains(netip.MustParseAddr(ip)) }
	tests := []struct {
		name string
		file string
		args []string
		want pred
		n    int // expected count, -1 when only the predicate decides
	}{
		{"mix-200.pcap --verdict malformed", "mix-200.pcap", []string{"--verdict", "malformed"}, func(f jsonFlow) bool { return f.Verdict == "malformed" }, 51},
		{"mix-200.pcap --verdict half_open,refused", "mix-200.pcap", []string{"--verdict", "half_open,refused"}, func(f jsonFlow) bool { return f.Verdict == "half_open" || f.Verdict == "refused" }, 94},
		{"mix-200.pcap --host 192.0.2.1", "mix-200.pcap", []string{"--host", "192.0.2.1"}, func(f jsonFlow) bool { return f.ClientIP == "192.0.2.1" || f.ServerIP == "192.0.2.1" }, 4},
		{"mix-200.pcap --host 198.51.100.2", "mix-200.pcap", []string{"--host", "198.51.100.2"}, func(f jsonFlow) bool { return f.ClientIP == "198.51.100.2" || f.ServerIP == "198.51.100.2" }, 29},
		{"mix-200.pcap --net 198.51.100.0/30", "mix-200.pcap", []string{"--net", "198.51.100.0/30"}, func(f jsonFlow) bool {
			p := netip.MustParsePrefix("198.51.100.0/30")
			return in(f.ClientIP, p) || in(f.ServerIP, p)
		}, -1},
		{"mix-200.pcap --port 443", "mix-200.pcap", []string{"--port", "443"}, func(f jsonFlow) bool { return f.ServerPort == 443 || f.ClientPort == 443 }, 66},
		{"mix-200.pcap --port 22 --verdict complete", "mix-200.pcap", []string{"--port", "22", "--verdict", "complete"}, func(f jsonFlow) bool {
			return (f.ServerPort == 22 || f.ClientPort == 22) && f.Verdict == "complete"
		}, -1},
		{"mix-200.pcap --since 150ms", "mix-200.pcap", []string{"--since", "150ms"}, func(f jsonFlow) bool { return !ts(f.FirstTS).Before(start.Add(150 * time.Millisecond)) }, 50},
		{"mix-200.pcap --until 2026-11-24T10:00:00.049Z", "mix-200.pcap", []string{"--until", "2026-11-24T10:00:00.049Z"}, func(f jsonFlow) bool { return !ts(f.FirstTS).After(start.Add(49 * time.Millisecond)) }, 50},
		{"mix-200.pcap --since 10ms --until 2026-11-24T10:00:00.019Z", "mix-200.pcap", []string{"--since", "10ms", "--until", "2026-11-24T10:00:00.019Z"}, func(f jsonFlow) bool {
			t := ts(f.FirstTS)
			return !t.Before(start.Add(10*time.Millisecond)) && !t.After(start.Add(19*time.Millisecond))
		}, 10},
		{"port-reuse.pcap --since 1s", "port-reuse.pcap", []string{"--since", "1s"}, func(f jsonFlow) bool { return !ts(f.FirstTS).Before(start.Add(time.Second)) }, 1},
		{"port-reuse.pcap --until 2026-11-24T10:00:01Z", "port-reuse.pcap", []string{"--until", "2026-11-24T10:00:01Z"}, func(f jsonFlow) bool { return ts(f.FirstTS).Before(start.Add(time.Second)) }, 1},
		{"port-reuse.pcap --host 10.9.9.9", "port-reuse.pcap", []string{"--host", "10.9.9.9"}, func(jsonFlow) bool { return false }, 0},
	}
	all := map[string]jsonReport{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, ok := all[tt.file]
			if !ok {
				r := runCLI(t, nil, nil, "--format", "json", pcap(tt.file))
				base = decodeJSON(t, r.stdout)
				all[tt.file] = base
			}
			var want []jsonFlow
			for _, f := range base.Flows {
				if tt.want(f) {
					want = append(want, f)
				}
			}
			if tt.n >= 0 && len(want) != tt.n {
				t.Fatalf("predicate selects %d flows of the unfiltered report, want %d (test data changed?)", len(want), tt.n)
			}
			r := runCLI(t, nil, nil, append([]string{"--format", "json", pcap(tt.file)}, tt.args...)...)
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
			rep := decodeJSON(t, r.stdout)
			if got, w := keys(rep.Flows), keys(want); !slices.Equal(got, w) {
				t.Errorf("selected\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
			if rep.Summary.Flows != uint64(len(want)) {
				t.Errorf("summary.flows %d, want %d", rep.Summary.Flows, len(want))
			}
			if rep.Summary.Packets != base.Summary.Packets {
				t.Errorf("summary.packets %d, want %d (filters select flows, not packets read)", rep.Summary.Packets, base.Summary.Packets)
			}
		})
	}
}

// TestInputs covers how files are named: standard input with gzip, several
// files, flags after the files.
func TestInputs(t *testing.T) {
	t.Run("- with gzip-compressed mix-200.pcap", func(t *testing.T) {
		raw, err := os.ReadFile(pcap("mix-200.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, &gz, nil, "--format", "json", "-")
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
		got := decodeJSON(t, r.stdout)
		want := decodeJSON(t, runCLI(t, nil, nil, "--format", "json", pcap("mix-200.pcap")).stdout)
		if !slices.Equal(keys(got.Flows), keys(want.Flows)) || got.Summary.Packets != want.Summary.Packets {
			t.Errorf("stdin gzip: %d flows %d packets, file: %d flows %d packets", len(got.Flows), got.Summary.Packets, len(want.Flows), want.Summary.Packets)
		}
	})
	t.Run("complete-v4.pcap complete-v6.pcap", func(t *testing.T) {
		a := decodeJSON(t, runCLI(t, nil, nil, "--format", "json", pcap("complete-v4.pcap")).stdout)
		b := decodeJSON(t, runCLI(t, nil, nil, "--format", "json", pcap("complete-v6.pcap")).stdout)
		r := runCLI(t, nil, nil, "--format", "json", pcap("complete-v4.pcap"), pcap("complete-v6.pcap"))
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
		both := decodeJSON(t, r.stdout)
		got, want := keys(both.Flows), append(keys(a.Flows), keys(b.Flows)...)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("flows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if both.Summary.Packets != a.Summary.Packets+b.Summary.Packets || both.Summary.Packets == 0 {
			t.Errorf("summary.packets %d, want %d+%d", both.Summary.Packets, a.Summary.Packets, b.Summary.Packets)
		}
		if both.Summary.Complete != 2 {
			t.Errorf("summary.complete %d, want 2", both.Summary.Complete)
		}
	})
	t.Run("refused.pcap --format json", func(t *testing.T) {
		r := runCLI(t, nil, nil, pcap("refused.pcap"), "--format", "json")
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
		if rep := decodeJSON(t, r.stdout); len(rep.Flows) != 1 || rep.Flows[0].Verdict != "refused" {
			t.Errorf("flows %v", describe(rep.Flows))
		}
	})
	t.Run("truncated port-reuse.pcap", func(t *testing.T) {
		raw, err := os.ReadFile(pcap("port-reuse.pcap"))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "cut.pcap")
		if err := os.WriteFile(path, raw[:len(raw)-5], 0o644); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, nil, nil, "--format", "json", path)
		if r.code != exitOK {
			t.Errorf("exit %d, want 0", r.code)
		}
		rep := decodeJSON(t, r.stdout)
		if rep.Summary.Warnings != 1 || len(rep.Flows) != 2 {
			t.Errorf("summary.warnings %d, %d flows; want 1 warning and both connections", rep.Summary.Warnings, len(rep.Flows))
		}
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "hsanalyze: ") || !strings.Contains(lines[0], path) || !strings.Contains(lines[0], "offset") {
			t.Errorf("stderr %q, want one warning naming %s and the offset", r.stderr, path)
		}
	})
}

// TestUsageErrors checks every usage error and unreadable input: exit 2,
// nothing on stdout, one "hsanalyze: " line naming the problem on stderr,
// then a hint where one helps.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings of the first stderr line
		hint bool
	}{
		{"--bogus", []string{"--bogus", pcap("refused.pcap")}, []string{"bogus"}, true},
		{"--format xml", []string{"--format", "xml", pcap("refused.pcap")}, []string{`unknown format "xml"`}, true},
		{"--fail-on broken", []string{"--fail-on", "broken", pcap("refused.pcap")}, []string{`unknown verdict "broken"`}, true},
		{"--fail-on malformed,Complete", []string{"--fail-on", "malformed,Complete", pcap("refused.pcap")}, []string{`unknown verdict "Complete"`}, true},
		{"--verdict ok", []string{"--verdict", "ok", pcap("refused.pcap")}, []string{`unknown verdict "ok"`}, true},
		{"no file", nil, []string{"no capture file given"}, true},
		{"only flags", []string{"--format", "json"}, []string{"no capture file given"}, true},
		{"missing.pcap", []string{pcap("missing.pcap")}, []string{"missing.pcap", "no such file"}, false},
		{"missing file after a good one", []string{pcap("refused.pcap"), "nope.pcap"}, []string{"nope.pcap", "no such file"}, false},
		{"README.md (not a capture)", []string{pcap("README.md")}, []string{"README.md", "not a pcap or pcapng file"}, false},
		{"empty.pcap", []string{empty}, []string{empty, "empty"}, false},
		{"directory", []string{dir}, []string{dir}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, nil, tt.args...)
			if r.code != exitError {
				t.Errorf("exit %d, want 2", r.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if !strings.HasSuffix(r.stderr, "\n") || !strings.HasPrefix(lines[0], "hsanalyze: ") {
				t.Fatalf("stderr %q, want lines starting with \"hsanalyze: \"", r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("stderr line %q does not contain %q", lines[0], w)
				}
			}
			if tt.hint && (len(lines) != 2 || lines[1] == "") {
				t.Errorf("stderr %q, want the problem and a hint line", r.stderr)
			}
			if !tt.hint && len(lines) != 1 {
				t.Errorf("stderr %q, want one line", r.stderr)
			}
		})
	}
}

// TestInfo checks --version, -h and -q.
func TestInfo(t *testing.T) {
	t.Run("--version", func(t *testing.T) {
		r := runCLI(t, nil, nil, "--version")
		if r.code != exitOK || r.stderr != "" || !strings.HasPrefix(r.stdout, "hsanalyze ") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	for _, h := range []string{"-h", "--help"} {
		t.Run(h, func(t *testing.T) {
			r := runCLI(t, nil, nil, h)
			if r.code != exitOK || r.stderr != "" {
				t.Errorf("exit %d stderr %q", r.code, r.stderr)
			}
			for _, w := range []string{"Usage", "--format", "--fail-on", "--verdict", "--since"} {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("usage lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
	t.Run("mix-200.pcap -q", func(t *testing.T) {
		full := runCLI(t, nil, nil, pcap("mix-200.pcap"))
		r := runCLI(t, nil, nil, pcap("mix-200.pcap"), "-q")
		if r.code != exitOK || r.stderr != "" {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "Flows:") || strings.Contains(r.stdout, "┌") || strings.Contains(r.stdout, "192.0.2.1:") {
			t.Errorf("-q prints more than the summary:\n%s", r.stdout)
		}
		if !strings.Contains(full.stdout, "┌") || !strings.HasPrefix(full.stdout, r.stdout) {
			t.Errorf("-q output is not the summary of the full report:\n%s\nfull:\n%s", r.stdout, full.stdout)
		}
	})
}

// TestNoColor checks that output not to a terminal, or with NO_COLOR set,
// has no ANSI escapes.
func TestNoColor(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"mix-200.pcap --all to a buffer", nil, []string{"--all"}},
		{"mix-200.pcap --all NO_COLOR=1", map[string]string{"NO_COLOR": "1"}, []string{"--all"}},
		{"mix-200.pcap --no-color", nil, []string{"--no-color"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, tc.env, append([]string{pcap("mix-200.pcap")}, tc.args...)...)
			if r.code != exitOK || strings.Contains(r.stdout, "\x1b[") || strings.Contains(r.stderr, "\x1b[") {
				t.Errorf("exit %d, escapes in output:\n%q", r.code, r.stdout)
			}
		})
	}
	t.Run("mix-200.pcap to a regular file", func(t *testing.T) {
		f, err := os.Create(filepath.Join(t.TempDir(), "out.txt"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var stderr bytes.Buffer
		if code := run([]string{pcap("mix-200.pcap"), "--all"}, strings.NewReader(""), f, &stderr, noEnv); code != exitOK {
			t.Fatalf("exit %d stderr %q", code, stderr.String())
		}
		out, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		if len(out) == 0 || bytes.Contains(out, []byte("\x1b[")) {
			t.Errorf("%d bytes, escapes: %v", len(out), bytes.Contains(out, []byte("\x1b[")))
		}
	})
}

// TestBinary builds the command and runs it as a process, to prove main
// wires run and its exit status (as cmd/stringer's endtoend_test.go does).
func TestBinary(t *testing.T) {
	bin := builtCommand(t)
	cmd := exec.Command(bin, pcap("ack-wrong-ack.pcap"), "--format", "json", "--fail-on", "malformed")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailOn {
		t.Fatalf("err %v, want exit status 1", err)
	}
	if stderr.String() != "hsanalyze: --fail-on matched: malformed 1\n" {
		t.Errorf("stderr %q", stderr.String())
	}
	if rep := decodeJSON(t, stdout.String()); len(rep.Flows) != 1 || rep.Flows[0].Verdict != "malformed" {
		t.Errorf("flows %s", describe(rep.Flows))
	}

	// A usage error from the process: exit 2, one line and a hint.
	cmd = exec.Command(bin, "--format", "xml", "x.pcap")
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if !errors.As(err, &ee) || ee.ExitCode() != exitError || stdout.Len() != 0 {
		t.Errorf("err %v stdout %q, want exit status 2 and no output", err, stdout.String())
	}
	sc := bufio.NewScanner(&stderr)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "hsanalyze: ") {
		t.Errorf("stderr %q", stderr.String())
	}
}
