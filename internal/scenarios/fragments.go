package scenarios

import (
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// fragmented sends segment i of segs as the IP fragments fs.
func fragmented(segs []pcapgen.Seg, i int, fs ...pcapgen.Frag) []pcapgen.Seg {
	segs[i].Fragments = fs
	return segs
}

// fragmentScenarios are the captures of TCP in IP fragments.
func fragmentScenarios() []Scenario {
	// completeByData: SYN, SYN-ACK, then the client's 100-byte data
	// segment (a 120-byte TCP segment) completes the handshake.
	completeByData := func(client, server string) []pcapgen.Seg {
		return newConv(client, server, 0).cs(S, 1000, 0).sc(S|A, 5000, 1001).cs(P|A, 1001, 5001).data(100).sc(A, 5001, 1101).segs
	}
	return []Scenario{
		{
			File: "frag-syn-tiny.pcap",
			About: "The SYN (40-byte header) sent in three IPv4 fragments of 8, 8 and 24 bytes, in order: reassembled and completed; " +
				"the first fragment splits the TCP header (RFC 1858 §3).",
			Expect: []Expect{{Client: client4, Verdict: "complete", Anomalies: []string{"tiny_fragment"}}},
			Segments: func() []pcapgen.Seg {
				return fragmented(newConv(client4, server4, 0).handshake(1000, 5000).segs, 0,
					pcapgen.Frag{Off: 0, End: 8}, pcapgen.Frag{Off: 8, End: 16}, pcapgen.Frag{Off: 16})
			},
		},
		{
			File: "frag-v6-reverse.pcap",
			About: "IPv6: the client's first data segment, which completes the handshake, sent as three fragments in reverse order " +
				"with the middle one twice (RFC 8200 §4.5 fragment headers).",
			Expect: one(client6, "complete"),
			Segments: func() []pcapgen.Seg {
				return fragmented(completeByData(client6, server6), 2,
					pcapgen.Frag{Off: 80}, pcapgen.Frag{Off: 40, End: 80}, pcapgen.Frag{Off: 40, End: 80}, pcapgen.Frag{Off: 0, End: 40})
			},
		},
		{
			File: "frag-overlap.pcap",
			About: "The client's first data segment in two IPv4 fragments overlapping at payload bytes 56-63 with different bytes " +
				"(an evasion technique); the bytes captured first are kept and the handshake completes.",
			Expect: []Expect{{Client: client4, Verdict: "complete", Anomalies: []string{"fragment_overlap"}}},
			Segments: func() []pcapgen.Seg {
				return fragmented(completeByData(client4, server4), 2,
					pcapgen.Frag{Off: 0, End: 64}, pcapgen.Frag{Off: 56, Corrupt: true})
			},
		},
		{
			File: "frag-incomplete.pcap",
			About: "A SYN whose second IPv4 fragment never comes (counted in summary.fragments and not_analysed.incomplete_fragments, " +
				"never decoded), then 1 s later the SYN again, whole, and a complete handshake.",
			Expect: one(client4, "complete"),
			Segments: func() []pcapgen.Seg {
				c := newConv(client4, server4, 0).cs(S, 1000, 0, synOpts(1000, 0))
				c.segs[0].Fragments = []pcapgen.Frag{{Off: 0, End: 24}}
				return c.after(time.Second).handshake(1000, 5000).segs
			},
		},
		{
			File: "frag-outer-gre.pcap",
			About: "A handshake inside GRE key 5 whose SYN-ACK's outer IPv4 packet (GRE, inner IPv4 and TCP) is sent in two fragments: " +
				"the outer datagram is reassembled, then the tunnel decoded.",
			Expect: []Expect{{Client: client4, Verdict: "complete", Tunnel: "gre=5"}},
			Segments: func() []pcapgen.Seg {
				segs := tunnelled(newConv(client4, server4, 0).handshake(1000, 5000), level(pcapgen.EncapGRE, 5))
				return fragmented(segs, 1, pcapgen.Frag{Off: 0, End: 32}, pcapgen.Frag{Off: 32})
			},
		},
	}
}
