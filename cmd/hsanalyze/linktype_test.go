package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestUnsupportedLinkType: a capture whose only link type hsanalyze cannot
// decode (LINKTYPE 147, user-defined) cannot be read at all: exit 2 and a
// message naming the file and the link type.
func TestUnsupportedLinkType(t *testing.T) {
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65535, layers.LinkType(147)); err != nil {
		t.Fatal(err)
	}
	frame := make([]byte, 60)
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(frame), Length: len(frame)}
	if err := w.WritePacket(ci, frame); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "user147.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"-q", path}, strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if msg := stderr.String(); !strings.HasPrefix(msg, "hsanalyze: "+path) || !strings.Contains(msg, "LINKTYPE 147") {
		t.Errorf("stderr %q, want the file and LINKTYPE 147", msg)
	}
}
