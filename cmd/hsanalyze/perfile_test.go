package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPerFile runs the built command on three separate scenario captures:
// merged they are one capture (the same 4-tuple, one clock); with
// --per-file each is judged on its own, with its own summary, frames and
// file field, and --fail-on judges all of them.
func TestPerFile(t *testing.T) {
	files := []string{pcap("syn-only.pcap"), pcap("refused.pcap"), pcap("synack-wrong-ack.pcap")}
	merged := decodeJSON(t, runBuilt(t, nil, append([]string{"--format", "json"}, files...)...).stdout)
	r := runBuilt(t, nil, append([]string{"--format", "json", "--per-file", "--fail-on", "malformed"}, files...)...)
	if r.code != exitFailOn {
		t.Errorf("exit %d, want 1 (--fail-on malformed matched in the third file); stderr %q", r.code, r.stderr)
	}
	var per struct {
		PerFile []jsonReport `json:"per_file"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &per); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	want := []string{"half_open", "refused", "malformed"}
	if len(per.PerFile) != 3 {
		t.Fatalf("%d reports, want 3", len(per.PerFile))
	}
	for i, rep := range per.PerFile {
		if len(rep.Flows) != 1 || rep.Flows[0].Verdict != want[i] || rep.Flows[0].File != files[i] || rep.Summary.Flows != 1 {
			t.Errorf("file %d: %s", i, describe(rep.Flows))
		}
	}
	// Merged, the three recordings of one 4-tuple at one time are one
	// attempt: the half-open and refused ones disappear into it.
	if len(merged.Flows) != 1 {
		t.Errorf("merged: %s, want the files' segments as one attempt", describe(merged.Flows))
	}

	nd := runBuilt(t, nil, append([]string{"--format", "ndjson", "--per-file"}, files...)...)
	lines := strings.Split(strings.TrimSpace(nd.stdout), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[1], `{"summary":{`) || !strings.HasPrefix(lines[5], `{"summary":{`) ||
		!strings.Contains(lines[4], `"file":"`+files[2]+`"`) {
		t.Errorf("ndjson, want flow and summary lines per file:\n%s", nd.stdout)
	}
	csv := runBuilt(t, nil, append([]string{"--format", "csv", "--per-file"}, files...)...)
	rows := strings.Split(strings.TrimSpace(csv.stdout), "\n")
	if len(rows) != 4 || !strings.HasSuffix(rows[0], ",file") || !strings.HasSuffix(rows[3], ","+files[2]) {
		t.Errorf("csv, want one header and a file column:\n%s", csv.stdout)
	}
	table := runBuilt(t, nil, append([]string{"--per-file"}, files...)...)
	if n := strings.Count(table.stdout, "\nFlows:         1\n"); n != 3 || !strings.Contains(table.stdout, "══ "+files[1]+" (file 2 of 3) ══") {
		t.Errorf("table: %d summaries:\n%s", n, table.stdout)
	}
	if u := runBuilt(t, nil, "--per-file", "--format", "zeek", files[0]); u.code != exitError {
		t.Errorf("--per-file --format zeek: exit %d, want a usage error", u.code)
	}
}

// TestPerFileInvalidUTF8 checks that a file name that is not UTF-8 (Linux
// allows any bytes) reaches CSV as JSON writes it, each invalid byte as
// U+FFFD, so that the output stays valid UTF-8.
func TestPerFileInvalidUTF8(t *testing.T) {
	b, err := os.ReadFile(pcap("complete-v4.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "cap\xff\xfe.pcap")
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Skipf("this file system refuses the name: %v", err)
	}
	for _, format := range []string{"csv", "json", "ndjson"} {
		r := runCLI(t, nil, nil, "--format", format, "--per-file", name, pcap("refused.pcap"))
		want := "cap\uFFFD\uFFFD.pcap" // CSV: the character itself
		if format != "csv" {
			want = `cap\ufffd\ufffd.pcap` // JSON: its escape
		}
		if r.code != exitOK || !utf8.ValidString(r.stdout) || !strings.Contains(r.stdout, want) {
			t.Errorf("%s: exit %d, valid UTF-8 %v:\n%s", format, r.code, utf8.ValidString(r.stdout), r.stdout)
		}
	}
}
