package decode

import (
	"fmt"
	"net/netip"
	"testing"
)

// decodeCase is one row of TestDecode.
type decodeCase struct {
	name    string
	reason  string // why the expectation holds, citing the RFC or format
	link    uint32
	frame   []byte
	origLen int  // on-wire length; 0 means len(frame)
	verify  bool // DecoderOptions.VerifyChecksums
	want    Packet
}

// tcpPkt is a KindTCP Packet holding s.
func tcpPkt(s Segment) Packet { return Packet{Kind: KindTCP, Segment: s} }

// fragPkt is a KindFragment Packet describing f.
func fragPkt(f Fragment) Packet { return Packet{Kind: KindFragment, Frag: f} }

// kind is a Packet of kind k with no segment.
func kind(k Kind) Packet { return Packet{Kind: k} }

// synAckNoOpts is a SYN-ACK with no options from srv to cli.
func synAckNoOpts() []byte {
	return tcpHdr(tcpSpec{sport: 443, dport: 50000, seq: 5000, ack: 1001, flags: SYN | ACK, win: 65535})
}

// synAckSeg is what synAckNoOpts decodes to.
func synAckSeg(src, dst netip.Addr) Segment {
	return Segment{
		Src: netip.AddrPortFrom(src, 443), Dst: netip.AddrPortFrom(dst, 50000),
		Seq: 5000, Ack: 1001, Flags: SYN | ACK, Window: 65535,
	}
}

// optsSeg returns the segment of an ACK from cli4:1234 to srv4:80 with
// the given decoded options, as built by optsFrame.
func optsSeg(o Options) Segment {
	return Segment{
		Src: netip.AddrPortFrom(cli4, 1234), Dst: netip.AddrPortFrom(srv4, 80),
		Seq: 7, Ack: 9, Flags: SYN, Window: 1024, Options: o,
	}
}

// optsFrame is a raw IPv4 SYN from cli4:1234 to srv4:80 carrying opts.
func optsFrame(opts []byte) []byte {
	return ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP},
		tcpHdr(tcpSpec{sport: 1234, dport: 80, seq: 7, ack: 9, flags: SYN, win: 1024, opts: opts}))
}

// icmp4 is an ICMP message header of the given type and code (checksum
// not filled: the decoder does not check it) followed by quote.
func icmp4(typ, code uint8, quote []byte) []byte {
	return cat([]byte{
		typ, code, // type, code
		0, 0, // checksum (unchecked)
		0, 0, 0, 0, // unused / pointer / MTU
	}, quote)
}

func decodeCases() []decodeCase {
	return append(append(baseCases(), tunnelCases()...), linkCases()...)
}

