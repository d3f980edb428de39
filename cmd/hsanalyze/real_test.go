package main

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestRealCaptures checks the verdicts testdata/pcaps/README.md documents
// for the captures recorded from the Linux kernel (scripts/record-testdata).
func TestRealCaptures(t *testing.T) {
	tests := []struct {
		file     string
		verdicts []string
		reason   string
	}{
		{"any-sll2.pcap", []string{"complete"}, "tcpdump -i any writes Linux SLL2 (link type 276)"},
		{"blackhole-syn-dropped.pcap", []string{"half_open"}, "SYN retransmitted, never answered"},
		{"blackhole-synack-dropped.pcap", []string{"half_open"}, "SYN-ACKs never reach the client"},
		{"complete-http-v4.pcap", []string{"complete"}, "curl to a local HTTP server"},
		{"complete-http-v6.pcap", []string{"complete"}, "the same over ::1, nanosecond pcap"},
		{"pcapng-loopback.pcapng", []string{"complete"}, "dumpcap pcapng"},
		{"port-reuse.pcap", []string{"complete", "complete"}, "one 4-tuple, two connections"},
		{"refused-v4.pcap", []string{"refused"}, "RST+ACK with ack = ISN+1 from a closed port"},
		{"synack-never-acked.pcap", []string{"half_open"}, "the client's ACK is dropped"},
		{"tfo-cookie-request.pcap", []string{"complete"}, "RFC 7413 cookie request"},
		{"tfo-data-in-syn.pcap", []string{"complete"}, "RFC 7413 SYN data acknowledged"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rep, code, stderr := runJSON(t, filepath.Join("../../testdata/pcaps/real", tt.file))
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			var got []string
			for _, f := range rep.Flows {
				got = append(got, f.Verdict)
			}
			if !slices.Equal(got, tt.verdicts) {
				t.Errorf("verdicts %v, want %v (%s)", got, tt.verdicts, tt.reason)
			}
		})
	}
}
