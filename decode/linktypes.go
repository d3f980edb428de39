package decode

import "encoding/binary"

// More link types: Linux NFLOG, IEEE 802.11 with and without radiotap,
// Cisco HDLC and IP over InfiniBand. See https://www.tcpdump.org/linktypes.html.
const (
	// LinkTypeCiscoHDLC is Cisco HDLC (address, control, EtherType).
	LinkTypeCiscoHDLC uint32 = 104
	// LinkTypeIEEE80211 is an IEEE 802.11 frame without radio header.
	LinkTypeIEEE80211 uint32 = 105
	// LinkTypeRadiotap is a radiotap header, then an IEEE 802.11 frame.
	LinkTypeRadiotap uint32 = 127
	// LinkTypeNFLOG is Linux netfilter NFLOG ("tcpdump -i nflog:N").
	LinkTypeNFLOG uint32 = 239
	// LinkTypeIPoIB is IP over InfiniBand (RFC 4391) with the 40-byte
	// address header libpcap prepends.
	LinkTypeIPoIB uint32 = 242
)

// ARPHRD types of Linux cooked captures that carry 802.11 frames.
const (
	arphrdIEEE80211         = 801
	arphrdIEEE80211Radiotap = 803
)

// etherTypeLLC is the Linux ETH_P_802_2 protocol of a cooked capture: an
// 802.2 LLC header follows.
const etherTypeLLC = 0x0004

// decodeCiscoHDLC decodes a Cisco HDLC header: address (0x0F unicast, 0x8F
// broadcast), control 0x00, then a 2-byte EtherType.
func (d *Decoder) decodeCiscoHDLC(data []byte, wire int, p *Packet) Kind {
	// The 4-byte header must be captured.
	if len(data) < 4 {
		return KindBadPacket
	}
	if data[0] != 0x0F && data[0] != 0x8F || data[1] != 0 {
		return KindBadPacket
	}
	return d.decodeEtherType(binary.BigEndian.Uint16(data[2:4]), data[4:], wire-4, p)
}

// isCiscoHDLC reports whether a LINKTYPE_PPP frame is in fact Cisco HDLC
// framed, as some routers' PPP captures are: address 0x0F or 0x8F (never
// PPP's 0xFF, nor an odd PPP protocol byte), control 0.
func isCiscoHDLC(data []byte) bool {
	return len(data) >= 2 && (data[0] == 0x0F || data[0] == 0x8F) && data[1] == 0
}

// decodeNFLOG decodes a LINKTYPE_NFLOG record: a 4-byte header (address
// family, version 0, resource ID) and TLVs, each a length and a type in
// host byte order (libpcap writes the capturing host's; both orders are
// tried, see nflogOrder), padded to 4 bytes. The packet is the value of
// NFULA_PAYLOAD (type 9), an IPv4 or IPv6 packet per the family.
func (d *Decoder) decodeNFLOG(data []byte, wire int, p *Packet) Kind {
	const (
		afInet      = 2
		afInet6     = 10
		tlvPayload  = 9
		nflogHeader = 4
	)
	// The header must be captured, version 0.
	if len(data) < nflogHeader || data[1] != 0 {
		return KindBadPacket
	}
	order := nflogOrder(data[nflogHeader:])
	// Each TLV is at least 4 bytes, so off grows each round.
	for off := nflogHeader; off+4 <= len(data); {
		n := int(order.Uint16(data[off : off+2]))
		typ := order.Uint16(data[off+2:off+4]) & 0x7FFF // the top bit flags nesting
		if n < 4 {
			return KindBadPacket
		}
		if typ == tlvPayload {
			v := data[off+4 : min(off+n, len(data))]
			vWire := min(n-4, wire-off-4)
			switch data[0] {
			case afInet:
				return d.decodeIPv4(v, vWire, p)
			case afInet6:
				return d.decodeIPv6(v, vWire, p)
			}
			return KindOther
		}
		off += (n + 3) &^ 3
	}
	// No payload TLV captured: a log record without the packet.
	return KindOther
}

