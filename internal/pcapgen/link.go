package pcapgen

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Link types NewLinkWriter can write besides Ethernet (LINKTYPE_ values).
const (
	LinkPPP       = 9   // LINKTYPE_PPP, here with Cisco HDLC framing
	LinkCiscoHDLC = 104 // LINKTYPE_C_HDLC
	LinkIEEE80211 = 105 // LINKTYPE_IEEE802_11: 802.11 data frames, LLC/SNAP
	LinkRadiotap  = 127 // LINKTYPE_IEEE802_11_RADIOTAP
	LinkSLL80211  = 113 // LINKTYPE_LINUX_SLL, ARPHRD_IEEE80211_RADIOTAP (803)
	LinkNFLOG     = 239 // LINKTYPE_NFLOG, TLVs little-endian
	LinkIPoIB     = 242 // LINKTYPE_IPOIB
)

// NewLinkWriter is NewWriter for another link type: every frame is built
// as for Ethernet, then its Ethernet header replaced by the link type's
// framing (Relink).
func NewLinkWriter(w io.Writer, nano bool, link uint32) (*Writer, error) {
	var pw *pcapgo.Writer
	if nano {
		pw = pcapgo.NewWriterNanos(w)
	} else {
		pw = pcapgo.NewWriter(w)
	}
	if err := pw.WriteFileHeader(65535, layers.LinkType(link)); err != nil {
		return nil, fmt.Errorf("pcapgen: write header: %w", err)
	}
	return &Writer{w: pw, buf: make([]byte, 0, 2048), link: link}, nil
}

// Relink returns the Ethernet frame f as a frame of the given link type:
// the same packet (f without its 14-byte Ethernet header) in that link
// type's framing. Link 1 (Ethernet) returns f.
func Relink(link uint32, f []byte) ([]byte, error) {
	etherType := binary.BigEndian.Uint16(f[12:14])
	pkt := f[14:]
	snapLLC := []byte{0xAA, 0xAA, 0x03, 0, 0, 0, byte(etherType >> 8), byte(etherType)}
	// A QoS data frame from the access point (From DS), 26-byte header.
	wlan := append([]byte{0x88, 0x02, 0x2c, 0x00}, f[0:6]...)
	wlan = append(wlan, 0x02, 0, 0, 0, 0, 0xAA) // BSSID
	wlan = append(wlan, f[6:12]...)
	wlan = append(wlan, 0x10, 0x00, 0x00, 0x00) // sequence control, QoS control
	wlan = append(append(wlan, snapLLC...), pkt...)
	// Radiotap: version 0, length 12, flags present, flags 0, padding.
	radio := append([]byte{0, 0, 12, 0, 0x02, 0, 0, 0, 0, 0, 0, 0}, wlan...)
	switch link {
	case linkEthernet:
		return f, nil
	case LinkPPP, LinkCiscoHDLC:
		return append([]byte{0x0F, 0x00, byte(etherType >> 8), byte(etherType)}, pkt...), nil
	case LinkIEEE80211:
		return wlan, nil
	case LinkRadiotap:
		return radio, nil
	case LinkSLL80211:
		h := []byte{0, 0, 0x03, 0x23, 0, 6, 0x02, 0, 0, 0, 0, 0x01, 0, 0, 0x00, 0x19} // ARPHRD 803, ETH_P_80211_RAW
		return append(h, radio...), nil
	case LinkNFLOG:
		family := byte(2)
		if etherType == 0x86DD {
			family = 10
		}
		b := []byte{family, 0, 0, 1}
		tlv := func(typ uint16, v []byte) {
			b = binary.LittleEndian.AppendUint16(b, uint16(4+len(v)))
			b = binary.LittleEndian.AppendUint16(b, typ)
			b = append(b, v...)
			for len(b)%4 != 0 {
				b = append(b, 0)
			}
		}
		tlv(1, []byte{byte(etherType >> 8), byte(etherType), 1, 0}) // NFULA_PACKET_HDR
		tlv(10, []byte("hsanalyze\x00"))                            // NFULA_PREFIX
		tlv(9, pkt)                                                 // NFULA_PAYLOAD
		return b, nil
	case LinkIPoIB:
		h := make([]byte, 44)
		binary.BigEndian.PutUint16(h[40:42], etherType)
		return append(h, pkt...), nil
	}
	return nil, fmt.Errorf("pcapgen: cannot write link type %d", link)
}