// baseCases are the cases of plain (untunnelled) frames.
func baseCases() []decodeCase {
	syn4 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, synHdr())
	syn6 := ip6(cli6, srv6, nil, protoTCP, synHdr(), 0)
	wantSyn4 := tcpPkt(synSeg(cli4, srv4))
	wantSyn6 := tcpPkt(synSeg(cli6, srv6))
	good := func(p Packet) Packet { p.Segment.Checksum = ChecksumGood; return p }

	payload100 := make([]byte, 100)
	for i := range payload100 {
		payload100[i] = byte(i)
	}

	// A 60-byte TCP header (data offset 15, options all EOL) with an IP
	// total length that covers it, to be cut after 20 bytes.
	off15 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP},
		tcpHdr(tcpSpec{sport: 1234, dport: 80, seq: 7, ack: 9, flags: SYN, win: 1024, opts: make([]byte, 40)}))

	// Padded Ethernet frame: 14 + 40 bytes of SYN-ACK, then 6 bytes of
	// non-zero padding up to the 60-byte minimum.
	padded := cat(eth(0x0800, ip4(ip4Spec{src: srv4, dst: cli4, proto: protoTCP}, synAckNoOpts())),
		[]byte{0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa})

	badSum4 := cat(syn4)
	badSum4[len(badSum4)-1] ^= 0xff // flip the window scale value: checksum now wrong
	badSum6 := cat(syn6)
	badSum6[len(badSum6)-1] ^= 0xff

	udp := []byte{
		0x30, 0x39, // source port 12345
		0x00, 0x35, // destination port 53
		0x00, 0x08, // length 8
		0x00, 0x00, // checksum none
	}
	arp := []byte{
		0x00, 0x01, // hardware type Ethernet
		0x08, 0x00, // protocol type IPv4
		6, 4, // hardware and protocol address lengths
		0x00, 0x01, // opcode request
		2, 0, 0, 0, 0, 1, 192, 0, 2, 1, // sender MAC, IP
		0, 0, 0, 0, 0, 0, 198, 51, 100, 2, // target MAC, IP
	}

	all9 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP},
		tcpHdr(tcpSpec{sport: 1, dport: 2, seq: 3, ack: 4, flags: 0x1FF, win: 5}))

	// ICMP quotes. RFC 792: the IP header plus the first 8 bytes of the
	// original datagram's payload (ports and sequence number).
	quote4short := syn4[:20+8]
	quote4long := syn4[:20+40]
	quote6 := ip6(cli6, srv6, []ext{hbhPad}, protoTCP, synHdr(), 0)[:40+8+8]
	quotedSeg4 := Segment{Src: netip.AddrPortFrom(cli4, 50000), Dst: netip.AddrPortFrom(srv4, 443), Seq: 1000}
	quotedSeg4Long := quotedSeg4
	quotedSeg4Long.Flags, quotedSeg4Long.Window = SYN, 64240
	quotedSeg6 := Segment{Src: netip.AddrPortFrom(cli6, 50000), Dst: netip.AddrPortFrom(srv6, 443), Seq: 1000}
	quotedUDP := ip4(ip4Spec{src: cli4, dst: srv4, proto: 17}, udp)

	tso := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, total: -1}, tcpHdr(tcpSpec{sport: 1234, dport: 80, seq: 7, ack: 9, flags: ACK, win: 1024, payload: payload100}))
	tso[2], tso[3] = 0, 0 // total length 0, as Linux writes for TSO
	tsoSeg := optsSeg(Options{})
	tsoSeg.Flags, tsoSeg.PayloadLen = ACK, 100

	firstFrag := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, frag: 0x2000}, // MF set, offset 0
		tcpHdr(tcpSpec{sport: 1234, dport: 80, seq: 7, ack: 9, flags: SYN, win: 1024, payload: payload100}))

	tfoData := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP},
		tcpHdr(tcpSpec{sport: 1234, dport: 80, seq: 7, ack: 9, flags: SYN, win: 1024,
			opts:    []byte{34, 10, 1, 2, 3, 4, 5, 6, 7, 8}, // Fast Open, 8-byte cookie
			payload: []byte("hello")}))
	tfoDataSeg := optsSeg(Options{Present: OptFastOpen, CookieLen: 8})
	tfoDataSeg.PayloadLen = 5

	pppoe := func(ip []byte) []byte {
		n := len(ip) + 2
		return cat([]byte{
			0x11,       // version 1, type 1
			0x00,       // code: session data
			0x00, 0x07, // session ID 7
			byte(n >> 8), byte(n), // length: PPP protocol + payload
			0x00, 0x21, // PPP protocol IPv4
		}, ip)
	}

	return []decodeCase{
		// Ethernet and tags.
		{name: "ethernet/ipv4/syn", reason: "RFC 894 + RFC 791 + RFC 9293 §3.1", link: LinkTypeEthernet,
			frame: eth(0x0800, syn4), want: wantSyn4},
		{name: "ethernet/ipv6/syn", reason: "RFC 2464 + RFC 8200", link: LinkTypeEthernet,
			frame: eth(0x86dd, syn6), want: wantSyn6},
		{name: "ethernet/padding", reason: "Ethernet pads to 60 bytes; RFC 791 total length bounds the payload", link: LinkTypeEthernet,
			frame: padded, verify: true, want: good(tcpPkt(synAckSeg(srv4, cli4)))},
		{name: "ethernet/vlan", reason: "IEEE 802.1Q tag 0x8100", link: LinkTypeEthernet,
			frame: eth(0x8100, tag(100, 0x0800, syn4)), want: wantSyn4},
		{name: "ethernet/qinq-88a8-8100", reason: "IEEE 802.1ad S-tag then C-tag", link: LinkTypeEthernet,
			frame: eth(0x88a8, tag(10, 0x8100, tag(20, 0x0800, syn4))), want: wantSyn4},
		{name: "ethernet/qinq-8100-8100", reason: "legacy double 802.1Q tags", link: LinkTypeEthernet,
			frame: eth(0x8100, tag(10, 0x8100, tag(20, 0x86dd, syn6))), want: wantSyn6},
		{name: "ethernet/arp", reason: "RFC 826: not IP", link: LinkTypeEthernet,
			frame: eth(0x0806, arp), want: kind(KindOther)},
		{name: "ethernet/pppoe", reason: "RFC 2516 §4 session stage", link: LinkTypeEthernet,
			frame: eth(0x8864, pppoe(syn4)), want: wantSyn4},
		{name: "ethernet/short", reason: "an Ethernet header is 14 bytes", link: LinkTypeEthernet,
			frame: eth(0x0800, nil)[:10], want: kind(KindBadPacket)},
		{name: "ethernet/vlan-tag-cut", reason: "an 802.1Q tag is 4 bytes", link: LinkTypeEthernet,
			frame: eth(0x8100, []byte{0x00}), want: kind(KindBadPacket)},
		{name: "null/short", reason: "the family is 4 bytes", link: LinkTypeNull,
			frame: []byte{2, 0}, want: kind(KindBadPacket)},
		{name: "null/family-above-255", reason: "no byte order gives a family below 256", link: LinkTypeNull,
			frame: null(0x01020304, true, syn4), want: kind(KindBadPacket)},
		{name: "ethernet/empty", reason: "nothing captured", link: LinkTypeEthernet,
			frame: nil, want: kind(KindBadPacket)},

		// Linux cooked.
		{name: "sll/ipv4", reason: "LINKTYPE_LINUX_SLL 113", link: LinkTypeLinuxSLL,
			frame: sll(0x0800, syn4), want: wantSyn4},
		{name: "sll2/ipv4", reason: "LINKTYPE_LINUX_SLL2 276", link: LinkTypeLinuxSLL2,
			frame: sll2(0x0800, syn4), want: wantSyn4},
		{name: "sll2/ipv6", reason: "LINKTYPE_LINUX_SLL2 276", link: LinkTypeLinuxSLL2,
			frame: sll2(0x86dd, syn6), want: wantSyn6},
		{name: "sll2/vlan", reason: "cooked header with protocol 0x8100 keeps the tag", link: LinkTypeLinuxSLL2,
			frame: sll2(0x8100, tag(5, 0x0800, syn4)), want: wantSyn4},

		// Loopback.
		{name: "null/le/af2", reason: "LINKTYPE_NULL, little-endian host, AF_INET", link: LinkTypeNull,
			frame: null(2, true, syn4), want: wantSyn4},
		{name: "null/be/af2", reason: "LINKTYPE_NULL, big-endian host, AF_INET", link: LinkTypeNull,
			frame: null(2, false, syn4), want: wantSyn4},
		{name: "null/le/af24", reason: "AF_INET6 on NetBSD/OpenBSD", link: LinkTypeNull,
			frame: null(24, true, syn6), want: wantSyn6},
		{name: "null/le/af28", reason: "AF_INET6 on FreeBSD", link: LinkTypeNull,
			frame: null(28, true, syn6), want: wantSyn6},
		{name: "null/le/af30", reason: "AF_INET6 on macOS", link: LinkTypeNull,
			frame: null(30, true, syn6), want: wantSyn6},
		{name: "null/be/af30", reason: "AF_INET6 on a big-endian macOS", link: LinkTypeNull,
			frame: null(30, false, syn6), want: wantSyn6},
		{name: "null/le/af10", reason: "AF_INET6 on Linux", link: LinkTypeNull,
			frame: null(10, true, syn6), want: wantSyn6},
		{name: "null/af7", reason: "an unknown address family is not IP", link: LinkTypeNull,
			frame: null(7, true, syn4), want: kind(KindOther)},
		{name: "loop/af2", reason: "LINKTYPE_LOOP 108: big-endian family", link: LinkTypeLoop,
			frame: null(2, false, syn4), want: wantSyn4},
		{name: "loop/af24", reason: "LINKTYPE_LOOP 108: big-endian family", link: LinkTypeLoop,
			frame: null(24, false, syn6), want: wantSyn6},

		// Raw IP.
		{name: "raw101/ipv4", reason: "LINKTYPE_RAW: version nibble 4", link: LinkTypeRaw, frame: syn4, want: wantSyn4},
		{name: "raw101/ipv6", reason: "LINKTYPE_RAW: version nibble 6", link: LinkTypeRaw, frame: syn6, want: wantSyn6},
		{name: "raw12/ipv4", reason: "DLT_RAW 12 on some BSDs", link: LinkTypeRawAlt12, frame: syn4, want: wantSyn4},
		{name: "raw14/ipv6", reason: "DLT_RAW 14 on OpenBSD", link: LinkTypeRawAlt14, frame: syn6, want: wantSyn6},
		{name: "raw228/ipv4", reason: "LINKTYPE_IPV4", link: LinkTypeIPv4, frame: syn4, want: wantSyn4},
		{name: "raw229/ipv6", reason: "LINKTYPE_IPV6", link: LinkTypeIPv6, frame: syn6, want: wantSyn6},
		{name: "raw228/ipv6-packet", reason: "LINKTYPE_IPV4 carries IPv4 only", link: LinkTypeIPv4, frame: syn6, want: kind(KindBadPacket)},
		{name: "raw229/ipv4-packet", reason: "LINKTYPE_IPV6 carries IPv6 only", link: LinkTypeIPv6, frame: syn4, want: kind(KindBadPacket)},
		{name: "raw101/version-5", reason: "neither IPv4 nor IPv6", link: LinkTypeRaw, frame: []byte{0x50}, want: kind(KindBadPacket)},

		// PPP.
		{name: "ppp/hdlc-ipv4", reason: "RFC 1662 address/control then RFC 1661 protocol 0x0021", link: LinkTypePPP,
			frame: cat([]byte{0xff, 0x03, 0x00, 0x21}, syn4), want: wantSyn4},
		{name: "ppp/compressed-ipv4", reason: "RFC 1661 §6.5 protocol-field compression", link: LinkTypePPP,
			frame: cat([]byte{0x21}, syn4), want: wantSyn4},
		{name: "ppp/ipv6", reason: "RFC 5072 protocol 0x0057", link: LinkTypePPP,
			frame: cat([]byte{0x00, 0x57}, syn6), want: wantSyn6},
		{name: "ppp/lcp", reason: "LCP 0xc021 is not IP", link: LinkTypePPP,
			frame: cat([]byte{0xc0, 0x21}, make([]byte, 8)), want: kind(KindOther)},

		{name: "unsupported/147", reason: "LINKTYPE_USER0 is not decodable", link: 147,
			frame: syn4, want: kind(KindUnsupportedLink)},

		// IPv4.
		{name: "ipv4/options", reason: "RFC 791: IHL 7 with router alert (RFC 2113) and NOPs", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, opts: []byte{
				0x94, 0x04, 0x00, 0x00, // router alert
				0x01, 0x01, 0x01, 0x00, // NOP NOP NOP EOL
			}}, synHdr()), want: wantSyn4},
		{name: "ipv4/ihl-4", reason: "RFC 791: IHL is at least 5", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, ihl: 4}, synHdr()), want: kind(KindBadPacket)},
		{name: "ipv4/ihl-past-capture", reason: "options must be captured to find TCP", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, ihl: 15}, nil), want: kind(KindBadPacket)},
		{name: "ipv4/total-length-past-frame", reason: "total length beyond the on-wire frame is a lie, not a snaplen cut", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, total: 1500}, synHdr()), want: kind(KindBadPacket)},
		{name: "ipv4/total-length-below-ihl", reason: "RFC 791: total length includes the header", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, total: 19}, synHdr()), want: kind(KindBadPacket)},
		{name: "ipv4/tso-total-length-0", reason: "Linux TSO captures carry total length 0: use the frame", link: LinkTypeRaw,
			frame: tso, want: tcpPkt(tsoSeg)},
		{name: "ipv4/first-fragment", reason: "RFC 791: offset 0 with MF starts with the TCP header", link: LinkTypeRaw,
			frame: firstFrag, want: fragPkt(Fragment{Src: cli4, Dst: srv4, ID: 0x1234, Proto: protoTCP, More: true, Wire: 120, HdrLen: 20})},
		{name: "ipv4/tiny-first-fragment", reason: "RFC 791: a first fragment of 16 bytes cannot hold the TCP header (RFC 1858 tiny fragment)", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, frag: 0x2000}, synHdr()[:16]),
			want:  fragPkt(Fragment{Src: cli4, Dst: srv4, ID: 0x1234, Proto: protoTCP, More: true, Wire: 16, HdrLen: 20})},
		{name: "ipv4/first-fragment-options-continue", reason: "data offset past this fragment: the header continues in the next one", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, frag: 0x2000}, synHdr()[:24]),
			want:  fragPkt(Fragment{Src: cli4, Dst: srv4, ID: 0x1234, Proto: protoTCP, More: true, Wire: 24, HdrLen: 20})},
		{name: "ipv4/non-first-fragment", reason: "RFC 791: offset 185 (1480 bytes) holds no TCP header", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, frag: 185}, payload100),
			want:  fragPkt(Fragment{Src: cli4, Dst: srv4, ID: 0x1234, Proto: protoTCP, Offset: 1480, Wire: 100, HdrLen: 20})},
		{name: "ipv4/udp", reason: "RFC 768: not TCP", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: 17}, udp), want: kind(KindOther)},
		{name: "ipv4/short", reason: "the fixed IPv4 header is 20 bytes", link: LinkTypeRaw,
			frame: syn4[:19], origLen: len(syn4), want: kind(KindBadPacket)},

		// IPv6.
		{name: "ipv6/ext-chain", reason: "RFC 8200 §4.1: hop-by-hop, routing, destination options, fragment (offset 0)", link: LinkTypeRaw,
			frame: ip6(cli6, srv6, []ext{hbhPad, routing0, destPad, fragExt(0, true)}, protoTCP, synHdr(), 0), verify: true,
			want: fragPkt(Fragment{V6: true, Src: cli6, Dst: srv6, ID: 0xdeadbeef, Proto: protoTCP, More: true, Wire: 40, HdrLen: 64})},
		{name: "ipv6/atomic-fragment", reason: "RFC 6946: fragment header with offset 0 and M clear is a whole packet", link: LinkTypeRaw,
			frame: ip6(cli6, srv6, []ext{fragExt(0, false)}, protoTCP, synHdr(), 0), want: wantSyn6},
		{name: "ipv6/ah", reason: "RFC 4302: AH length is in 4-octet units minus 2", link: LinkTypeRaw,
			frame: ip6(cli6, srv6, []ext{{protoAH, []byte{
				4,    // Payload Len: (4+2)*4 = 24 bytes
				0, 0, // reserved
				0, 0, 1, 0, // SPI 256
				0, 0, 0, 1, // sequence number 1
				1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, // ICV, 12 bytes
			}}}, protoTCP, synHdr(), 0), want: wantSyn6},
		{name: "ipv6/non-first-fragment", reason: "RFC 8200 §4.5: offset 185 holds no TCP header", link: LinkTypeRaw,
			frame: ip6(cli6, srv6, []ext{fragExt(185, false)}, protoTCP, payload100, 0),
			want:  fragPkt(Fragment{V6: true, Src: cli6, Dst: srv6, ID: 0xdeadbeef, Proto: protoTCP, Offset: 1480, Wire: 100, HdrLen: 40})},
		{name: "ipv6/no-next-header", reason: "RFC 8200 §4.7: next header 59", link: LinkTypeRaw,
			frame: ip6(cli6, srv6, []ext{destPad}, protoNoNext, nil, 0), want: kind(KindOther)},
		{name: "ipv6/ext-cut", reason: "an extension header cut by the snap length hides the TCP header", link: LinkTypeRaw,
			frame: ip6(cli6, srv6, []ext{hbhPad}, protoTCP, synHdr(), 0)[:44], origLen: 40 + 8 + 40, want: kind(KindBadPacket)},
		{name: "ipv6/payload-length-past-frame", reason: "payload length beyond the on-wire frame", link: LinkTypeRaw,
			frame: ip6(cli6, srv6, nil, protoTCP, synHdr(), 1000), want: kind(KindBadPacket)},

		// TCP header.
		{name: "tcp/snaplen-options-cut-after-sack", reason: "snap length cut the options: parse what is there", link: LinkTypeEthernet,
			frame: eth(0x0800, syn4)[:14+20+26], origLen: 14 + len(syn4),
			want: tcpPkt(func() Segment {
				s := synSeg(cli4, srv4)
				s.Options = Options{Present: OptMSS | OptSACKPermitted | OptTruncated, MSS: 1460}
				return s
			}())},
		{name: "tcp/snaplen-options-cut-inside-timestamps", reason: "a partly captured option is not OptBad", link: LinkTypeEthernet,
			frame: eth(0x0800, syn4)[:14+20+30], origLen: 14 + len(syn4), verify: true,
			want: tcpPkt(func() Segment {
				s := synSeg(cli4, srv4)
				s.Options = Options{Present: OptMSS | OptSACKPermitted | OptTruncated, MSS: 1460}
				return s // Checksum stays Unknown: the segment was not captured whole
			}())},
		{name: "tcp/data-offset-3", reason: "RFC 9293 §3.1: data offset is at least 5", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, tcpHdr(tcpSpec{off: 3, flags: SYN})), want: kind(KindBadTCP)},
		{name: "tcp/data-offset-15-20-bytes-captured", reason: "snap length cut inside the options: still a segment, OptTruncated", link: LinkTypeRaw,
			frame: off15[:20+20], origLen: len(off15),
			want: tcpPkt(optsSeg(Options{Present: OptTruncated}))},
		{name: "tcp/data-offset-15-past-ip-length", reason: "a header longer than the IP payload is unusable", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, tcpHdr(tcpSpec{off: 15, flags: SYN})), want: kind(KindBadTCP)},
		{name: "tcp/fixed-header-cut", reason: "the fixed 20 bytes were not captured", link: LinkTypeRaw,
			frame: syn4[:20+19], origLen: len(syn4), want: kind(KindBadTCP)},
		{name: "tcp/ip-payload-below-20", reason: "the IP payload cannot hold a TCP header", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, make([]byte, 12)), want: kind(KindBadTCP)},
		{name: "tcp/all-9-flags", reason: "RFC 9293 §3.1 flags plus RFC 3540 NS (bit 0 of byte 12)", link: LinkTypeRaw,
			frame: all9, want: tcpPkt(Segment{
				Src: netip.AddrPortFrom(cli4, 1), Dst: netip.AddrPortFrom(srv4, 2),
				Seq: 3, Ack: 4, Flags: FIN | SYN | RST | PSH | ACK | URG | ECE | CWR | NS, Window: 5,
			})},
		{name: "tcp/syn-with-data", reason: "RFC 7413: SYN carrying data; PayloadLen from IP length", link: LinkTypeRaw,
			frame: tfoData, want: tcpPkt(tfoDataSeg)},

		// TCP options.
		{name: "opt/tfo-cookie-request", reason: "RFC 7413 §4.1.1: kind 34 length 2 asks for a cookie", link: LinkTypeRaw,
			frame: optsFrame([]byte{2, 4, 0x05, 0xb4, 34, 2}),
			want:  tcpPkt(optsSeg(Options{Present: OptMSS | OptFastOpen, MSS: 1460}))},
		{name: "opt/tfo-cookie", reason: "RFC 7413 §4.1.1: kind 34 with an 8-byte cookie", link: LinkTypeRaw,
			frame: optsFrame([]byte{34, 10, 1, 2, 3, 4, 5, 6, 7, 8}),
			want:  tcpPkt(optsSeg(Options{Present: OptFastOpen, CookieLen: 8}))},
		{name: "opt/tfo-experimental-254", reason: "RFC 7413 §4.1.1 / RFC 6994: kind 254, ExID 0xF989", link: LinkTypeRaw,
			frame: optsFrame([]byte{254, 12, 0xf9, 0x89, 1, 2, 3, 4, 5, 6, 7, 8}),
			want:  tcpPkt(optsSeg(Options{Present: OptFastOpen, CookieLen: 8}))},
		{name: "opt/experimental-254-other-exid", reason: "RFC 6994: other experiments are ignored", link: LinkTypeRaw,
			frame: optsFrame([]byte{254, 4, 0x12, 0x34}),
			want:  tcpPkt(optsSeg(Options{}))},
		{name: "opt/length-1", reason: "RFC 9293 §3.2: length counts kind and length, so ≥ 2", link: LinkTypeRaw,
			frame: optsFrame([]byte{5, 1, 0, 0}),
			want:  tcpPkt(optsSeg(Options{Present: OptBad, BadKind: 5}))},
		{name: "opt/mss-length-3", reason: "RFC 9293 §3.2: MSS has length 4", link: LinkTypeRaw,
			frame: optsFrame([]byte{2, 3, 5, 1}),
			want:  tcpPkt(optsSeg(Options{Present: OptBad, BadKind: 2}))},
		{name: "opt/wscale-after-mss-bad-length", reason: "parsing stops at the first bad option", link: LinkTypeRaw,
			frame: optsFrame([]byte{2, 4, 0x05, 0xb4, 3, 4, 7, 0}),
			want:  tcpPkt(optsSeg(Options{Present: OptMSS | OptBad, MSS: 1460, BadKind: 3}))},
		{name: "opt/timestamps-past-header", reason: "an option running past the data offset is malformed", link: LinkTypeRaw,
			frame: optsFrame([]byte{1, 1, 8, 10, 0, 0, 0, 0}),
			want:  tcpPkt(optsSeg(Options{Present: OptBad, BadKind: 8}))},
		{name: "opt/length-byte-past-header", reason: "the length byte itself lies past the data offset", link: LinkTypeRaw,
			frame: optsFrame([]byte{1, 1, 1, 2}),
			want:  tcpPkt(optsSeg(Options{Present: OptBad, BadKind: 2}))},
		{name: "opt/eol-stops", reason: "RFC 9293 §3.2: nothing after End of Option List is parsed", link: LinkTypeRaw,
			frame: optsFrame([]byte{0, 2, 4, 0x05, 0xb4}),
			want:  tcpPkt(optsSeg(Options{}))},
		{name: "opt/sack-permitted-length-3", reason: "RFC 2018: SACK-permitted has length 2", link: LinkTypeRaw,
			frame: optsFrame([]byte{4, 3, 0, 1}),
			want:  tcpPkt(optsSeg(Options{Present: OptBad, BadKind: 4}))},

		// ICMP errors.
		{name: "icmp4/unreachable-quoting-syn-8-bytes", reason: "RFC 792: IP header + 8 bytes quoted; flags not quoted", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: rtr4, dst: cli4, proto: protoICMPv4}, icmp4(3, 1, quote4short)),
			want:  Packet{Kind: KindICMPError, Segment: quotedSeg4, ICMP: ICMPError{From: rtr4, Type: 3, Code: 1, Quoted: 8}}},
		{name: "icmp4/time-exceeded-quoting-whole-syn", reason: "RFC 1812 §4.3.2.3: routers quote more; flags and window read", link: LinkTypeEthernet,
			frame: eth(0x0800, ip4(ip4Spec{src: rtr4, dst: cli4, proto: protoICMPv4}, icmp4(11, 0, quote4long))),
			want:  Packet{Kind: KindICMPError, Segment: quotedSeg4Long, ICMP: ICMPError{From: rtr4, Type: 11, Code: 0, Quoted: 20}}},
		{name: "icmp4/unreachable-quoting-udp", reason: "not about TCP", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: rtr4, dst: cli4, proto: protoICMPv4}, icmp4(3, 3, quotedUDP)), want: kind(KindOther)},
		{name: "icmp4/unreachable-quote-cut", reason: "fewer than the 8 guaranteed TCP bytes", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: rtr4, dst: cli4, proto: protoICMPv4}, icmp4(3, 3, syn4[:24])), want: kind(KindBadPacket)},
		{name: "icmp4/echo-request", reason: "RFC 792 type 8 is not an error", link: LinkTypeRaw,
			frame: ip4(ip4Spec{src: rtr4, dst: cli4, proto: protoICMPv4}, icmp4(8, 0, []byte("ping"))), want: kind(KindOther)},
		{name: "icmp6/unreachable-quoting-syn-with-hbh", reason: "RFC 4443 §3.1: quote walks the extension headers", link: LinkTypeRaw,
			frame: ip6(rtr6, cli6, nil, protoICMPv6, icmp4(1, 4, quote6), 0),
			want:  Packet{Kind: KindICMPError, Segment: quotedSeg6, ICMP: ICMPError{From: rtr6, Type: 1, Code: 4, V6: true, Quoted: 8}}},
		{name: "icmp6/packet-too-big", reason: "RFC 4443 §3.2: type 2 is an error", link: LinkTypeRaw,
			frame: ip6(rtr6, cli6, nil, protoICMPv6, icmp4(2, 0, syn6[:40+8]), 0),
			want:  Packet{Kind: KindICMPError, Segment: quotedSeg6, ICMP: ICMPError{From: rtr6, Type: 2, Code: 0, V6: true, Quoted: 8}}},
		{name: "icmp6/echo-request", reason: "RFC 4443 type 128 is not an error", link: LinkTypeRaw,
			frame: ip6(rtr6, cli6, nil, protoICMPv6, icmp4(128, 0, nil), 0), want: kind(KindOther)},

		// Checksums.
		{name: "checksum/ipv4-good", reason: "RFC 9293 §3.1 pseudo-header", link: LinkTypeRaw,
			frame: syn4, verify: true, want: good(wantSyn4)},
		{name: "checksum/ipv4-bad", reason: "one byte flipped after the checksum was computed", link: LinkTypeRaw,
			frame: badSum4, verify: true, want: func() Packet {
				p := wantSyn4
				p.Segment.Options.WindowScale ^= 0xff
				p.Segment.Checksum = ChecksumBad
				return p
			}()},
		{name: "checksum/ipv6-good", reason: "RFC 8200 §8.1 pseudo-header", link: LinkTypeRaw,
			frame: syn6, verify: true, want: good(wantSyn6)},
		{name: "checksum/ipv6-bad", reason: "one byte flipped after the checksum was computed", link: LinkTypeRaw,
			frame: badSum6, verify: true, want: func() Packet {
				p := wantSyn6
				p.Segment.Options.WindowScale ^= 0xff
				p.Segment.Checksum = ChecksumBad
				return p
			}()},
		{name: "checksum/not-verified", reason: "VerifyChecksums off leaves ChecksumUnknown", link: LinkTypeRaw,
			frame: badSum4, want: func() Packet {
				p := wantSyn4
				p.Segment.Options.WindowScale ^= 0xff
				return p
			}()},
	}
}

