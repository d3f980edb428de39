package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReasonsAndStates runs the built command on the kernel-recorded
// captures the issue names: every flow says why in its reason (JSON and
// the table), and endpoint states go only as far as the capture shows.
func TestReasonsAndStates(t *testing.T) {
	for _, tc := range []struct {
		file           string
		reason         string
		client, server string
	}{
		// The server never answered: it is LISTEN, not SYN_RCVD.
		{"real/blackhole-syn-dropped.pcap", "no reply to 3 SYNs over 3.0 s", "SYN_SENT", "LISTEN"},
		// The client resent its SYN after the SYN-ACK: it never got it.
		{"real/blackhole-synack-dropped.pcap", "SYN-ACK never reached the client: it resent its SYN 2 times after the SYN-ACK (frame 2)", "SYN_SENT", "SYN_RCVD"},
		{"real/synack-never-acked.pcap", "SYN-ACK never acknowledged (2 retransmissions over 3.0 s)", "SYN_SENT", "SYN_RCVD"},
		{"real/refused-v4.pcap", "RST+ACK from the server 0.015 ms after the SYN (frame 2)", "CLOSED", "CLOSED"},
		{"midstream.pcap", "SYN not captured: first seen mid-connection at frame 1, from the client", "ESTABLISHED", "ESTABLISHED"},
		{"synack-wrong-ack.pcap", "synack_wrong_ack: ack 1002, expected 1001 (frame 2)", "CLOSED", "CLOSED"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := runBuilt(t, nil, "--format", "ndjson", pcap(tc.file))
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit %d stderr %q", r.code, r.stderr)
			}
			var f struct {
				Reason      string `json:"reason"`
				ClientState string `json:"client_state"`
				ServerState string `json:"server_state"`
			}
			if err := json.Unmarshal([]byte(strings.SplitN(r.stdout, "\n", 2)[0]), &f); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(f.Reason, tc.reason) || f.ClientState != tc.client || f.ServerState != tc.server {
				t.Errorf("reason %q states %s/%s\nwant %q… %s/%s", f.Reason, f.ClientState, f.ServerState, tc.reason, tc.client, tc.server)
			}
			// The default table shows the reason where anomalies are
			// blank (wide enough not to wrap it here).
			table := runBuilt(t, nil, "--all", pcap(tc.file))
			if !strings.Contains(table.stdout, tc.reason) {
				t.Errorf("table lacks the reason %q:\n%s", tc.reason, table.stdout)
			}
		})
	}
}
