package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/capture"
)

func TestProgressLine(t *testing.T) {
	f, err := capture.Open("../../testdata/pcaps/mix-200.pcap", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &progress{files: []*capture.File{f}}
	p.packets.Store(2_000_000)
	line := p.line(2 * time.Second)
	for _, want := range []string{"hsanalyze: ", " MiB of ", "%", "1.00 M packets/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
}

// TestProgressQuietWhenPiped checks the default: no progress line when
// stderr is not a terminal, so logs and CI output stay clean.
func TestProgressQuietWhenPiped(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"../../testdata/pcaps/mix-200.pcap"}, strings.NewReader(""), &stdout, &stderr, noEnv); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr %q, want nothing", stderr.String())
	}
}

// TestProgressStopsErasing checks --progress always erases its line at the
// end, and that a quick run draws nothing at all.
func TestProgressStopsErasing(t *testing.T) {
	var stderr bytes.Buffer
	p := startProgress(&stderr, nil)
	p.stop()
	if stderr.Len() != 0 {
		t.Errorf("quick run drew %q", stderr.String())
	}
}