func TestDecode(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range decodeCases() {
		if seen[tc.name] || tc.reason == "" {
			t.Fatalf("case %q: names must be unique and reasons given", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(DecoderOptions{VerifyChecksums: tc.verify})
			origLen := tc.origLen
			if origLen == 0 {
				origLen = len(tc.frame)
			}
			// Start from garbage: Decode must overwrite all of p.
			p := Packet{Kind: KindBadTCP, Segment: Segment{Frame: 99, PayloadLen: -5, Options: Options{MSS: 1}}, ICMP: ICMPError{Code: 9}}
			d.Decode(tc.link, tc.frame, origLen, &p)
			// IPLen is checked by TestIPLen; the cases here leave it out.
			if tc.want.Kind == KindTCP && p.Segment.IPLen <= 0 {
				t.Errorf("IPLen = %d for a TCP segment", p.Segment.IPLen)
			}
			p.Segment.IPLen = tc.want.Segment.IPLen
			if p != tc.want {
				t.Errorf("Decode (%s):\n got %s\nwant %s", tc.reason, fmtPacket(p), fmtPacket(tc.want))
			}
			if got := d.Counters().ByKind[tc.want.Kind]; got != 1 {
				t.Errorf("Counters().ByKind[%v] = %d, want 1", tc.want.Kind, got)
			}
		})
	}
}

