package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "96MiB": 96 << 20, "96M": 96 << 20, "1G": 1 << 30, "2GiB": 2 << 30, "512k": 512 << 10, "10B": 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if want > 0 {
			if back, _ := parseSize(formatSize(want)); back != want {
				t.Errorf("formatSize(%d) = %q does not parse back", want, formatSize(want))
			}
		}
	}
	for _, in := range []string{"", "-1", "MiB", "1.5G", "lots", "99999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// TestMaxMemory floods a small attempt table: every attempt is still
// counted once, the early ones carry decided_early, the summary counts
// them, stderr warns once naming the flag, and the output does not depend
// on the number of workers.
func TestMaxMemory(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	victim := netip.MustParseAddrPort("192.0.2.10:80")
	const n = 3000
	for i := range n {
		src := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 7, byte(i >> 8), byte(i)}), 40000)
		if err := w.Write(pcapgen.Seg{Time: at.Add(time.Duration(i) * time.Millisecond), Src: src, Dst: victim, Flags: pcapgen.SYN, Seq: uint32(i)}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "flood.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var first string
	for _, workers := range []string{"1", "2"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--format", "json", "--max-memory", "256KiB", "--workers", workers, path}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		var rep struct {
			Summary struct {
				Flows     uint64            `json:"flows"`
				HalfOpen  uint64            `json:"half_open"`
				Early     uint64            `json:"decided_early"`
				Anomalies map[string]uint64 `json:"anomalies"`
			} `json:"summary"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		s := rep.Summary
		if s.Flows != n || s.HalfOpen != n || s.Early == 0 || s.Early >= n || s.Anomalies["decided_early"] != s.Early {
			t.Errorf("summary %+v: want %d half_open flows, some decided early", s, n)
		}
		if strings.Count(stderr.String(), "decided early") != 1 || !strings.Contains(stderr.String(), "--max-memory") {
			t.Errorf("stderr %q: want one warning naming --max-memory", stderr.String())
		}
		if first == "" {
			first = stdout.String()
		} else if stdout.String() != first {
			t.Error("--workers 2 wrote another report than --workers 1")
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--format", "json", "--max-memory", "0", path}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" }); code != exitOK || stderr.Len() != 0 || strings.Contains(stdout.String(), `"decided_early":["`) {
		t.Errorf("--max-memory 0: exit %d, stderr %q", code, stderr.String())
	}
}
