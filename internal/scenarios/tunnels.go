package scenarios

import (
	"net/netip"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// Outer tunnel endpoints of the tunnel scenarios (RFC 5737 and RFC 3849
// documentation ranges, apart from the inner ones).
var (
	vtepA  = netip.MustParseAddr("203.0.113.1")
	vtepB  = netip.MustParseAddr("203.0.113.2")
	vtep6A = netip.MustParseAddr("2001:db8:ffff::1")
	vtep6B = netip.MustParseAddr("2001:db8:ffff::2")
)

// level is a tunnel level between vtepA (client side) and vtepB.
func level(k pcapgen.EncapKind, id uint32) pcapgen.Encap {
	return pcapgen.Encap{Kind: k, Src: vtepA, Dst: vtepB, ID: id}
}

// tunnelled wraps every segment in the levels (outermost first), the outer
// endpoints swapped for the segments sent by the server: the tunnel
// carries both directions between the same two tunnel endpoints.
func tunnelled(c *conv, levels ...pcapgen.Encap) []pcapgen.Seg {
	for i := range c.segs {
		s := &c.segs[i]
		s.Encap = make([]pcapgen.Encap, len(levels))
		for j, l := range levels {
			if s.Src != c.c {
				l.Src, l.Dst = l.Dst, l.Src
			}
			s.Encap[j] = l
		}
	}
	return c.segs
}

// tunnelScenarios are the captures of TCP inside each encapsulation.
func tunnelScenarios() []Scenario {
	complete := func(client, server string) *conv {
		return newConv(client, server, 0).handshake(1000, 5000).closeFIN(1000, 5000)
	}
	simple := func(file, about string, client, server, tunnel string, levels ...pcapgen.Encap) Scenario {
		return Scenario{
			File: file, About: about,
			Expect: []Expect{{Client: client, Verdict: "complete", Tunnel: tunnel}},
			Segments: func() []pcapgen.Seg {
				return tunnelled(complete(client, server), levels...)
			},
		}
	}
	return []Scenario{
		simple("tunnel-6in4.pcap", "A clean IPv6 handshake and FIN close inside IPv4 (protocol 41, RFC 4213), tunnel 203.0.113.1 ↔ 203.0.113.2.",
			client6, server6, "6in4", level(pcapgen.EncapIPinIP, 0)),
		simple("tunnel-ayiya.pcap", "A clean IPv6 handshake inside AYIYA (UDP 5072, 16-byte identity, SHA-1 signature).",
			client6, server6, "ayiya", level(pcapgen.EncapAYIYA, 0)),
		simple("tunnel-erspan.pcap", "A clean handshake mirrored with ERSPAN type II (GRE 0x88BE), session 0x2A.",
			client4, server4, "erspan=42", level(pcapgen.EncapERSPAN, 42)),
		simple("tunnel-geneve.pcap", "A clean handshake inside GENEVE (UDP 6081, one option), VNI 0x1234.",
			client4, server4, "geneve=4660", level(pcapgen.EncapGENEVE, 0x1234)),
		simple("tunnel-gre.pcap", "A clean handshake inside GRE (RFC 2784) with key 7 (RFC 2890).",
			client4, server4, "gre=7", level(pcapgen.EncapGRE, 7)),
		simple("tunnel-gtpu.pcap", "A clean handshake inside GTP-U G-PDUs (UDP 2152), TEID 0x01020304.",
			client4, server4, "gtpu=16909060", level(pcapgen.EncapGTPU, 0x01020304)),
		simple("tunnel-ipip.pcap", "A clean handshake inside IPv4-in-IPv4 (protocol 4, RFC 2003).",
			client4, server4, "ipip", level(pcapgen.EncapIPinIP, 0)),
		simple("tunnel-nested.pcap", "A clean handshake inside VXLAN VNI 77 inside GRE key 9 over IPv6: two levels, outermost first.",
			client4, server4, "gre=9/vxlan=77",
			pcapgen.Encap{Kind: pcapgen.EncapGRE, Src: vtep6A, Dst: vtep6B, ID: 9}, level(pcapgen.EncapVXLAN, 77)),
		simple("tunnel-teredo.pcap", "A clean IPv6 handshake inside Teredo (UDP 3544, origin indication).",
			client6, server6, "teredo", level(pcapgen.EncapTeredo, 0)),
		simple("tunnel-vxlan.pcap", "A clean handshake inside VXLAN (UDP 4789), VNI 42, as cloud traffic mirroring delivers it.",
			client4, server4, "vxlan=42", level(pcapgen.EncapVXLAN, 42)),
		{
			File: "tunnel-vxlan-two-vnis.pcap",
			About: "Two tenants use the same inner 4-tuple at the same time, in VXLAN VNIs 100 and 200: " +
				"VNI 100's attempt completes, VNI 200's is refused. They are two connections.",
			Expect: []Expect{
				{Client: client4, Verdict: "complete", Tunnel: "vxlan=100"},
				{Client: client4, Verdict: "refused", Tunnel: "vxlan=200"},
			},
			Segments: func() []pcapgen.Seg {
				a := tunnelled(newConv(client4, server4, 0).handshake(1000, 5000), level(pcapgen.EncapVXLAN, 100))
				b := tunnelled(newConv(client4, server4, 50_000).cs(S, 3000, 0).sc(R|A, 0, 3001), level(pcapgen.EncapVXLAN, 200))
				// Interleave: a's SYN, b's SYN, a's SYN-ACK, b's RST, a's ACK.
				return []pcapgen.Seg{a[0], b[0], a[1], b[1], a[2]}
			},
		},
	}
}