// fmtPacket prints every field of p.
func fmtPacket(p Packet) string {
	return fmt.Sprintf("%v %+v flags=%v ICMP=%+v Frag=%+v tunnel=%q %+v", p.Kind, p.Segment, p.Segment.Flags, p.ICMP, p.Frag, p.Tunnel.String(), p.Tunnel)
}

func TestSupported(t *testing.T) {
	for _, lt := range []uint32{0, 1, 9, 12, 14, 101, 104, 105, 108, 113, 127, 228, 229, 239, 242, 276} {
		if !Supported(lt) {
			t.Errorf("Supported(%d) = false, want true", lt)
		}
	}
	for _, lt := range []uint32{2, 147, 192, 1000} {
		if Supported(lt) {
			t.Errorf("Supported(%d) = true, want false", lt)
		}
	}
}

func TestKindString(t *testing.T) {
	want := map[Kind]string{
		KindOther: "other", KindTCP: "tcp", KindICMPError: "icmp_error", KindFragment: "fragment",
		KindBadTCP: "bad_tcp", KindBadPacket: "bad_packet", KindUnsupportedLink: "unsupported_link",
		KindUnknownEncap: "unknown_encap",
		Kind(200):        "Kind(200)",
	}
	for k, s := range want {
		if got := k.String(); got != s {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, s)
		}
	}
}

