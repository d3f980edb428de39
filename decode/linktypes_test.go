package decode

import "encoding/binary"

// snap is an 802.2 LLC/SNAP header for an EtherType.
func snap(etherType uint16) []byte {
	return []byte{0xAA, 0xAA, 0x03, 0, 0, 0, byte(etherType >> 8), byte(etherType)}
}

// wlan is an 802.11 data frame header: frame control fc0, fc1, duration,
// three addresses, sequence control, then extra (address 4, QoS, HT).
func wlan(fc0, fc1 byte, extra []byte, body []byte) []byte {
	h := []byte{fc0, fc1, 0, 0}
	h = append(h, 0x02, 0, 0, 0, 0, 0x02) // address 1
	h = append(h, 0x02, 0, 0, 0, 0, 0x01) // address 2
	h = append(h, 0x02, 0, 0, 0, 0, 0x03) // address 3
	h = append(h, 0x10, 0)                // sequence control
	return cat(h, extra, body)
}

// radiotap is a minimal radiotap header (version 0, 8 bytes, no fields)
// or one with the flags field present (12 bytes: present word, flags,
// padding) when withFlags.
func radiotap(withFlags bool, frame []byte) []byte {
	if !withFlags {
		return cat([]byte{0, 0, 8, 0, 0, 0, 0, 0}, frame)
	}
	return cat([]byte{0, 0, 12, 0, 0x02, 0, 0, 0, 0x10, 0, 0, 0}, frame)
}