// nflogOrder tells the byte order of NFLOG TLVs: the one in which the
// first TLV's length is at least 4 and fits the record, little-endian
// (x86, arm64: the usual capturing hosts) when both do.
func nflogOrder(tlvs []byte) binary.ByteOrder {
	if len(tlvs) >= 2 {
		le, be := int(binary.LittleEndian.Uint16(tlvs)), int(binary.BigEndian.Uint16(tlvs))
		if !(le >= 4 && le <= len(tlvs)) && be >= 4 && be <= len(tlvs) {
			return binary.BigEndian
		}
	}
	return binary.LittleEndian
}

// decodeRadiotap skips a radiotap header (version 0, its length in
// little-endian bytes 2-3) and decodes the 802.11 frame after it.
func (d *Decoder) decodeRadiotap(data []byte, wire int, p *Packet) Kind {
	// The fixed 8-byte header must be captured, version 0.
	if len(data) < 8 || data[0] != 0 {
		return KindBadPacket
	}
	n := int(binary.LittleEndian.Uint16(data[2:4]))
	// The whole header must be captured.
	if n < 8 || n > len(data) {
		return KindBadPacket
	}
	return d.decode80211(data[n:], wire-n, p)
}

// decode80211 decodes an IEEE 802.11 data frame (IEEE 802.11-2020 §9.3.2):
// frame control, duration, three addresses, sequence control, a fourth
// address between access points (To DS and From DS), QoS control for QoS
// subtypes, HT control when a QoS frame has the +HTC/Order bit, then an
// 802.2 LLC/SNAP header and the packet. Management and control frames,
// frames without a body (null data) and protected (encrypted) frames are
// KindOther: they carry nothing hsanalyze can read.
func (d *Decoder) decode80211(data []byte, wire int, p *Packet) Kind {
	// Frame control must be captured.
	if len(data) < 2 {
		return KindBadPacket
	}
	fc0, fc1 := data[0], data[1]
	if fc0&0x03 != 0 || fc0>>2&0x03 != 2 {
		return KindOther // protocol version ≠ 0, or not a data frame
	}
	subtype := fc0 >> 4
	if subtype&0x04 != 0 || fc1&0x40 != 0 {
		return KindOther // no body (null, CF-Ack/Poll only), or protected
	}
	hdr := 24
	if fc1&0x03 == 0x03 { // To DS and From DS: a fourth address
		hdr += 6
	}
	if subtype&0x08 != 0 { // QoS data
		hdr += 2
		if fc1&0x80 != 0 { // +HTC: HT control
			hdr += 4
		}
	}
	// The header must be captured.
	if len(data) < hdr {
		return KindBadPacket
	}
	return d.decodeLLC(data[hdr:], wire-hdr, p)
}

// decodeLLC decodes an 802.2 LLC header: SNAP (AA AA 03, an OUI of 0 or
// 00-00-F8, then an EtherType) leads to the packet; any other SAP is
// KindOther (spanning tree, NetBIOS, ...).
func (d *Decoder) decodeLLC(data []byte, wire int, p *Packet) Kind {
	// DSAP, SSAP and control must be captured to tell SNAP.
	if len(data) < 3 {
		return KindBadPacket
	}
	if data[0] != 0xAA || data[1] != 0xAA || data[2] != 0x03 {
		return KindOther
	}
	// The OUI and EtherType must be captured.
	if len(data) < 8 {
		return KindBadPacket
	}
	if data[3] != 0 || data[4] != 0 || data[5] != 0 && data[5] != 0xF8 {
		return KindOther // a vendor protocol
	}
	return d.decodeEtherType(binary.BigEndian.Uint16(data[6:8]), data[8:], wire-8, p)
}

// decodeIPoIB decodes a LINKTYPE_IPOIB frame: a 40-byte address header
// (source and destination QPN and GID), the EtherType and 2 reserved
// bytes (RFC 4391 §6).
func (d *Decoder) decodeIPoIB(data []byte, wire int, p *Packet) Kind {
	const hdr = 44
	// The header must be captured.
	if len(data) < hdr {
		return KindBadPacket
	}
	return d.decodeEtherType(binary.BigEndian.Uint16(data[40:42]), data[hdr:], wire-hdr, p)
}