// TestChecksumMatchesSlow checks the fast checksum against slowChecksum
// for every segment length up to 100 bytes, odd lengths included.
func TestChecksumMatchesSlow(t *testing.T) {
	for _, pair := range [][2]netip.Addr{{cli4, srv4}, {cli6, srv6}} {
		for n := 0; n <= 100; n++ {
			seg := make([]byte, n)
			for i := range seg {
				seg[i] = byte(i*7 + n)
			}
			if len(seg) >= 18 {
				seg[16], seg[17] = 0, 0
			}
			want := slowChecksum(pair[0], pair[1], seg)
			// With the checksum field zero, tcpChecksum returns the value
			// to store.
			if got := tcpChecksum(pair[0].AsSlice(), pair[1].AsSlice(), seg); got != want {
				t.Errorf("%v len %d: tcpChecksum = %#04x, slow = %#04x", pair[0], n, got, want)
			}
		}
	}
}

// TestIPLen checks Segment.IPLen (the IP packet length per its header, as
// Zeek counts ip_bytes) and PayloadCut.
func TestIPLen(t *testing.T) {
	data := cat(synHdr(), make([]byte, 100))
	v4 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, data)
	v4opts := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, opts: make([]byte, 8)}, data)
	v6 := ip6(cli6, srv6, []ext{fragExt(0, false)}, protoTCP, data, 0)
	hdr := len(synHdr())
	tests := []struct {
		name    string
		frame   []byte
		snap    int // bytes captured; 0: all
		ipLen   int
		cut     bool
		comment string
	}{
		{"ipv4", v4, 0, 20 + hdr + 100, false, "RFC 791 total length"},
		{"ipv4-options", v4opts, 0, 28 + hdr + 100, false, "the total length counts IP options"},
		{"ipv6-ext", v6, 0, 40 + 8 + hdr + 100, false, "40 + payload length, which counts extension headers (RFC 8200 §3)"},
		{"ipv4-padded", cat(v4, make([]byte, 30)), 0, 20 + hdr + 100, false, "link padding is not counted"},
		{"ipv4-snaplen", v4, 20 + hdr + 10, 20 + hdr + 100, true, "a snap length cut keeps the header's length and sets PayloadCut"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := tt.frame
			if tt.snap > 0 {
				frame = frame[:tt.snap]
			}
			var p Packet
			NewDecoder(DecoderOptions{}).Decode(LinkTypeRaw, frame, len(tt.frame), &p)
			if p.Kind != KindTCP || p.Segment.IPLen != tt.ipLen || p.Segment.PayloadCut != tt.cut {
				t.Errorf("%s: kind %v IPLen %d PayloadCut %v, want TCP %d %v", tt.comment, p.Kind, p.Segment.IPLen, p.Segment.PayloadCut, tt.ipLen, tt.cut)
			}
		})
	}
}
