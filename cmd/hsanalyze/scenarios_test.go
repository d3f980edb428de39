package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/internal/scenarios"
)

// jsonReport is the CONTRACT.md JSON shape, as a consumer would read it.
type jsonReport struct {
	Summary struct {
		Packets    uint64   `json:"packets"`
		TCPPackets uint64   `json:"tcp_packets"`
		Flows      uint64   `json:"flows"`
		Complete   uint64   `json:"complete"`
		HalfOpen   uint64   `json:"half_open"`
		Refused    uint64   `json:"refused"`
		Malformed  uint64   `json:"malformed"`
		Midstream  uint64   `json:"midstream"`
		Warnings   uint64   `json:"warnings"`
		Filters    []string `json:"filters"`
	} `json:"summary"`
	Flows []jsonFlow `json:"flows"`
}

type jsonFlow struct {
	ClientIP      string       `json:"client_ip"`
	ClientPort    uint16       `json:"client_port"`
	ServerIP      string       `json:"server_ip"`
	ServerPort    uint16       `json:"server_port"`
	Verdict       string       `json:"verdict"`
	Reason        string       `json:"reason"`
	File          string       `json:"file"`
	Anomalies     []string     `json:"anomalies"`
	ClientISN     *uint32      `json:"client_isn"`
	ServerISN     *uint32      `json:"server_isn"`
	Evidence      []jsonEv     `json:"evidence"`
	FirstTS       string       `json:"first_ts"`
	SynToSynAckMs *float64     `json:"syn_to_synack_ms"`
	SynAckToAckMs *float64     `json:"synack_to_ack_ms"`
	CommunityID   string       `json:"community_id"`
	Tunnel        []jsonTunnel `json:"tunnel"`
}

// jsonTunnel is one level of a flow's tunnel field.
type jsonTunnel struct {
	Type     string  `json:"type"`
	OuterSrc string  `json:"outer_src"`
	OuterDst string  `json:"outer_dst"`
	VNI      *uint32 `json:"vni"`
	Key      *uint32 `json:"key"`
	TEID     *uint32 `json:"teid"`
	Session  *uint32 `json:"session"`
}

// tunnel returns the compact form of the flow's tunnel field, as
// decode.Tunnel.String writes it.
func (f jsonFlow) tunnel() string {
	var parts []string
	for _, l := range f.Tunnel {
		p := l.Type
		for _, id := range []*uint32{l.VNI, l.Key, l.TEID, l.Session} {
			if id != nil {
				p += fmt.Sprintf("=%d", *id)
			}
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/")
}

type jsonEv struct {
	Anomaly  string  `json:"anomaly"`
	Frame    uint64  `json:"frame"`
	Field    string  `json:"field"`
	Seen     *uint64 `json:"seen"`
	Expected *uint64 `json:"expected"`
}

func (f jsonFlow) client() string {
	return netip.AddrPortFrom(netip.MustParseAddr(f.ClientIP), f.ClientPort).String()
}

// runJSON runs the command with --format json on args and decodes stdout.
func runJSON(t *testing.T, args ...string) (jsonReport, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"--format", "json"}, args...), strings.NewReader(""), &stdout, &stderr, noEnv)
	var rep jsonReport
	if code != exitError {
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
		}
	}
	return rep, code, stderr.String()
}

// TestScenarios runs hsanalyze on every capture of testdata/pcaps built by
// the scenario catalogue and checks each attempt's verdict and anomalies.
func TestScenarios(t *testing.T) {
	for _, s := range scenarios.All() {
		t.Run(s.File, func(t *testing.T) {
			rep, code, stderr := runJSON(t, filepath.Join("../../testdata/pcaps", s.File))
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			if len(rep.Flows) != len(s.Expect) {
				t.Fatalf("%d flows, want %d:\n%s", len(rep.Flows), len(s.Expect), describe(rep.Flows))
			}
			for i, want := range s.Expect {
				got := rep.Flows[i]
				if got.client() != want.Client || got.Verdict != want.Verdict {
					t.Errorf("flow %d: client %s verdict %s %v, want client %s verdict %s", i, got.client(), got.Verdict, got.Anomalies, want.Client, want.Verdict)
				}
				if got.tunnel() != want.Tunnel {
					t.Errorf("flow %d: tunnel %q, want %q", i, got.tunnel(), want.Tunnel)
				}
				for _, a := range want.Anomalies {
					if !slices.Contains(got.Anomalies, a) {
						t.Errorf("flow %d: anomalies %v lack %s", i, got.Anomalies, a)
					}
				}
			}
			if rep.Summary.Flows != uint64(len(rep.Flows)) {
				t.Errorf("summary.flows %d, %d flows listed", rep.Summary.Flows, len(rep.Flows))
			}
		})
	}
}

func describe(flows []jsonFlow) string {
	var b strings.Builder
	for _, f := range flows {
		fmt.Fprintf(&b, "  %s %s %v %s\n", f.client(), f.Verdict, f.Anomalies, f.tunnel())
	}
	return b.String()
}
