package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCompressedInputs runs the built command on a capture compressed by
// each standard tool, as a file and on standard input: the report is the
// one of the plain capture. A compressed file cut short is reported up to
// the damage with a warning, and a file that is no capture is refused with
// its first bytes and a guess.
func TestCompressedInputs(t *testing.T) {
	raw, err := os.ReadFile(pcap("mix-200.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	want := runBuilt(t, nil, "--format", "json", pcap("mix-200.pcap"))
	if want.code != exitOK {
		t.Fatalf("plain: exit %d %s", want.code, want.stderr)
	}
	for _, tool := range [][]string{{"gzip", "-c"}, {"zstd", "-c", "-q"}, {"xz", "-c"}, {"bzip2", "-c"}} {
		path, err := exec.LookPath(tool[0])
		if err != nil {
			t.Logf("skipping %s: %v", tool[0], err)
			continue
		}
		cmd := exec.Command(path, tool[1:]...)
		cmd.Stdin = strings.NewReader(string(raw))
		z, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", tool[0], err)
		}
		file := t.TempDir() + "/capture." + tool[0]
		if err := os.WriteFile(file, z, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Run(tool[0]+"/file", func(t *testing.T) {
			// The report but for summary.files (the file name).
			r := runBuilt(t, nil, "--format", "ndjson", file)
			plain := runBuilt(t, nil, "--format", "ndjson", pcap("mix-200.pcap"))
			if r.code != exitOK || r.stderr != "" || r.stdout != plain.stdout || plain.stdout == "" {
				t.Errorf("exit %d stderr %q; same flows as plain: %v", r.code, r.stderr, r.stdout == plain.stdout)
			}
		})
		t.Run(tool[0]+"/stdin", func(t *testing.T) {
			r := runBuilt(t, z, "--format", "json", "-")
			// Only summary.files differs ("-" for the path).
			got := decodeJSON(t, r.stdout)
			w := decodeJSON(t, want.stdout)
			if r.code != exitOK || r.stderr != "" || got.Summary.Packets != w.Summary.Packets || len(got.Flows) != len(w.Flows) {
				t.Errorf("exit %d stderr %q, %d packets %d flows; want %d, %d", r.code, r.stderr, got.Summary.Packets, len(got.Flows), w.Summary.Packets, len(w.Flows))
			}
		})
		t.Run(tool[0]+"/cut-short", func(t *testing.T) {
			// Cut the plain capture inside its last record, then compress:
			// the warning names the decompressed offset.
			cmd := exec.Command(path, tool[1:]...)
			cmd.Stdin = strings.NewReader(string(raw[:len(raw)-10]))
			z, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			r := runBuilt(t, z, "--format", "json", "-")
			if r.code != exitOK || !strings.Contains(r.stderr, "warning: -: offset ") || !strings.Contains(r.stderr, "(decompressed): file cut short") {
				t.Errorf("exit %d stderr %q", r.code, r.stderr)
			}
			if rep := decodeJSON(t, r.stdout); rep.Summary.Warnings != 1 || rep.Summary.Packets == 0 {
				t.Errorf("summary %+v, want one warning and the packets before it", rep.Summary)
			}
		})
	}
	t.Run("zip", func(t *testing.T) {
		r := runBuilt(t, []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00rest of a zip"), "-")
		if r.code != exitError || r.stdout != "" || r.stderr != "hsanalyze: -: offset 0: not a pcap or pcapng file: unknown magic number 504b030414000000; looks like a zip archive: unzip it first\n" {
			t.Errorf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
		}
	})
}
