package pcapgen

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// EncapKind is a tunnel AppendFrame can wrap a segment in.
type EncapKind uint8

// Encapsulations. Each wraps the frame built so far: the Ethernet frame
// (VXLAN, GENEVE, GRE with Ethernet, ERSPAN) or its IP packet (the others).
const (
	// EncapVXLAN is VXLAN (RFC 7348) on UDP 4789; ID is the VNI.
	EncapVXLAN EncapKind = iota + 1
	// EncapGENEVE is GENEVE (RFC 8926) on UDP 6081 with one 4-byte
	// option, protocol transparent Ethernet bridging; ID is the VNI.
	EncapGENEVE
	// EncapGRE is GRE (RFC 2784) carrying the IP packet, with the RFC 2890
	// key field when ID is not 0.
	EncapGRE
	// EncapERSPAN is ERSPAN type II in GRE (sequence number set); ID is
	// the session ID.
	EncapERSPAN
	// EncapIPinIP is IP protocol 4 or 41, by the inner packet's version.
	EncapIPinIP
	// EncapTeredo is Teredo (RFC 4380) on UDP 3544, with an origin
	// indication; the inner packet must be IPv6.
	EncapTeredo
	// EncapGTPU is a GTP-U G-PDU (3GPP TS 29.281) on UDP 2152; ID is the TEID.
	EncapGTPU
	// EncapAYIYA is an AYIYA forward on UDP 5072.
	EncapAYIYA
)

// Encap is one tunnel level around a segment: its kind, the outer IP
// endpoints (both IPv4 or both IPv6) and its identifier.
type Encap struct {
	Kind     EncapKind
	Src, Dst netip.Addr
	ID       uint32
}

// encapsulate wraps the Ethernet frame f in the levels of es, outermost
// first, and returns the new Ethernet frame.
func encapsulate(f []byte, es []Encap) ([]byte, error) {
	for i := len(es) - 1; i >= 0; i-- {
		var err error
		if f, err = wrap(f, es[i]); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// wrap wraps one level around the Ethernet frame f.
func wrap(f []byte, e Encap) ([]byte, error) {
	if e.Src.Is4() != e.Dst.Is4() || !e.Src.IsValid() || !e.Dst.IsValid() {
		return nil, fmt.Errorf("pcapgen: tunnel endpoints %v and %v are not of one IP version", e.Src, e.Dst)
	}
	ip := f[14:]
	innerType := binary.BigEndian.Uint16(f[12:14])
	var proto uint8
	var payload []byte
	udp := func(port uint16, b []byte) {
		proto = 17
		payload = binary.BigEndian.AppendUint16(nil, 49152+uint16(e.ID%1000))
		payload = binary.BigEndian.AppendUint16(payload, port)
		payload = binary.BigEndian.AppendUint16(payload, uint16(8+len(b)))
		payload = append(payload, 0, 0) // checksum (below for IPv6)
		payload = append(payload, b...)
	}
	switch e.Kind {
	case EncapVXLAN:
		udp(4789, append([]byte{0x08, 0, 0, 0, byte(e.ID >> 16), byte(e.ID >> 8), byte(e.ID), 0}, f...))
	case EncapGENEVE:
		hdr := []byte{1, 0, 0x65, 0x58, byte(e.ID >> 16), byte(e.ID >> 8), byte(e.ID), 0,
			0x01, 0x02, 0x80, 0x00} // option class 0x0102, type 0x80, length 0
		udp(6081, append(hdr, f...))
	case EncapGRE:
		proto = 47
		flags := uint16(0)
		if e.ID != 0 {
			flags = 0x2000
		}
		payload = binary.BigEndian.AppendUint16(nil, flags)
		payload = binary.BigEndian.AppendUint16(payload, innerType)
		if e.ID != 0 {
			payload = binary.BigEndian.AppendUint32(payload, e.ID)
		}
		payload = append(payload, ip...)
	case EncapERSPAN:
		proto = 47
		payload = []byte{0x10, 0x00, 0x88, 0xBE, 0, 0, 0, 1, // GRE S bit, ERSPAN II, sequence 1
			0x10, 0x00, byte(e.ID >> 8 & 0x03), byte(e.ID), 0, 0, 0, 0} // version 1, VLAN 0, session, index 0
		payload = append(payload, f...)
	case EncapIPinIP:
		proto = 4
		if innerType == 0x86DD {
			proto = 41
		}
		payload = ip
	case EncapTeredo:
		if innerType != 0x86DD {
			return nil, fmt.Errorf("pcapgen: Teredo carries IPv6 only")
		}
		udp(3544, append([]byte{0, 0, 0xf2, 0x27, 0x3f, 0xd7, 0x9c, 0x29}, ip...))
	case EncapGTPU:
		hdr := []byte{0x30, 0xFF, byte(len(ip) >> 8), byte(len(ip))}
		hdr = binary.BigEndian.AppendUint32(hdr, e.ID)
		udp(2152, append(hdr, ip...))
	case EncapAYIYA:
		next := byte(4)
		if innerType == 0x86DD {
			next = 41
		}
		// Identity length 2^4 = 16 bytes, signature 5 words (SHA-1),
		// authentication method 1, opcode 1 (forward), epoch 0.
		hdr := append([]byte{0x41, 0x52, 0x11, next, 0, 0, 0, 0}, make([]byte, 16+20)...)
		udp(5072, append(hdr, ip...))
	default:
		return nil, fmt.Errorf("pcapgen: unknown encapsulation %d", e.Kind)
	}
	out := append([]byte(nil), f[:12]...) // the same MAC addresses
	if e.Src.Is4() {
		out = append(out, 0x08, 0x00)
		h := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0}
		binary.BigEndian.PutUint16(h[2:4], uint16(20+len(payload)))
		a, b := e.Src.As4(), e.Dst.As4()
		h = append(append(h, a[:]...), b[:]...)
		binary.BigEndian.PutUint16(h[10:12], Checksum(0, h))
		out = append(out, h...)
	} else {
		out = append(out, 0x86, 0xdd)
		h := []byte{0x60, 0, 0, 0, byte(len(payload) >> 8), byte(len(payload)), proto, 64}
		a, b := e.Src.As16(), e.Dst.As16()
		h = append(append(h, a[:]...), b[:]...)
		out = append(out, h...)
		if proto == 17 {
			// RFC 8200 §8.1: a UDP checksum is mandatory over IPv6.
			sum := SumWords(0, h[8:40]) + 17 + uint32(len(payload))
			c := Checksum(sum, payload)
			if c == 0 {
				c = 0xFFFF
			}
			binary.BigEndian.PutUint16(payload[6:8], c)
		}
	}
	return append(out, payload...), nil
}
