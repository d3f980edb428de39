package decode

import "testing"

// fuzzLinks are the link types FuzzDecode picks from; the last one is
// unsupported.
var fuzzLinks = [...]uint32{
	LinkTypeNull, LinkTypeEthernet, LinkTypePPP, LinkTypeRawAlt12, LinkTypeRawAlt14,
	LinkTypeRaw, LinkTypeLoop, LinkTypeLinuxSLL, LinkTypeIPv4, LinkTypeIPv6,
	LinkTypeLinuxSLL2, LinkTypeCiscoHDLC, LinkTypeIEEE80211, LinkTypeRadiotap,
	LinkTypeNFLOG, LinkTypeIPoIB, 147,
}

// fuzzSel returns the fuzzLinks index of link.
func fuzzSel(link uint32) uint8 {
	for i, l := range fuzzLinks {
		if l == link {
			return uint8(i)
		}
	}
	return uint8(len(fuzzLinks) - 1)
}

// FuzzDecode decodes arbitrary bytes as a frame of one of the link types
// (sel), captured with snapLenCut bytes missing, and checks that Decode
// does not panic and that the result is consistent.
func FuzzDecode(f *testing.F) {
	// Every TestDecode case is a seed; its name says which edge case it
	// hits (snap length cuts, bad options, ICMP quotes, tags, ...).
	for _, tc := range decodeCases() {
		f.Add(fuzzSel(tc.link), tc.frame, uint16(max(tc.origLen-len(tc.frame), 0)))
	}
	// Empty frame on Ethernet: nothing to decode.
	f.Add(fuzzSel(LinkTypeEthernet), []byte{}, uint16(0))
	// IPv6 whose extension header claims 2048 bytes: the walk must stop.
	f.Add(fuzzSel(LinkTypeRaw), ip6(cli6, srv6, []ext{{protoDestOpts, []byte{255, 0, 0, 0, 0, 0, 0}}}, protoTCP, synHdr(), 0), uint16(0))
	// MPLS stack without a bottom-of-stack bit.
	f.Add(fuzzSel(LinkTypeEthernet), eth(0x8847, []byte{0, 0, 0, 64, 0, 0, 0, 64}), uint16(0))
	// Raw IPv4 whose total length is 0 (TSO) and whose TCP header is cut.
	f.Add(fuzzSel(LinkTypeRaw), []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1}, uint16(1000))

	f.Fuzz(func(t *testing.T, sel uint8, data []byte, snapLenCut uint16) {
		link := fuzzLinks[int(sel)%len(fuzzLinks)]
		origLen := len(data) + int(snapLenCut)
		in := append([]byte(nil), data...)

		d := NewDecoder(DecoderOptions{VerifyChecksums: true})
		var p Packet
		d.Decode(link, data, origLen, &p)

		if string(in) != string(data) {
			t.Fatal("Decode modified its input")
		}
		s := p.Segment
		switch p.Kind {
		case KindTCP:
			if s.PayloadLen < 0 {
				t.Errorf("KindTCP with PayloadLen %d", s.PayloadLen)
			}
			if !s.Src.IsValid() || !s.Dst.IsValid() || s.Src.Addr().Is4() != s.Dst.Addr().Is4() {
				t.Errorf("KindTCP with addresses %v → %v", s.Src, s.Dst)
			}
			// EOL and NOP cannot be malformed: OptBad iff BadKind ≥ 2.
			if s.Options.Has(OptBad) != (s.Options.BadKind >= 2) {
				t.Errorf("OptBad inconsistent: %+v", s.Options)
			}
			if p.ICMP != (ICMPError{}) {
				t.Errorf("KindTCP with ICMP %+v", p.ICMP)
			}
		case KindICMPError:
			if !p.ICMP.From.IsValid() || p.ICMP.Quoted < 8 || p.ICMP.Quoted > 20 {
				t.Errorf("KindICMPError with ICMP %+v", p.ICMP)
			}
			if s.PayloadLen != 0 || s.Options != (Options{}) || s.Checksum != ChecksumUnknown {
				t.Errorf("KindICMPError with fields it never sets: %+v", s)
			}
		default:
			if s != (Segment{}) || p.ICMP != (ICMPError{}) || p.Kind != KindFragment && p.Frag != (Fragment{}) {
				t.Errorf("%v with a segment: %s", p.Kind, fmtPacket(p))
			}
		}
		if p.Kind == KindUnsupportedLink != !Supported(link) {
			t.Errorf("link %d: kind %v, Supported %v", link, p.Kind, Supported(link))
		}
		if c := d.Counters(); c.Total() != 1 || c.ByKind[p.Kind] != 1 {
			t.Errorf("counters %v after one %v frame", c.ByKind, p.Kind)
		}

		// Decoding again, with a used Decoder and without checksums, gives
		// the same packet but for the checksum state.
		d2 := NewDecoder(DecoderOptions{})
		var q Packet
		d2.Decode(LinkTypeEthernet, synHdr(), 0, &q) // leave state behind
		d2.Decode(link, data, origLen, &q)
		p.Segment.Checksum = ChecksumUnknown
		if p != q {
			t.Errorf("second decode differs:\n%s\n%s", fmtPacket(p), fmtPacket(q))
		}
	})
}

