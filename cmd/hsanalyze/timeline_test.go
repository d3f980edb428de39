package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestTimelineJSON checks --flow with --format json on a 4-tuple reused by
// two connections: two attempts, each with its flow and every segment,
// states moving as in RFC 9293 §3.5 Figure 6.
func TestTimelineJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"--flow", "192.0.2.1:40000-198.51.100.2:80", "--format", "json", "../../testdata/pcaps/port-reuse.pcap"},
		strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitOK || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	var tl struct {
		Attempts []struct {
			Flow     jsonFlow `json:"flow"`
			Segments []struct {
				Frame       uint64 `json:"frame"`
				Direction   string `json:"direction"`
				Flags       string `json:"flags"`
				Role        string `json:"role"`
				ClientState string `json:"client_state"`
				ServerState string `json:"server_state"`
			} `json:"segments"`
		} `json:"attempts"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &tl); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if len(tl.Attempts) != 2 {
		t.Fatalf("%d attempts, want 2", len(tl.Attempts))
	}
	for i, a := range tl.Attempts {
		if a.Flow.Verdict != "complete" || len(a.Segments) != 6 {
			t.Errorf("attempt %d: verdict %s, %d segments; want complete, 6", i, a.Flow.Verdict, len(a.Segments))
			continue
		}
		want := []struct{ dir, role, client, server string }{
			{"client_to_server", "syn", "SYN_SENT", "LISTEN"},
			{"server_to_client", "synack", "SYN_SENT", "SYN_RCVD"},
			{"client_to_server", "final_ack", "ESTABLISHED", "ESTABLISHED"},
		}
		for j, w := range want {
			s := a.Segments[j]
			if s.Direction != w.dir || s.Role != w.role || s.ClientState != w.client || s.ServerState != w.server {
				t.Errorf("attempt %d segment %d: %+v, want %+v", i, j, s, w)
			}
		}
	}
	if tl.Attempts[1].Segments[0].Frame != 7 {
		t.Errorf("second attempt starts at frame %d, want 7", tl.Attempts[1].Segments[0].Frame)
	}
}

// TestTimelineTable checks the human timeline names the anomaly and the
// rule it broke on the segment that caused it.
func TestTimelineTable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"--flow", "192.0.2.1:40000-198.51.100.2:80", "../../testdata/pcaps/synack-wrong-ack.pcap"},
		strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"malformed", "synack_wrong_ack: ack 1002, expected 1001", "RFC 9293 §3.10.7.3", "SYN_SENT"} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline lacks %q:\n%s", want, out)
		}
	}
}

// TestTimelineFailOn: with --flow, --fail-on judges that connection's
// attempts.
func TestTimelineFailOn(t *testing.T) {
	for _, tt := range []struct {
		failOn string
		want   int
	}{{"malformed", exitFailOn}, {"complete", exitOK}} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--flow", "192.0.2.1:40000-198.51.100.2:80", "--fail-on", tt.failOn, "../../testdata/pcaps/synack-wrong-ack.pcap"},
			strings.NewReader(""), &stdout, &stderr, noEnv)
		if code != tt.want || !strings.Contains(stdout.String(), "Attempt 1") {
			t.Errorf("--fail-on %s: exit %d, want %d; stdout:\n%s", tt.failOn, code, tt.want, stdout.String())
		}
	}
}
