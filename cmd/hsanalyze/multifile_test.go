package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestTableNamesFileOfFrame: with several inputs, frame numbers are per
// file, so the table names the file of each frame it cites.
func TestTableNamesFileOfFrame(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"../../testdata/pcaps/real/refused-v4.pcap", "../../testdata/pcaps/ack-wrong-ack.pcap"},
		strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if want := "(../../testdata/pcaps/ack-wrong-ack.pcap frame 3)"; !strings.Contains(stdout.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, stdout.String())
	}
}
