package main

import (
	"encoding/binary"
	"net/netip"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// The non-TCP frames, built by hand like pcapgen's: Ethernet, IPv4 and a
// correct checksum everywhere. pcapgen builds only TCP.

// ethHeader is the Ethernet header of every frame, with pcapgen's fixed
// locally administered addresses and EtherType IPv4.
var ethHeader = []byte{0x02, 0, 0, 0, 0, 0x0b, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x00}

// appendIPv4 appends an IPv4 header (no options, DF, TTL 64) for a payload
// of n bytes of protocol proto.
func appendIPv4(dst []byte, src, to netip.Addr, proto byte, n int) []byte {
	start := len(dst)
	total := 20 + n
	dst = append(dst, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, proto, 0, 0)
	a, b := src.As4(), to.As4()
	dst = append(dst, a[:]...)
	dst = append(dst, b[:]...)
	binary.BigEndian.PutUint16(dst[start+10:], pcapgen.Checksum(0, dst[start:]))
	return dst
}

// appendICMPUnreach appends a frame carrying an ICMP destination
// unreachable (type 3, code 1: host unreachable) from router to client,
// quoting the IP header and first 8 TCP bytes (ports, sequence number) of
// the client's SYN with sequence number seq to server (RFC 792).
func appendICMPUnreach(dst []byte, router netip.Addr, client, server netip.AddrPort, seq uint32) []byte {
	dst = append(dst, ethHeader...)
	dst = appendIPv4(dst, router, client.Addr(), 1, 8+20+8)
	icmp := len(dst)
	dst = append(dst, 3, 1, 0, 0, 0, 0, 0, 0) // type, code, checksum, unused
	// The quoted SYN: 20 bytes of IP, then 20 of TCP and 20 of options.
	dst = appendIPv4(dst, client.Addr(), server.Addr(), 6, 40)
	dst = binary.BigEndian.AppendUint16(dst, client.Port())
	dst = binary.BigEndian.AppendUint16(dst, server.Port())
	dst = binary.BigEndian.AppendUint32(dst, seq)
	binary.BigEndian.PutUint16(dst[icmp+2:], pcapgen.Checksum(0, dst[icmp:]))
	return dst
}

// appendDNS appends a frame carrying a DNS query from client:port to the
// resolver for the name of flow i (sNNN.example.com, A), or, when reply
// is set, the resolver's answer to it, giving answer.
func appendDNS(dst []byte, client netip.Addr, port uint16, resolver netip.Addr, i uint32, reply bool, answer netip.Addr) []byte {
	var msg [64]byte
	m := msg[:0]
	m = binary.BigEndian.AppendUint16(m, uint16(i)) // ID
	if reply {
		m = append(m, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0) // response, RD, RA; 1 question, 1 answer
	} else {
		m = append(m, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // query, RD; 1 question
	}
	h := i % 1000
	m = append(m, 4, 's', byte('0'+h/100), byte('0'+h/10%10), byte('0'+h%10), 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0)
	m = append(m, 0, 1, 0, 1) // type A, class IN
	if reply {
		a := answer.As4()
		m = append(m, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4) // name at offset 12, A, IN, TTL 60, 4 bytes
		m = append(m, a[:]...)
	}

	src, to, sport, dport := client, resolver, port, uint16(53)
	if reply {
		src, to, sport, dport = resolver, client, 53, port
	}
	dst = append(dst, ethHeader...)
	ip := len(dst)
	dst = appendIPv4(dst, src, to, 17, 8+len(m))
	udp := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, sport)
	dst = binary.BigEndian.AppendUint16(dst, dport)
	dst = binary.BigEndian.AppendUint16(dst, uint16(8+len(m)))
	dst = append(dst, 0, 0)
	dst = append(dst, m...)
	// UDP checksum over the pseudo-header (addresses, protocol, length).
	sum := pcapgen.SumWords(0, dst[ip+12:ip+20]) + 17 + uint32(8+len(m))
	c := pcapgen.Checksum(sum, dst[udp:])
	if c == 0 {
		c = 0xffff // 0 means "no checksum" in UDP over IPv4
	}
	binary.BigEndian.PutUint16(dst[udp+6:], c)
	return dst
}
