package differential

import (
	"net/netip"
	"testing"
)

// seg builds a packet from the client (c=true) or the server.
func seg(frame int, c bool, flags uint16) Packet {
	cl := netip.MustParseAddrPort("192.0.2.1:40000")
	sv := netip.MustParseAddrPort("198.51.100.2:80")
	p := Packet{Frame: frame, Src: sv, Dst: cl, Flags: flags, HasTCPInfo: true}
	if c {
		p.Src, p.Dst = cl, sv
	}
	return p
}

func TestDerive(t *testing.T) {
	const S, SA, A, R, RA, F = flagSYN, flagSYN | flagACK, flagACK, flagRST, flagRST | flagACK, flagFIN
	tests := []struct {
		name   string
		pkts   []Packet
		want   string
		reason string
	}{
		{"complete", []Packet{seg(1, true, S), seg(2, false, SA), seg(3, true, A)}, "complete", "RFC 9293 §3.5 figure 6"},
		{"complete-by-data", []Packet{seg(1, true, S), seg(2, false, SA), seg(3, true, A|0x08)}, "complete", "the first data segment carries the final ACK"},
		{"syn-only", []Packet{seg(1, true, S), seg(2, true, S)}, "half_open", "retransmitted SYN, no answer"},
		{"synack-never-acked", []Packet{seg(1, true, S), seg(2, false, SA), seg(3, false, SA)}, "half_open", "no final ACK"},
		{"client-rst-after-synack", []Packet{seg(1, true, S), seg(2, false, SA), seg(3, true, R)}, "half_open", "CONTRACT.md: a client reset after a SYN-ACK is not a refusal"},
		{"refused", []Packet{seg(1, true, S), seg(2, false, RA)}, "refused", "RFC 9293 §3.10.7.3"},
		{"rst-without-ack", []Packet{seg(1, true, S), seg(2, false, R)}, "malformed", "CONTRACT.md: a bare RST is no refusal"},
		{"syn-fin", []Packet{seg(1, true, S|F)}, "malformed", "impossible flags"},
		{"null-flags", []Packet{seg(1, true, S), seg(2, false, 0)}, "malformed", "impossible flags"},
		{"midstream", []Packet{seg(1, true, A), seg(2, false, A)}, "midstream", "no SYN captured"},
		{"synack-first", []Packet{seg(1, false, SA), seg(2, true, A)}, "midstream", "CONTRACT.md: no SYN"},
		{"simultaneous-open", []Packet{seg(1, true, S), seg(2, false, S), seg(3, true, SA), seg(4, false, SA)}, "complete", "RFC 9293 §3.5 figure 7"},
		{"split-handshake", []Packet{seg(1, true, S), seg(2, false, S), seg(3, true, SA), seg(4, false, A)}, "complete", "docs/anomalies.md: split handshake"},
		{"synack-from-client", []Packet{seg(1, true, S), seg(2, true, SA)}, "half_open", "RFC 9293 §3.10.7.3: a client SYN-ACK may answer a server SYN the capture lacks; its seq decides (hsanalyze)"},
		{"simultaneous-open-syn-lost", []Packet{seg(1, true, S), seg(2, true, SA), seg(3, false, SA)}, "complete", "RFC 9293 §3.10.7.3: the client's SYN-ACK answers a server SYN the capture lacks"},
		{"ack-from-server", []Packet{seg(1, true, S), seg(2, false, A)}, "malformed", "a bare ACK cannot answer a SYN"},
		{"synack-not-captured", []Packet{seg(1, true, S), seg(2, true, A), seg(3, false, A|0x08)}, "half_open", "docs/anomalies.md ack_from_server: the client's ACK shows a SYN-ACK existed"},
		{"fin-probe", []Packet{seg(1, true, F), seg(2, false, RA)}, "malformed", "RFC 9293 §3.1: no TCP sends FIN without ACK"},
		{"maimon-probe", []Packet{seg(1, true, F|A), seg(2, false, R)}, "midstream", "docs/anomalies.md scan_probe: FIN+ACK is legal"},
		{"icmp-only", []Packet{{Frame: 1, ICMP: true, HasTCPInfo: true, Flags: S}}, "none", "a quoted header is not a segment"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		if tt.reason == "" || seen[tt.name] {
			t.Fatalf("%s: each case needs a unique name and a reason", tt.name)
		}
		seen[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			s := &Stream{Packets: tt.pkts}
			if got := Derive(s); got.Verdict != tt.want {
				t.Errorf("Derive = %s (%s), want %s (%s)", got.Verdict, got.Rule, tt.want, tt.reason)
			}
		})
	}
}

func TestParseAllowList(t *testing.T) {
	md := "intro\n\n| capture | stream | tshark | hsanalyze | why |\n| --- | --- | --- | --- | --- |\n" +
		"| `shared:a.pcap` | 3 | complete | midstream | late FIN |\n| `x.pcap` | - | none | half_open | tunnel |\n\nafter\n| not | the table |\n"
	got, err := ParseAllowList([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key() != "shared:a.pcap|3|complete|midstream" || got[1].Stream != -1 || got[1].Why != "tunnel" {
		t.Errorf("ParseAllowList = %+v", got)
	}
	if _, err := ParseAllowList([]byte("| capture | stream | tshark | hsanalyze | why |\n| a | 1 | x | y |  |\n")); err == nil {
		t.Error("an entry without a reason must be an error")
	}
}

func TestEpochNanos(t *testing.T) {
	for in, want := range map[string]int64{
		"1418145369.999999000": 1418145369999999000,
		"1795602268.156608135": 1795602268156608135,
		"12.5":                 12500000000,
	} {
		if got := epochNanos(in); got != want {
			t.Errorf("epochNanos(%q) = %d, want %d", in, got, want)
		}
	}
}
