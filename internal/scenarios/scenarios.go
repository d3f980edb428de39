// Package scenarios is the catalogue of the synthetic captures shipped in
// testdata/pcaps: each Scenario names its file, says what it contains and
// which verdicts hsanalyze must give, and builds its segments. The same
// catalogue writes the captures and their README (go test
// ./internal/scenarios -update) and drives the end-to-end tests, so the
// files, their documentation and the checks cannot drift apart.
package scenarios

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// Expect is the verdict expected for one connection attempt, in the order
// of the attempts' first segments.
type Expect struct {
	// Client is the client endpoint, such as "192.0.2.1:40000".
	Client string
	// Verdict is the CONTRACT.md verdict name.
	Verdict string
	// Anomalies lists codes that must be reported (others may be too).
	Anomalies []string
	// Tunnel is the compact form of the attempt's encapsulation
	// (decode.Tunnel.String: "vxlan=42"), "" for plain traffic.
	Tunnel string
}

// Scenario is one synthetic capture.
type Scenario struct {
	// File is the capture's name in testdata/pcaps.
	File string
	// About says what the capture contains, for its README.
	About string
	// Expect lists the attempts in the order of their first segment.
	Expect []Expect
	// Segments builds the capture's segments.
	Segments func() []pcapgen.Seg
	// Link is the capture's LINKTYPE_ (pcapgen.Link*); 0 is Ethernet.
	Link uint32
}

// Pcap renders the scenario as a pcap file (Ethernet unless Link says
// otherwise, microseconds).
func (s Scenario) Pcap() ([]byte, error) {
	var buf bytes.Buffer
	link := s.Link
	if link == 0 {
		link = 1 // LINKTYPE_ETHERNET
	}
	w, err := pcapgen.NewLinkWriter(&buf, false, link)
	if err != nil {
		return nil, err
	}
	for _, seg := range s.Segments() {
		if err := w.Write(seg); err != nil {
			return nil, fmt.Errorf("%s: %w", s.File, err)
		}
	}
	return buf.Bytes(), nil
}

// Start is the capture time of every scenario's first segment.
var Start = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// conv builds the segments of one conversation between a client and a
// server on a simulated clock.
type conv struct {
	c, s netip.AddrPort
	t    time.Time
	segs []pcapgen.Seg
}

func newConv(client, server string, at time.Duration) *conv {
	return &conv{c: netip.MustParseAddrPort(client), s: netip.MustParseAddrPort(server), t: Start.Add(at)}
}

// after advances the clock by d.
func (c *conv) after(d time.Duration) *conv { c.t = c.t.Add(d); return c }

// cs adds a client-to-server segment.
func (c *conv) cs(flags uint16, seq, ack uint32, opts ...[]byte) *conv {
	return c.add(pcapgen.Seg{Src: c.c, Dst: c.s, Flags: flags, Seq: seq, Ack: ack, Options: pcapgen.Opts(opts...)})
}

// sc adds a server-to-client segment.
func (c *conv) sc(flags uint16, seq, ack uint32, opts ...[]byte) *conv {
	return c.add(pcapgen.Seg{Src: c.s, Dst: c.c, Flags: flags, Seq: seq, Ack: ack, Options: pcapgen.Opts(opts...)})
}

// add appends seg at the current time, then advances the clock by 100µs.
func (c *conv) add(seg pcapgen.Seg) *conv {
	seg.Time = c.t
	c.segs = append(c.segs, seg)
	c.t = c.t.Add(100 * time.Microsecond)
	return c
}

// data sets the payload of the last segment added.
func (c *conv) data(n int) *conv {
	c.segs[len(c.segs)-1].Payload = bytes.Repeat([]byte{'x'}, n)
	return c
}

// handshake adds a correct SYN, SYN-ACK, ACK with the usual Linux options.
func (c *conv) handshake(cisn, sisn uint32) *conv {
	return c.cs(pcapgen.SYN, cisn, 0, synOpts(1000, 0)).
		sc(pcapgen.SYN|pcapgen.ACK, sisn, cisn+1, synOpts(5000, 1000)).
		cs(pcapgen.ACK, cisn+1, sisn+1)
}

