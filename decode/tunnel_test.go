package decode

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// Tunnel endpoints of the test frames.
var (
	vtepA  = netip.MustParseAddr("10.1.0.1")
	vtepB  = netip.MustParseAddr("10.1.0.2")
	vtep6A = netip.MustParseAddr("2001:db8:aa::1")
	vtep6B = netip.MustParseAddr("2001:db8:aa::2")
)

// udpHdr builds a UDP datagram (checksum 0: not used over IPv4, and the
// decoder does not check it) from sport to dport carrying payload.
func udpHdr(sport, dport uint16, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(b[0:2], sport)
	binary.BigEndian.PutUint16(b[2:4], dport)
	binary.BigEndian.PutUint16(b[4:6], uint16(8+len(payload)))
	return append(b, payload...)
}

// outer4 wraps payload of protocol proto in an IPv4 header from vtepA to
// vtepB.
func outer4(proto uint8, payload []byte) []byte {
	return ip4(ip4Spec{src: vtepA, dst: vtepB, proto: proto}, payload)
}

// vxlanHdr is a VXLAN header with the I flag and the given VNI.
func vxlanHdr(vni uint32) []byte {
	return []byte{0x08, 0, 0, 0, byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
}

// greHdr builds a GRE header: flags (C, K, S bits of the first byte and
// the version), protocol, then the optional fields in order.
func greHdr(flags uint16, proto uint16, opt ...uint32) []byte {
	b := binary.BigEndian.AppendUint16(nil, flags)
	b = binary.BigEndian.AppendUint16(b, proto)
	for _, v := range opt {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// tun returns a Tunnel of the given levels.
func tun(levels ...TunnelLevel) Tunnel {
	var t Tunnel
	for _, l := range levels {
		t.Push(l)
	}
	return t
}

// lvl is a tunnel level between vtepA and vtepB.
func lvl(typ TunnelType, id uint32, hasID bool) TunnelLevel {
	return TunnelLevel{Type: typ, ID: id, HasID: hasID, Src: vtepA, Dst: vtepB}
}

// tunneled is wantSyn4 (cli4 → srv4) inside the given tunnel.
func tunneled(t Tunnel) Packet {
	p := tcpPkt(synSeg(cli4, srv4))
	p.Tunnel = t
	return p
}

// tunnelCases are TestDecode's cases for every encapsulation.
func tunnelCases() []decodeCase {
	syn4 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, synHdr())
	syn6 := ip6(cli6, srv6, nil, protoTCP, synHdr(), 0)
	inner := eth(etherTypeIPv4, syn4)
	want6 := tcpPkt(synSeg(cli6, srv6))

	gtpHdr := func(flags byte, teid uint32, rest []byte, payload []byte) []byte {
		b := []byte{flags, 0xFF, 0, 0}
		binary.BigEndian.PutUint16(b[2:4], uint16(len(rest)+len(payload)))
		b = binary.BigEndian.AppendUint32(b, teid)
		return cat(b, rest, payload)
	}
	geneve := func(proto uint16, vni uint32, opts []byte, payload []byte) []byte {
		b := []byte{byte(len(opts) / 4), 0, byte(proto >> 8), byte(proto), byte(vni >> 16), byte(vni >> 8), byte(vni), 0}
		return cat(b, opts, payload)
	}
	erspan2 := func(session uint16, payload []byte) []byte {
		return cat([]byte{0x10, 0x64, byte(session >> 8 & 0x03), byte(session), 0, 0, 0, 0}, payload)
	}
	erspan3 := func(session uint16, ft byte, o bool, payload []byte) []byte {
		b := []byte{0x20, 0x64, byte(session >> 8 & 0x03), byte(session), 1, 2, 3, 4, 0, 0, ft << 2, 0}
		if o {
			b[11] |= 1
			b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
		}
		return cat(b, payload)
	}
	// nest wraps syn4 in n levels of IPv4-in-IPv4.
	nest := func(n int) []byte {
		b := syn4
		for range n {
			b = outer4(protoIPv4, b)
		}
		return b
	}
	nestWant := func(n int) Packet {
		var t Tunnel
		for range n {
			t.Push(lvl(TunnelIPIP, 0, false))
		}
		return tunneled(t)
	}
	teredoOrigin := []byte{0x00, 0x00, 0xf2, 0x27, 0x3f, 0xd7, 0x9c, 0x29}
	teredoAuth := cat([]byte{0x00, 0x01, 2, 0}, []byte{'i', 'd'}, make([]byte, 8), []byte{0})

	return []decodeCase{
		{name: "tunnel/vxlan", reason: "RFC 7348 §5: UDP 4789, I flag, VNI 42, Ethernet inside", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(40000, portVXLAN, cat(vxlanHdr(42), inner)))),
			want:  tunneled(tun(lvl(TunnelVXLAN, 42, true)))},
		{name: "tunnel/vxlan-linux-port", reason: "Linux's pre-IANA VXLAN port 8472", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(40000, portVXLANLinux, cat(vxlanHdr(7), inner)))),
			want:  tunneled(tun(lvl(TunnelVXLAN, 7, true)))},
		{name: "tunnel/vxlan-no-I-flag", reason: "RFC 7348 §5: the I flag must be set; without it the datagram is plain UDP", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(40000, portVXLAN, cat([]byte{0, 0, 0, 0, 0, 0, 42, 0}, inner)))),
			want:  kind(KindOther)},
		{name: "tunnel/vxlan-over-ipv6-with-vlan-inside", reason: "VXLAN over IPv6; the inner frame carries an 802.1Q tag", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv6, ip6(vtep6A, vtep6B, nil, protoUDP, udpHdr(40000, portVXLAN, cat(vxlanHdr(5), eth(etherTypeDot1Q, tag(100, etherTypeIPv4, syn4)))), 0)),
			want:  tunneled(tun(TunnelLevel{Type: TunnelVXLAN, ID: 5, HasID: true, Src: vtep6A, Dst: vtep6B}))},
		{name: "tunnel/geneve-options", reason: "RFC 8926 §3: 8 bytes of options skipped, protocol TEB", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(40000, portGENEVE, geneve(etherTypeTEB, 0xABCDEF, []byte{0x01, 0x02, 0x03, 0x01, 1, 2, 3, 4}, inner)))),
			want:  tunneled(tun(lvl(TunnelGENEVE, 0xABCDEF, true)))},
		{name: "tunnel/geneve-ip", reason: "RFC 8926 §3.4: protocol type 0x86DD, an IPv6 packet with no Ethernet header", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(40000, portGENEVE, geneve(etherTypeIPv6, 9, nil, syn6)))),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(lvl(TunnelGENEVE, 9, true))
				return p
			}()},
		{name: "tunnel/geneve-unknown-protocol", reason: "a GENEVE protocol type hsanalyze does not decode", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(40000, portGENEVE, geneve(0x0806, 9, nil, syn4)))),
			want:  kind(KindUnknownEncap)},
		{name: "tunnel/gre-ipv4", reason: "RFC 2784: 4-byte header, protocol 0x0800", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0, etherTypeIPv4), syn4))),
			want:  tunneled(tun(lvl(TunnelGRE, 0, false)))},
		{name: "tunnel/gre-checksum-key-seq", reason: "RFC 2784 C bit and RFC 2890 K and S bits: 12 optional bytes, key 0x01020304", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0xB000, etherTypeIPv4, 0xffff0000, 0x01020304, 99), syn4))),
			want:  tunneled(tun(lvl(TunnelGRE, 0x01020304, true)))},
		{name: "tunnel/gre-ipv6", reason: "RFC 7676: GRE protocol 0x86DD", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x2000, etherTypeIPv6, 77), syn6))),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(lvl(TunnelGRE, 77, true))
				return p
			}()},
		{name: "tunnel/gretap", reason: "GRE protocol 0x6558 (transparent Ethernet bridging)", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x2000, etherTypeTEB, 3), inner))),
			want:  tunneled(tun(lvl(TunnelGRE, 3, true)))},
		{name: "tunnel/gre-mpls", reason: "RFC 4023: MPLS in GRE", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0, etherTypeMPLS), []byte{0, 1, 0x01, 64}, syn4))),
			want:  tunneled(tun(lvl(TunnelGRE, 0, false)))},
		{name: "tunnel/gre-pptp", reason: "RFC 2637 §4.1: enhanced GRE version 1, K set, call ID 0x0042, S and A set, PPP inside", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x3081, grePPP, uint32(len(syn4)+4)<<16|0x42, 1, 2), []byte{0xFF, 0x03, 0x00, 0x21}, syn4))),
			want:  tunneled(tun(lvl(TunnelGRE, 0x42, true)))},
		{name: "tunnel/gre-routing", reason: "RFC 1701 source routing is not decoded", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x4000, etherTypeIPv4), syn4))),
			want:  kind(KindUnknownEncap)},
		{name: "tunnel/gre-unknown-protocol", reason: "a GRE protocol hsanalyze does not decode (0x0806 ARP)", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0, 0x0806), syn4))),
			want:  kind(KindUnknownEncap)},
		{name: "tunnel/gre-cut", reason: "the key field announced by K is not captured", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, greHdr(0x2000, etherTypeIPv4))),
			want:  kind(KindBadPacket)},
		{name: "tunnel/erspan-i", reason: "ERSPAN type I: GRE 0x88BE without the S bit, the mirrored frame right after GRE", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0, greERSPAN2), inner))),
			want:  tunneled(tun(lvl(TunnelERSPAN, 0, false)))},
		{name: "tunnel/erspan-ii", reason: "ERSPAN type II: GRE 0x88BE with S, 8-byte header version 1, session 0x155", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x1000, greERSPAN2, 1), erspan2(0x155, inner)))),
			want:  tunneled(tun(lvl(TunnelERSPAN, 0x155, true)))},
		{name: "tunnel/erspan-iii", reason: "ERSPAN type III: GRE 0x22EB, 12-byte header version 2 with the 8-byte platform subheader (O bit)", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x1000, greERSPAN3, 1), erspan3(3, 0, true, inner)))),
			want:  tunneled(tun(lvl(TunnelERSPAN, 3, true)))},
		{name: "tunnel/erspan-iii-ip-frame", reason: "ERSPAN type III frame type 2: an IP packet without Ethernet", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x1000, greERSPAN3, 1), erspan3(4, 2, false, syn4)))),
			want:  tunneled(tun(lvl(TunnelERSPAN, 4, true)))},
		{name: "tunnel/ipip", reason: "RFC 2003: IP protocol 4", link: LinkTypeRaw,
			frame: outer4(protoIPv4, syn4), want: tunneled(tun(lvl(TunnelIPIP, 0, false)))},
		{name: "tunnel/6in4", reason: "RFC 4213 §3.5: IP protocol 41", link: LinkTypeRaw,
			frame: outer4(protoIPv6, syn6),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(lvl(Tunnel6in4, 0, false))
				return p
			}()},
		{name: "tunnel/4in6-after-dest-opts", reason: "RFC 2473: IPv4 in IPv6, next header 4 after a destination options header", link: LinkTypeRaw,
			frame: ip6(vtep6A, vtep6B, []ext{destPad}, protoIPv4, syn4, 0),
			want:  tunneled(tun(TunnelLevel{Type: Tunnel4in6, Src: vtep6A, Dst: vtep6B}))},
		{name: "tunnel/6in6", reason: "RFC 2473: IPv6 in IPv6, next header 41", link: LinkTypeRaw,
			frame: ip6(vtep6A, vtep6B, nil, protoIPv6, syn6, 0),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(TunnelLevel{Type: Tunnel6in6, Src: vtep6A, Dst: vtep6B})
				return p
			}()},
		{name: "tunnel/teredo", reason: "RFC 4380 §5.1.1: IPv6 right after the UDP header", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(3797, portTeredo, syn6))),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(lvl(TunnelTeredo, 0, false))
				return p
			}()},
		{name: "tunnel/teredo-origin-auth", reason: "RFC 4380 §5.1.1: authentication header (client ID 2 bytes), then origin indication, then IPv6", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(portTeredo, 3797, cat(teredoAuth, teredoOrigin, syn6)))),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(lvl(TunnelTeredo, 0, false))
				return p
			}()},
		{name: "tunnel/teredo-not-ipv6", reason: "other UDP on port 3544 is plain UDP", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(3797, portTeredo, syn4))),
			want:  kind(KindOther)},
		{name: "tunnel/gtpu", reason: "TS 29.281 §5.1: G-PDU, TEID 0x11223344, no optional fields", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(portGTPU, portGTPU, gtpHdr(0x30, 0x11223344, nil, syn4)))),
			want:  tunneled(tun(lvl(TunnelGTPU, 0x11223344, true)))},
		{name: "tunnel/gtpu-extension-headers", reason: "TS 29.281 §5.2: E set, a PDU session container (type 0x85, one 4-byte unit), then IPv6", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(portGTPU, portGTPU, gtpHdr(0x34, 1, []byte{0, 0, 0, 0x85, 1, 0x10, 0x09, 0}, syn6)))),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(lvl(TunnelGTPU, 1, true))
				return p
			}()},
		{name: "tunnel/gtpu-echo", reason: "GTP-U echo request (type 1) carries no user packet", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(portGTPU, portGTPU, []byte{0x32, 1, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0}))),
			want:  kind(KindOther)},
		{name: "tunnel/ayiya", reason: "AYIYA forward (opcode 1) of IPv6: 16-byte identity (IDLen 4), 20-byte SHA-1 signature", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoUDP, udpHdr(portAYIYA, portAYIYA, cat([]byte{0x41, 0x52, 0x11, protoIPv6, 0, 0, 0, 0}, make([]byte, 16+20), syn6)))),
			want: func() Packet {
				p := want6
				p.Tunnel = tun(lvl(TunnelAYIYA, 0, false))
				return p
			}()},
		{name: "tunnel/vxlan-in-gre", reason: "two levels, outermost first: GRE key 1 carrying IPv4, UDP 4789, VXLAN 2", link: LinkTypeEthernet,
			frame: eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x2000, etherTypeIPv4, 1), outer4(protoUDP, udpHdr(1, portVXLAN, cat(vxlanHdr(2), inner)))))),
			want:  tunneled(tun(lvl(TunnelGRE, 1, true), lvl(TunnelVXLAN, 2, true)))},
		{name: "tunnel/nesting-at-bound", reason: "MaxNesting levels of IP-in-IP are decoded", link: LinkTypeRaw,
			frame: nest(MaxNesting), want: nestWant(MaxNesting)},
		{name: "tunnel/nesting-past-bound", reason: "one level more than MaxNesting is counted, not decoded", link: LinkTypeRaw,
			frame: nest(MaxNesting + 1), want: kind(KindUnknownEncap)},
		{name: "l2/pbb", reason: "802.1ah: I-TAG (4 bytes) then the customer Ethernet frame", link: LinkTypeEthernet,
			frame: eth(etherTypePBB, cat([]byte{0, 0x01, 0x02, 0x03}, inner)), want: tcpPkt(synSeg(cli4, srv4))},
		{name: "l2/vntag", reason: "VN-Tag: 4-byte tag then the next EtherType", link: LinkTypeEthernet,
			frame: eth(etherTypeVNTag, cat([]byte{0x80, 0x01, 0x00, 0x02, 0x08, 0x00}, syn4)), want: tcpPkt(synSeg(cli4, srv4))},
		{name: "l2/fabricpath", reason: "Cisco FabricPath: FTag and TTL, then the classical Ethernet frame", link: LinkTypeEthernet,
			frame: eth(etherTypeFabricPath, cat([]byte{0x00, 0x3f}, inner)), want: tcpPkt(synSeg(cli4, srv4))},
		{name: "l2/pbb-nesting-past-bound", reason: "PBB inside PBB past MaxNesting is not decoded", link: LinkTypeEthernet,
			frame: func() []byte {
				b := inner
				for range MaxNesting + 1 {
					b = eth(etherTypePBB, cat([]byte{0, 0, 0, 1}, b))
				}
				return b
			}(), want: kind(KindUnknownEncap)},
	}
}

func TestTunnelText(t *testing.T) {
	tt := tun(lvl(TunnelGRE, 7, true), lvl(TunnelIPIP, 0, false), lvl(TunnelVXLAN, 42, true))
	if got, want := tt.String(), "gre=7/ipip/vxlan=42"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Tunnel{}).String(); got != "" {
		t.Errorf("plain String() = %q, want empty", got)
	}
	if tt.Len() != 3 || tt.Level(2).ID != 42 {
		t.Errorf("Len/Level wrong: %d %+v", tt.Len(), tt.Level(2))
	}
	full := nestTunnel(MaxNesting)
	if full.Push(lvl(TunnelGRE, 1, true)) || full.Len() != MaxNesting {
		t.Errorf("Push past MaxNesting accepted")
	}
	for typ := range TunnelType(numTunnelTypes) {
		if typ.String() == "" {
			t.Errorf("TunnelType %d has no name", typ)
		}
	}
	if got := TunnelType(200).String(); got != "TunnelType(200)" {
		t.Errorf("unknown type String() = %q", got)
	}
}

func nestTunnel(n int) Tunnel {
	var t Tunnel
	for range n {
		t.Push(lvl(TunnelIPIP, 0, false))
	}
	return t
}