// FuzzDecodeReassembled decodes arbitrary bytes as a reassembled datagram
// payload of a protocol, IPv4 or IPv6, inside a tunnel or not, and checks
// that DecodeReassembled does not panic and leaves a consistent packet.
func FuzzDecodeReassembled(f *testing.F) {
	f.Add(false, uint8(protoTCP), false, synHdr(), uint16(0))
	f.Add(true, uint8(protoDestOpts), false, cat([]byte{protoTCP, 0, 1, 4, 0, 0, 0, 0}, synHdr()), uint16(0))
	f.Add(true, uint8(protoFragment), false, cat([]byte{protoTCP, 0, 0, 1, 0, 0, 0, 1}, synHdr()), uint16(0))
	f.Add(false, uint8(protoGRE), true, cat(greHdr(0, etherTypeIPv4), ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, frag: 0x2000}, synHdr()[:16])), uint16(0))
	f.Add(false, uint8(protoUDP), false, udpHdr(1, portVXLAN, cat(vxlanHdr(1), eth(etherTypeIPv4, ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, synHdr())))), uint16(3))
	f.Fuzz(func(t *testing.T, v6 bool, proto uint8, tunnelled bool, data []byte, cut uint16) {
		fr := Fragment{V6: v6, Proto: proto, Src: cli4, Dst: srv4}
		if v6 {
			fr.Src, fr.Dst = cli6, srv6
		}
		var tun Tunnel
		if tunnelled {
			tun.Push(TunnelLevel{Type: TunnelGRE, Src: rtr4, Dst: rtr4})
		}
		d := NewDecoder(DecoderOptions{VerifyChecksums: true})
		var p Packet
		d.DecodeReassembled(&fr, &tun, data, len(data)+int(cut), &p)
		switch p.Kind {
		case KindTCP, KindICMPError:
			if p.Tunnel.Len() < tun.Len() {
				t.Errorf("%v lost its tunnel: %v", p.Kind, p.Tunnel)
			}
		case KindFragment:
			if len(d.FragmentData()) > p.Frag.Wire {
				t.Errorf("fragment data %d > wire %d", len(d.FragmentData()), p.Frag.Wire)
			}
		default:
			if p.Segment != (Segment{}) || p.Tunnel != (Tunnel{}) {
				t.Errorf("%v with a segment or tunnel: %s", p.Kind, fmtPacket(p))
			}
		}
		if c := d.Counters(); c.Total() != 0 {
			t.Errorf("DecodeReassembled counted frames: %v", c.ByKind)
		}
	})
}