// closeFIN adds an orderly FIN exchange after a handshake with those ISNs
// and no data.
func (c *conv) closeFIN(cisn, sisn uint32) *conv {
	return c.cs(pcapgen.FIN|pcapgen.ACK, cisn+1, sisn+1).
		sc(pcapgen.FIN|pcapgen.ACK, sisn+1, cisn+2).
		cs(pcapgen.ACK, cisn+2, sisn+2)
}

// synOpts are the options a Linux SYN or SYN-ACK carries.
func synOpts(tsval, tsecr uint32) []byte {
	return pcapgen.Opts(pcapgen.MSS(1460), pcapgen.SACKPermitted(), pcapgen.Timestamps(tsval, tsecr), pcapgen.NOP(), pcapgen.WindowScale(7))
}

const (
	client4 = "192.0.2.1:40000"
	server4 = "198.51.100.2:80"
	client6 = "[2001:db8::1]:40000"
	server6 = "[2001:db8::2]:443"
	scanner = "192.0.2.66:51000"
	S       = pcapgen.SYN
	A       = pcapgen.ACK
	F       = pcapgen.FIN
	R       = pcapgen.RST
	P       = pcapgen.PSH
	U       = pcapgen.URG
)

func one(client, verdict string, anomalies ...string) []Expect {
	return []Expect{{Client: client, Verdict: verdict, Anomalies: anomalies}}
}

// All returns the catalogue, in file-name order.
func All() []Scenario {
	all := append(append(append(plain(), tunnelScenarios()...), fragmentScenarios()...), linkScenarios()...)
	slices.SortFunc(all, func(a, b Scenario) int { return strings.Compare(a.File, b.File) })
	return all
}

