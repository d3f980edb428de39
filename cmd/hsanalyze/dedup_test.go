package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestDuplicateFrames: a SPAN port that mirrors both directions captures
// every frame twice; the copies are dropped and counted, and --dedup-window
// 0 keeps them (docs/anomalies.md, "Readings": duplicate frames).
func TestDuplicateFrames(t *testing.T) {
	const file = "../../testdata/pcaps/span-duplicates.pcap"
	for _, tt := range []struct {
		name            string
		args            []string
		dups, tcp, retx uint64
		flows           int
	}{
		{"default", nil, 10, 10, 0, 2},
		{"off", []string{"--dedup-window", "0"}, 0, 20, 2, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"--format", "json"}, tt.args...), file)
			if code := run(args, strings.NewReader(""), &stdout, &stderr, noEnv); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			var rep struct {
				Summary struct {
					Packets        uint64 `json:"packets"`
					TCPPackets     uint64 `json:"tcp_packets"`
					Duplicates     uint64 `json:"duplicates"`
					SYNRetransmits uint64 `json:"syn_retransmits"`
				} `json:"summary"`
				Flows []json.RawMessage `json:"flows"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			s := rep.Summary
			if s.Packets != 20 || s.Duplicates != tt.dups || s.TCPPackets != tt.tcp || s.SYNRetransmits != tt.retx || len(rep.Flows) != tt.flows {
				t.Errorf("packets %d duplicates %d tcp %d SYN retransmits %d flows %d, want 20 %d %d %d %d",
					s.Packets, s.Duplicates, s.TCPPackets, s.SYNRetransmits, len(rep.Flows), tt.dups, tt.tcp, tt.retx, tt.flows)
			}
		})
	}
}
