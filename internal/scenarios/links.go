package scenarios

import "github.com/hsanalyze/hsanalyze/internal/pcapgen"

// linkScenarios are clean handshakes in the link types other than
// Ethernet that hsanalyze decodes.
func linkScenarios() []Scenario {
	clean := func(file, about string, link uint32, client, server string) Scenario {
		return Scenario{
			File: file, About: about, Link: link,
			Expect: one(client, "complete"),
			Segments: func() []pcapgen.Seg {
				return newConv(client, server, 0).handshake(1000, 5000).closeFIN(1000, 5000).segs
			},
		}
	}
	return []Scenario{
		clean("link-cisco-hdlc.pcap", "LINKTYPE_C_HDLC (104): Cisco HDLC framing (address 0x0F, control 0, EtherType); a clean handshake.",
			pcapgen.LinkCiscoHDLC, client4, server4),
		clean("link-ieee80211.pcap", "LINKTYPE_IEEE802_11 (105): 802.11 QoS data frames with LLC/SNAP headers, no radio header; a clean IPv6 handshake.",
			pcapgen.LinkIEEE80211, client6, server6),
		clean("link-ipoib.pcap", "LINKTYPE_IPOIB (242): IP over InfiniBand, 40-byte address header, EtherType, reserved; a clean handshake.",
			pcapgen.LinkIPoIB, client4, server4),
		clean("link-nflog.pcap", "LINKTYPE_NFLOG (239): Linux `nflog:` records, TLVs in little-endian order, the packet in NFULA_PAYLOAD; a clean handshake.",
			pcapgen.LinkNFLOG, client4, server4),
		clean("link-ppp-cisco-hdlc.pcap", "LINKTYPE_PPP (9) holding Cisco HDLC framing, as some router captures do; a clean handshake.",
			pcapgen.LinkPPP, client4, server4),
		clean("link-radiotap.pcap", "LINKTYPE_IEEE802_11_RADIOTAP (127): a radiotap header, then 802.11 QoS data frames with LLC/SNAP; a clean handshake.",
			pcapgen.LinkRadiotap, client4, server4),
		clean("link-sll-radiotap.pcap", "LINKTYPE_LINUX_SLL (113) of a monitor-mode interface: ARPHRD_IEEE80211_RADIOTAP (803), radiotap, 802.11, LLC/SNAP; a clean handshake.",
			pcapgen.LinkSLL80211, client4, server4),
	}
}