// plain is the catalogue of untunnelled captures.
func plain() []Scenario {
	return []Scenario{
		{
			File:   "ack-seq-in-window.pcap",
			About:  "SYN, SYN-ACK (window 65535), then the client's data at seq ISN+1+2506 with ack = server ISN+1: the final ACK and the first 2506 bytes were not captured, the seq is inside the server's window (RFC 9293 §3.10.7.4).",
			Expect: one(client4, "complete", "data_not_captured"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0, synOpts(1000, 0)).sc(S|A, 5000, 1001, synOpts(5000, 1000)).
					cs(P|A, 3507, 5001).data(100).sc(A, 5001, 3607).segs
			},
		},
		{
			File:   "ack-wrong-ack.pcap",
			About:  "SYN, correct SYN-ACK, final ACK whose ack is server ISN+2 instead of +1.",
			Expect: one(client4, "malformed", "ack_wrong_ack"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(S|A, 5000, 1001).cs(A, 1001, 5002).segs
			},
		},
		{
			File:   "ack-wrong-seq.pcap",
			About:  "SYN, correct SYN-ACK (window 65535), final ACK whose seq is client ISN+70001 instead of +1: past the server's window (RFC 9293 §3.10.7.4).",
			Expect: one(client4, "malformed", "ack_wrong_seq"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(S|A, 5000, 1001).cs(A, 71001, 5001).segs
			},
		},
		{
			File:   "complete-by-data.pcap",
			About:  "SYN, SYN-ACK, then the client's first data segment (PSH+ACK, 100 bytes) with the right numbers completes the handshake; no bare ACK.",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(S|A, 5000, 1001).cs(P|A, 1001, 5001).data(100).segs
			},
		},
		{
			File:   "complete-v4.pcap",
			About:  "A clean IPv4 handshake with Linux SYN options, 100 bytes each way, FIN close.",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).handshake(1000, 5000).
					cs(P|A, 1001, 5001).data(100).sc(P|A, 5001, 1101).data(100).cs(A, 1101, 5101).
					cs(F|A, 1101, 5101).sc(F|A, 5101, 1102).cs(A, 1102, 5102).segs
			},
		},
		{
			File:   "complete-v6.pcap",
			About:  "A clean IPv6 handshake, FIN close.",
			Expect: one(client6, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client6, server6, 0).handshake(2000, 9000).closeFIN(2000, 9000).segs
			},
		},
		{
			File:   "ecn-setup.pcap",
			About:  "ECN negotiation (RFC 3168 §6.1.1): SYN with ECE+CWR, SYN-ACK with ECE; legal, complete.",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S|pcapgen.ECE|pcapgen.CWR, 1000, 0).sc(S|A|pcapgen.ECE, 5000, 1001).cs(A, 1001, 5001).segs
			},
		},
		{
			File:   "fin-scan.pcap",
			About:  "A lone FIN probe with no SYN (nmap -sF), answered by the closed port's RST+ACK (ack = seq+1, RFC 9293 §3.10.7.1): a scanner probe, no connection; FIN without ACK is sent by no TCP in any state.",
			Expect: one(scanner, "malformed", "scan_probe", "no_ack_flag"),
			Segments: func() []pcapgen.Seg {
				return newConv(scanner, server4, 0).cs(F, 1000, 0).sc(R|A, 0, 1001).segs
			},
		},
		{
			File:   "idle-gap-reverse.pcap",
			About:  "A SYN left unanswered, then 57 minutes later (past the 2-minute idle timeout) a complete connection the other way on the same 4-tuple, with no other packet in between: two attempts, the second no simultaneous open of the first.",
			Expect: []Expect{{Client: client4, Verdict: "half_open"}, {Client: server4, Verdict: "complete"}},
			Segments: func() []pcapgen.Seg {
				c := newConv(client4, server4, 0).cs(S, 1000, 0).after(57 * time.Minute)
				return c.sc(S, 9000, 0).cs(S|A, 3000, 9001).sc(A, 9001, 3001).segs
			},
		},
		{
			File:   "idle-gap-synack.pcap",
			About:  "A SYN left unanswered, then 57 minutes later a SYN-ACK and ACK of another connection (its SYN not captured) on the same 4-tuple, with no other packet in between: the old attempt stays half_open, the new one is midstream (not synack_wrong_ack of the old SYN).",
			Expect: []Expect{{Client: client4, Verdict: "half_open"}, {Client: client4, Verdict: "midstream"}},
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).after(57*time.Minute).sc(S|A, 9000, 777001).cs(A, 777001, 9001).segs
			},
		},
		{
			File:   "isn-wrap-client.pcap",
			About:  "Client ISN 0xFFFFFFFF: the SYN-ACK acknowledges 0 (modulo 2^32).",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).handshake(0xFFFFFFFF, 5000).segs
			},
		},
		{
			File:   "isn-wrap-server.pcap",
			About:  "Server ISN 0xFFFFFFFF: the final ACK acknowledges 0 (modulo 2^32).",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).handshake(1000, 0xFFFFFFFF).segs
			},
		},
		{
			File:   "midstream.pcap",
			About:  "Data segments of a connection whose handshake was not captured.",
			Expect: one(client4, "midstream"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(P|A, 7001, 9001).data(50).sc(A, 9001, 7051).cs(P|A, 7051, 9001).data(50).segs
			},
		},
		mixScenario(),
		{
			File:   "new-isn-while-half-open.pcap",
			About:  "A SYN left unanswered, then 1 s later a SYN with a different ISN on the same 4-tuple that completes: two attempts.",
			Expect: []Expect{{Client: client4, Verdict: "half_open"}, {Client: client4, Verdict: "complete"}},
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).after(time.Second).handshake(777000, 5000).segs
			},
		},
		{
			File:   "port-reuse.pcap",
			About:  "Two complete connections, closed by FIN, one after the other on the same 4-tuple with different ISNs.",
			Expect: []Expect{{Client: client4, Verdict: "complete"}, {Client: client4, Verdict: "complete"}},
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).handshake(1000, 5000).closeFIN(1000, 5000).
					after(2*time.Second).handshake(900000, 700000).closeFIN(900000, 700000).segs
			},
		},
		{
			File:   "refused.pcap",
			About:  "SYN answered by RST+ACK with ack = ISN+1: the port is closed.",
			Expect: one(client4, "refused"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0, synOpts(1000, 0)).sc(R|A, 0, 1001).segs
			},
		},
		{
			File:   "rst-without-ack.pcap",
			About:  "SYN answered by a bare RST (no ACK flag): not an acceptable refusal (RFC 9293 §3.10.7.3).",
			Expect: one(client4, "malformed", "rst_without_ack"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(R, 0, 0).segs
			},
		},
		{
			File:   "rst-wrong-ack.pcap",
			About:  "SYN answered by RST+ACK whose ack is ISN+2: not acceptable (RFC 5961 §3, RFC 9293 §3.10.7.3).",
			Expect: one(client4, "malformed", "rst_wrong_ack"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(R|A, 0, 1002).segs
			},
		},
		{
			File: "scan-probes.pcap",
			About: "One scanner's probes to five ports of one host, 1 ms apart, each answered by RST: NULL (nmap -sN), FIN (-sF), Xmas (-sX), Maimon FIN+ACK with ack 0 (-sM), ACK with ack 0 (-sA). " +
				"The three without ACK are sent by no TCP and are malformed; the two with ACK are legal segments, midstream. Each carries scan_probe.",
			Expect: []Expect{
				{Client: scanner, Verdict: "malformed", Anomalies: []string{"scan_probe", "null_flags"}},
				{Client: scanner, Verdict: "malformed", Anomalies: []string{"scan_probe", "no_ack_flag"}},
				{Client: scanner, Verdict: "malformed", Anomalies: []string{"scan_probe", "xmas_flags"}},
				{Client: scanner, Verdict: "midstream", Anomalies: []string{"scan_probe"}},
				{Client: scanner, Verdict: "midstream", Anomalies: []string{"scan_probe"}},
			},
			Segments: func() []pcapgen.Seg {
				var segs []pcapgen.Seg
				for i, flags := range []uint16{0, F, F | P | U, F | A, A} {
					c := newConv(scanner, fmt.Sprintf("198.51.100.2:%d", 21+i), time.Duration(i)*time.Millisecond)
					if flags&A != 0 {
						c.cs(flags, 1000, 0).sc(R, 0, 0) // <SEQ=SEG.ACK><CTL=RST>
					} else {
						c.cs(flags, 1000, 0).sc(R|A, 0, 1000+uint32(flags&F)) // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
					}
					segs = append(segs, c.segs...)
				}
				return segs
			},
		},
		{
			File:   "simultaneous-open-bad.pcap",
			About:  "Crossing SYNs, then SYN-ACKs, one of which acknowledges the wrong number.",
			Expect: one(client4, "malformed", "synack_wrong_ack"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(S, 5000, 0).cs(S|A, 1000, 5001).sc(S|A, 5000, 1003).segs
			},
		},
		{
			File:   "simultaneous-open-syn-lost.pcap",
			About:  "A simultaneous open whose server SYN was not captured: the client's SYN, its SYN-ACK repeating its ISN and acknowledging server ISN+1, the server's SYN-ACK repeating that ISN (RFC 9293 §3.5 Figure 7).",
			Expect: one(client4, "complete", "server_syn_not_captured"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).cs(S|A, 1000, 5001).sc(S|A, 5000, 1001).segs
			},
		},
		{
			File:   "simultaneous-open.pcap",
			About:  "Crossing SYNs, then SYN-ACKs with every number right (RFC 9293 §3.5, figure 7).",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(S, 5000, 0).cs(S|A, 1000, 5001).sc(S|A, 5000, 1001).segs
			},
		},
		{
			File:   "span-duplicates.pcap",
			About:  "A SPAN port mirroring both directions: every frame of a complete connection (data, FIN close) and of a refused one is captured twice, 2 µs apart, byte for byte the same. The 10 copies are dropped and counted (summary.duplicates), so the flows carry no retransmissions or duplicate ACKs they never had; two flows.",
			Expect: []Expect{{Client: client4, Verdict: "complete"}, {Client: "192.0.2.1:40001", Verdict: "refused"}},
			Segments: func() []pcapgen.Seg {
				a := newConv(client4, server4, 0).handshake(1000, 5000).cs(P|A, 1001, 5001).data(100).sc(A, 5001, 1101).closeFIN(1100, 5000)
				b := newConv("192.0.2.1:40001", server4, 50*time.Microsecond).cs(S, 3000, 0).sc(R|A, 0, 3001)
				segs := append(a.segs, b.segs...)
				slices.SortStableFunc(segs, func(x, y pcapgen.Seg) int { return x.Time.Compare(y.Time) })
				var out []pcapgen.Seg
				for _, seg := range segs {
					dup := seg
					dup.Time = seg.Time.Add(2 * time.Microsecond)
					out = append(out, seg, dup)
				}
				return out
			},
		},
		{
			File:   "syn-fin.pcap",
			About:  "A SYN with FIN also set: an impossible flag combination.",
			Expect: one(client4, "malformed", "syn_fin"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S|F, 1000, 0).segs
			},
		},
		{
			File:   "syn-only.pcap",
			About:  "A single SYN, never answered.",
			Expect: one(client4, "half_open"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0, synOpts(1000, 0)).segs
			},
		},
		{
			File:   "syn-retransmit-3x.pcap",
			About:  "A SYN retransmitted three times (1 s, 2 s, 4 s backoff, same ISN), then answered and completed; SYN→SYN-ACK is measured from the last retransmission.",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				c := newConv(client4, server4, 0)
				for _, gap := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 0} {
					c.cs(S, 1000, 0).after(gap)
				}
				return c.sc(S|A, 5000, 1001).cs(A, 1001, 5001).segs
			},
		},
		{
			File:   "syn-rst.pcap",
			About:  "A SYN with RST also set: an impossible flag combination.",
			Expect: one(client4, "malformed", "syn_rst"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S|R, 1000, 0).segs
			},
		},
		{
			File:   "synack-first.pcap",
			About:  "A SYN-ACK and the rest of a handshake without its SYN (capture started late).",
			Expect: one(client4, "midstream"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).sc(S|A, 5000, 1001).cs(A, 1001, 5001).segs
			},
		},
		{
			File:   "synack-from-client.pcap",
			About:  "The client sends a SYN and then itself a SYN-ACK with another seq (7000, not its ISN 1000): it answers no server SYN, the wrong direction (RFC 9293 §3.10.7.3).",
			Expect: one(client4, "malformed", "synack_from_client"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).cs(S|A, 7000, 5001).segs
			},
		},
		{
			File:   "synack-never-acked.pcap",
			About:  "SYN and SYN-ACK (retransmitted twice), never acknowledged.",
			Expect: one(client4, "half_open"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(S|A, 5000, 1001).after(time.Second).
					sc(S|A, 5000, 1001).after(2*time.Second).sc(S|A, 5000, 1001).segs
			},
		},
		{
			File:   "synack-not-captured.pcap",
			About:  "SYN, no SYN-ACK captured, the client's ACK of server ISN+1 and request, the server's reply and a FIN close: the client's segments prove the SYN-ACK existed, the server's traffic is no error.",
			Expect: one(client4, "half_open", "ack_without_synack"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).after(300*time.Microsecond).cs(A, 1001, 5001).
					cs(P|A, 1001, 5001).data(100).sc(A, 5001, 1101).sc(P|A, 5001, 1101).data(300).cs(A, 1101, 5301).
					cs(F|A, 1101, 5301).sc(F|A, 5301, 1102).cs(A, 1102, 5302).segs
			},
		},
		{
			File:   "synack-wrong-ack.pcap",
			About:  "SYN-ACK acknowledging ISN+2 instead of ISN+1; the client resets it.",
			Expect: one(client4, "malformed", "synack_wrong_ack"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0).sc(S|A, 5000, 1002).cs(R, 1002, 0).segs
			},
		},
		{
			File:   "tfo-accepted.pcap",
			About:  "TCP Fast Open (RFC 7413): SYN with a cookie and 50 bytes of data, SYN-ACK acknowledging the data, final ACK.",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0, pcapgen.MSS(1460), pcapgen.FastOpen([]byte{1, 2, 3, 4, 5, 6, 7, 8})).data(50).
					sc(S|A, 5000, 1051, pcapgen.MSS(1460)).cs(A, 1051, 5001).segs
			},
		},
		{
			File:   "tfo-cookie-request.pcap",
			About:  "TCP Fast Open cookie request: empty TFO option on the SYN, cookie in the SYN-ACK.",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0, pcapgen.MSS(1460), pcapgen.FastOpen(nil)).
					sc(S|A, 5000, 1001, pcapgen.MSS(1460), pcapgen.FastOpen([]byte{9, 9, 9, 9, 9, 9, 9, 9})).cs(A, 1001, 5001).segs
			},
		},
		{
			File:   "tfo-rejected.pcap",
			About:  "TCP Fast Open SYN with cookie and data, SYN-ACK acknowledging only the SYN (data ignored, RFC 7413 §4.2.2); the client resends the data.",
			Expect: one(client4, "complete", "synack_tfo_data_ignored"),
			Segments: func() []pcapgen.Seg {
				return newConv(client4, server4, 0).cs(S, 1000, 0, pcapgen.MSS(1460), pcapgen.FastOpen([]byte{1, 2, 3, 4, 5, 6, 7, 8})).data(50).
					sc(S|A, 5000, 1001, pcapgen.MSS(1460)).cs(P|A, 1001, 5001).data(50).segs
			},
		},
	}
}
