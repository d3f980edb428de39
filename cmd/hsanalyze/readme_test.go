package main

import (
	"os"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/handshake"
)

// TestREADME keeps README.md true: it documents every verdict and anomaly
// code, and its first two commands are the ones this project promises.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range handshake.Verdicts() {
		if !strings.Contains(readme, "| `"+v.String()+"` |") {
			t.Errorf("README lacks verdict %s", v)
		}
	}
	for _, c := range handshake.Codes() {
		if !strings.Contains(readme, "| `"+c.String()+"` |") {
			t.Errorf("README lacks anomaly %s", c)
		}
	}
	_, block, _ := strings.Cut(readme, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	want := "go run ./cmd/hsanalyze testdata/pcaps/mix-200.pcap\ngo test -race ./...\n"
	if block != want {
		t.Errorf("README's first commands are %q, want %q", block, want)
	}
	if _, err := os.Stat("../../testdata/pcaps/mix-200.pcap"); err != nil {
		t.Errorf("README's capture: %v", err)
	}
}