// nflogTLV is an NFLOG TLV in little-endian (x86 capturing host) order,
// padded to 4 bytes.
func nflogTLV(typ uint16, v []byte, order binary.AppendByteOrder) []byte {
	b := order.AppendUint16(nil, uint16(4+len(v)))
	b = order.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// linkCases are TestDecode's cases for the link types of linktypes.go.
func linkCases() []decodeCase {
	syn4 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, synHdr())
	syn6 := ip6(cli6, srv6, nil, protoTCP, synHdr(), 0)
	want4 := tcpPkt(synSeg(cli4, srv4))
	want6 := tcpPkt(synSeg(cli6, srv6))
	le, be := binary.LittleEndian, binary.BigEndian
	nflog := func(family byte, order binary.AppendByteOrder, payload []byte) []byte {
		return cat([]byte{family, 0, 0, 5}, // AF, version 0, resource ID 5 (big-endian)
			nflogTLV(1, []byte{0x08, 0x00, 3, 0}, order), // NFULA_PACKET_HDR: hw protocol, hook
			nflogTLV(10, []byte("nflog-prefix\x00"), order),
			nflogTLV(9, payload, order)) // NFULA_PAYLOAD
	}
	sll80211 := func(arphrd uint16, frame []byte) []byte {
		b := sll(0x0019, frame)
		binary.BigEndian.PutUint16(b[2:4], arphrd)
		return b
	}
	return []decodeCase{
		{name: "nflog/ipv4", reason: "LINKTYPE_NFLOG: AF_INET, TLVs in host (little-endian) order, packet in NFULA_PAYLOAD", link: LinkTypeNFLOG,
			frame: nflog(2, le, syn4), want: want4},
		{name: "nflog/ipv6-big-endian", reason: "AF_INET6 record from a big-endian host: the TLV lengths only fit big-endian", link: LinkTypeNFLOG,
			frame: nflog(10, be, syn6), want: want6},
		{name: "nflog/no-payload", reason: "a record without NFULA_PAYLOAD carries no packet", link: LinkTypeNFLOG,
			frame: cat([]byte{2, 0, 0, 0}, nflogTLV(1, []byte{8, 0, 3, 0}, le)), want: kind(KindOther)},
		{name: "nflog/bad-tlv", reason: "a TLV length below 4 cannot advance", link: LinkTypeNFLOG,
			frame: []byte{2, 0, 0, 0, 2, 0, 9, 0}, want: kind(KindBadPacket)},
		{name: "nflog/snap-cut-payload", reason: "the snap length cut the payload TLV: lengths from the IP header still hold", link: LinkTypeNFLOG,
			frame: nflog(2, le, syn4)[:4+8+20+20+20+20], origLen: len(nflog(2, le, syn4)),
			want: func() Packet {
				p := want4
				// 56 of the 60 bytes captured: the options up to the
				// timestamps; the window scale was cut.
				p.Segment.Options = Options{Present: OptMSS | OptSACKPermitted | OptTimestamps | OptTruncated, MSS: 1460, TSval: 100}
				return p
			}()},
		{name: "80211/data", reason: "IEEE 802.11 data frame (type 2, subtype 0), From DS, LLC/SNAP IPv4", link: LinkTypeIEEE80211,
			frame: wlan(0x08, 0x02, nil, cat(snap(etherTypeIPv4), syn4)), want: want4},
		{name: "80211/qos-wds", reason: "QoS data (subtype 8) between access points (To DS and From DS: address 4) with +HTC: 24+6+2+4 bytes", link: LinkTypeIEEE80211,
			frame: wlan(0x88, 0x83, make([]byte, 6+2+4), cat(snap(etherTypeIPv6), syn6)), want: want6},
		{name: "80211/protected", reason: "a protected (encrypted) frame cannot be read", link: LinkTypeIEEE80211,
			frame: wlan(0x08, 0x42, nil, cat(snap(etherTypeIPv4), syn4)), want: kind(KindOther)},
		{name: "80211/null-data", reason: "a null data frame (subtype 4) has no body", link: LinkTypeIEEE80211,
			frame: wlan(0x48, 0x01, nil, nil), want: kind(KindOther)},
		{name: "80211/beacon", reason: "management frames carry no packet", link: LinkTypeIEEE80211,
			frame: wlan(0x80, 0, nil, make([]byte, 12)), want: kind(KindOther)},
		{name: "80211/not-snap", reason: "an LLC frame for another SAP (spanning tree)", link: LinkTypeIEEE80211,
			frame: wlan(0x08, 0x01, nil, []byte{0x42, 0x42, 0x03, 0, 0, 0, 0, 0}), want: kind(KindOther)},
		{name: "80211/cut-header", reason: "the 24-byte header must be captured", link: LinkTypeIEEE80211,
			frame: wlan(0x08, 0x01, nil, nil)[:20], origLen: 100, want: kind(KindBadPacket)},
		{name: "radiotap/80211", reason: "radiotap header (its length field) skipped, then 802.11", link: LinkTypeRadiotap,
			frame: radiotap(false, wlan(0x08, 0x01, nil, cat(snap(etherTypeIPv4), syn4))), want: want4},
		{name: "radiotap/80211-fcs", reason: "radiotap flags announce a trailing FCS: the IP length cuts it off", link: LinkTypeRadiotap,
			frame: radiotap(true, wlan(0x88, 0x01, make([]byte, 2), cat(snap(etherTypeIPv4), syn4, []byte{1, 2, 3, 4}))), want: want4},
		{name: "radiotap/bad-length", reason: "a radiotap length past the frame", link: LinkTypeRadiotap,
			frame: []byte{0, 0, 200, 0, 0, 0, 0, 0, 1}, want: kind(KindBadPacket)},
		{name: "cisco-hdlc/ipv4", reason: "Cisco HDLC: address 0x0F, control 0, EtherType IPv4", link: LinkTypeCiscoHDLC,
			frame: cat([]byte{0x0F, 0x00, 0x08, 0x00}, syn4), want: want4},
		{name: "cisco-hdlc/in-ppp", reason: "a LINKTYPE_PPP capture of Cisco HDLC framing (broadcast address 0x8F)", link: LinkTypePPP,
			frame: cat([]byte{0x8F, 0x00, 0x86, 0xDD}, syn6), want: want6},
		{name: "cisco-hdlc/keepalive", reason: "SLARP (0x8035) is not IP", link: LinkTypeCiscoHDLC,
			frame: []byte{0x8F, 0x00, 0x80, 0x35, 0, 0, 0, 2}, want: kind(KindOther)},
		{name: "cisco-hdlc/bad-address", reason: "address other than 0x0F/0x8F", link: LinkTypeCiscoHDLC,
			frame: cat([]byte{0xFF, 0x03, 0x08, 0x00}, syn4), want: kind(KindBadPacket)},
		{name: "sll/80211-radiotap", reason: "Linux cooked capture of a monitor interface: ARPHRD_IEEE80211_RADIOTAP (803)", link: LinkTypeLinuxSLL,
			frame: sll80211(arphrdIEEE80211Radiotap, radiotap(false, wlan(0x08, 0x01, nil, cat(snap(etherTypeIPv4), syn4)))), want: want4},
		{name: "sll/80211", reason: "ARPHRD_IEEE80211 (801): an 802.11 frame without radio header", link: LinkTypeLinuxSLL,
			frame: sll80211(arphrdIEEE80211, wlan(0x08, 0x01, nil, cat(snap(etherTypeIPv4), syn4))), want: want4},
		{name: "sll/llc", reason: "protocol ETH_P_802_2: an LLC/SNAP header before the packet", link: LinkTypeLinuxSLL,
			frame: sll(etherTypeLLC, cat(snap(etherTypeIPv4), syn4)), want: want4},
		{name: "sll2/80211", reason: "cooked v2 with ARPHRD_IEEE80211", link: LinkTypeLinuxSLL2,
			frame: func() []byte {
				b := sll2(0x0019, wlan(0x08, 0x01, nil, cat(snap(etherTypeIPv4), syn4)))
				binary.BigEndian.PutUint16(b[8:10], arphrdIEEE80211)
				return b
			}(), want: want4},
		{name: "ipoib/ipv4", reason: "LINKTYPE_IPOIB: 40-byte address header, EtherType, 2 reserved bytes (tcpdump ipoib.pcap layout)", link: LinkTypeIPoIB,
			frame: cat(make([]byte, 40), []byte{0x08, 0x00, 0, 0}, syn4), want: want4},
		{name: "ipoib/short", reason: "the 44-byte header must be captured", link: LinkTypeIPoIB,
			frame: make([]byte, 43), want: kind(KindBadPacket)},
	}
}
