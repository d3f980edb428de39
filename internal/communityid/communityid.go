// Package communityid computes Community ID flow hashes, version 1
// (https://github.com/corelight/community-id-spec): the string Zeek,
// Suricata and many SIEMs log to pivot between tools on one flow.
//
// A hash covers the seed, both addresses, the IP protocol and both ports,
// ordered so that the two directions of a flow hash alike. Only
// port-carrying protocols (TCP, UDP, SCTP) are supported: ICMP's
// type/code mapping is not implemented, because hsanalyze only hashes TCP.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
)

// Protocol numbers of the port-carrying protocols.
const (
	TCP  = 6
	UDP  = 17
	SCTP = 132
)

// Append appends the base64 Community ID v1 of the flow between a and b
// over IP protocol proto, with "1:" in front, to dst. The order of a and b
// does not matter. IPv4-mapped IPv6 addresses are hashed as IPv4, as the
// packet carried them; both addresses must be of one family.
func Append(dst []byte, seed uint16, proto uint8, a, b netip.AddrPort) []byte {
	var sum [sha1.Size]byte
	hash(&sum, seed, proto, a, b)
	dst = append(dst, "1:"...)
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// String returns Append's result as a string.
func String(seed uint16, proto uint8, a, b netip.AddrPort) string {
	return string(Append(nil, seed, proto, a, b))
}

// hash writes the SHA-1 digest of the spec's input: seed (2 bytes), the
// smaller endpoint's address, the other address, proto, one zero byte of
// padding, then the ports in the same order (network byte order).
func hash(sum *[sha1.Size]byte, seed uint16, proto uint8, a, b netip.AddrPort) {
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	// The endpoint with the smaller address goes first; equal addresses
	// are ordered by port (spec: "ordering the tuple").
	if c := aa.Compare(ba); c > 0 || c == 0 && a.Port() > b.Port() {
		a, b, aa, ba = b, a, ba, aa
	}
	var buf [2 + 16 + 16 + 2 + 4]byte // seed, two IPv6 addresses, proto+pad, ports
	in := binary.BigEndian.AppendUint16(buf[:0], seed)
	in = append(in, aa.AsSlice()...)
	in = append(in, ba.AsSlice()...)
	in = append(in, proto, 0)
	in = binary.BigEndian.AppendUint16(in, a.Port())
	in = binary.BigEndian.AppendUint16(in, b.Port())
	*sum = sha1.Sum(in)
}
