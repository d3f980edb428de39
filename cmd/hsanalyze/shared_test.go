package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// sharedPcaps holds third-party captures (see its MANIFEST.tsv) whose
// baselines in Suricata, Zeek or PcapPlusPlus name a handshake problem.
const sharedPcaps = "../../../shared/pcaps"

// TestSharedCaptures runs hsanalyze on third-party captures and checks the
// verdict each one's baseline implies. Every expectation below was checked
// against the packets with tshark; the reason cites the baseline and rule.
func TestSharedCaptures(t *testing.T) {
	if _, err := os.Stat(sharedPcaps); err != nil {
		t.Skipf("shared captures not available: %v", err)
	}
	type want struct {
		client    string // "" = not checked
		verdict   string
		anomalies []string // each must be present
		anyOf     []string // at least one must be present
	}
	tests := []struct {
		file   string
		flows  int
		want   []want // per flow, in report order; one entry applies to all
		reason string
	}{
		{"suricata-verify/firewall/tcp-session-stream-out-of-window/input.pcap", 1,
			[]want{{"192.0.2.10:43210", "malformed", nil, []string{"ack_wrong_seq", "ack_wrong_ack"}}},
			"Suricata stream.3whs_wrong_seq_wrong_ack: the final ACK has seq 101001, not ISN+1 = 1001 (RFC 9293 §3.10.7.3)"},
		{"suricata-verify/firewall/tcp-session-ipv6-stream-out-of-window/input.pcap", 1,
			[]want{{"[2001:db8::10]:43210", "malformed", nil, []string{"ack_wrong_seq", "ack_wrong_ack"}}},
			"the IPv6 twin of the above: final ACK seq 101001 instead of 1001"},
		{"suricata-verify/tcp-fastopen-10-syn-data-ignore/input.pcap", 1,
			// The SYN-ACK of frame 2 acknowledges only the SYN, not its 517
			// bytes of data. Later SYN-ACKs (frames 14, 17, 20) answer the
			// same SYN (same ISN) with another ISN, 97572840 instead of
			// 3212050950, which a single endpoint may not do: malformed.
			[]want{{"192.168.0.45:51615", "malformed", []string{"synack_tfo_data_ignored", "synack_changed_seq"}, nil}},
			"Suricata stream.3whs_synack_tfo_data_ignored at pcap_cnt 2 (RFC 7413 §4.2.2); SYN-ACKs with two ISNs for one SYN (RFC 9293 §3.4)"},
		{"suricata-verify/tcp-fastopen-11-reject-syn-data/tlpw-tcp-tfo-data-on-syn-nack.pcap", 1,
			[]want{{"192.168.0.44:57282", "complete", []string{"synack_tfo_data_ignored"}, nil}},
			"Suricata stream.3whs_synack_tfo_data_ignored, then established: the client resends the data after a correct handshake (RFC 7413 §4.2.2)"},
		{"suricata-verify/bug-6733-syn-packet-flow-output/input.pcap", 1,
			[]want{{"147.183.77.73:38212", "half_open", nil, nil}},
			"a single unanswered SYN"},
		{"pcapplusplus/one_tcp_rst.pcap", 1,
			// tshark: frame 2 is RST+ACK, seq 0, ack 3820339061 = ISN+1.
			[]want{{"10.1.1.13:45264", "refused", nil, nil}},
			"SYN answered by an acceptable RST (ACK set, ack = ISN+1), RFC 9293 §3.10.7.3"},
		{"zeek/tcp/syn-then-rst.pcap", 1,
			[]want{{"1.1.1.1:13131", "half_open", nil, nil}},
			"Zeek RSTOS0: the client itself resets after its SYN; nothing refused, nothing completed"},
		{"zeek/tcp/syn.pcap", 1,
			[]want{{"141.142.228.5:59856", "half_open", nil, nil}},
			"Zeek S0: a SYN, no reply"},
		{"zeek/rotation.pcap", 20,
			[]want{{"", "half_open", nil, nil}},
			"20 lone SYNs (Zeek S0 each)"},
		{"zeek/tcp/missing-syn.pcap", 1,
			[]want{{"141.42.64.125:56730", "midstream", nil, nil}},
			"capture starts at the SYN-ACK: no SYN, the client is the side the SYN-ACK was sent to (CONTRACT.md)"},
		{"zeek/tcp/http-on-irc-port-missing-syn.pcapng", 1,
			[]want{{"141.142.228.5:6669", "midstream", nil, nil}},
			"pcapng, capture starts at the SYN-ACK"},
		{"zeek/tcp/handshake-reorder.pcap", 1,
			[]want{{"141.142.228.5:59856", "complete", nil, nil}},
			"Zeek connection_flipped: the SYN-ACK was captured before the SYN that it answers correctly; the numbers all fit"},
		{"local-loopback/self-connect-simultaneous-open.pcap", 1,
			[]want{{"127.0.0.1:47123", "complete", nil, nil}},
			"a socket connected to itself: its SYN arrives at itself, simultaneous open (RFC 9293 §3.5 figure 7) with every number right"},
		{"suricata-verify/tcp-split-handshake-01-4whs/split-handshake-4whs.pcap", 1,
			[]want{{"1.1.1.1:12345", "complete", nil, nil}},
			"split handshake SYN, SYN, SYN-ACK, ACK: a legal simultaneous-open path (RFC 9293 §3.5)"},
		{"suricata-verify/defrag-ipv4-tcp-syn/frag-ip-tcp-syn.pcap", 1,
			[]want{{"1.1.1.1:12345", "half_open", []string{"tiny_fragment"}, nil}},
			"Suricata alert after reassembly (bug 6887): a SYN in three 8-byte IPv4 fragments (LINKTYPE_IPV4); the first does not hold the TCP header (RFC 1858 §3)"},
		{"suricata-verify/defrag-eth-vlan-ipv4-tcp-syn/frag-eth-vlan-ip-tcp-syn.pcap", 1,
			[]want{{"1.1.1.1:12345", "half_open", []string{"tiny_fragment"}, nil}},
			"the same fragmented SYN over Ethernet with a VLAN tag"},
		{"suricata-verify/defrag-ppp-ipv4-tcp-syn/frag-ppp-ip-tcp-syn.pcap", 1,
			[]want{{"1.1.1.1:12345", "half_open", []string{"tiny_fragment"}, nil}},
			"the same fragmented SYN over PPP"},
		{"zeek/ipv4/fragmented-syn.pcap", 1,
			[]want{{"192.168.1.100:12345", "half_open", []string{"tiny_fragment"}, nil}},
			"Zeek get_current_packet_header: SYN seq 1000, hl 40 in two fragments, the first holding 24 bytes (options split)"},
		{"zeek/tcp/single-rst.pcap", 1,
			[]want{{"10.0.0.10:48777", "midstream", nil, nil}},
			"Zeek OTH: a lone RST, no SYN; the client is the sender of the first segment"},
	}
	for _, tt := range tests {
		if tt.reason == "" {
			panic("reason must be provided")
		}
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(sharedPcaps, tt.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("capture not available: %v", err)
			}
			rep, code, stderr := runJSON(t, path)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d stderr %q", code, stderr)
			}
			if len(rep.Flows) != tt.flows {
				t.Fatalf("%d flows, want %d (%s):\n%s", len(rep.Flows), tt.flows, tt.reason, describe(rep.Flows))
			}
			for i, got := range rep.Flows {
				w := tt.want[min(i, len(tt.want)-1)]
				if got.Verdict != w.verdict || (w.client != "" && got.client() != w.client) {
					t.Errorf("flow %d: %s %s %v, want %s %s (%s)", i, got.client(), got.Verdict, got.Anomalies, w.client, w.verdict, tt.reason)
				}
				for _, a := range w.anomalies {
					if !slices.Contains(got.Anomalies, a) {
						t.Errorf("flow %d: anomalies %v lack %s (%s)", i, got.Anomalies, a, tt.reason)
					}
				}
				if len(w.anyOf) > 0 && !slices.ContainsFunc(w.anyOf, func(a string) bool { return slices.Contains(got.Anomalies, a) }) {
					t.Errorf("flow %d: anomalies %v have none of %v (%s)", i, got.Anomalies, w.anyOf, tt.reason)
				}
			}
		})
	}
}
