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
	"cmp"
	"crypto/sha1"
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
//
// It costs one SHA-1 block: crypto/sha1.Sum is about two thirds of the
// time, the spec's input (built in place, without netip's AsSlice) and
// the base64 of the digest (written here for its fixed 20 bytes) the
// rest.
func Append(dst []byte, seed uint16, proto uint8, a, b netip.AddrPort) []byte {
	var sum [sha1.Size]byte
	hash(&sum, seed, proto, a, b)
	return appendBase64(append(dst, "1:"...), &sum)
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
	var buf [2 + 16 + 16 + 2 + 4]byte // seed, two IPv6 addresses, proto+pad, ports
	binary.BigEndian.PutUint16(buf[:], seed)
	var n int // bytes of input
	if aa.Is4() && ba.Is4() {
		x, y := aa.As4(), ba.As4()
		// The endpoint with the smaller address goes first; equal
		// addresses are ordered by port (spec: "ordering the tuple").
		if c := cmp.Compare(binary.BigEndian.Uint32(x[:]), binary.BigEndian.Uint32(y[:])); c > 0 || c == 0 && a.Port() > b.Port() {
			a, b, x, y = b, a, y, x
		}
		copy(buf[2:], x[:])
		copy(buf[6:], y[:])
		n = 10
	} else {
		if c := aa.Compare(ba); c > 0 || c == 0 && a.Port() > b.Port() {
			a, b, aa, ba = b, a, ba, aa
		}
		n = 2 + copy(buf[2:], aa.AsSlice())
		n += copy(buf[n:], ba.AsSlice())
	}
	buf[n], buf[n+1] = proto, 0
	binary.BigEndian.PutUint16(buf[n+2:], a.Port())
	binary.BigEndian.PutUint16(buf[n+4:], b.Port())
	*sum = sha1.Sum(buf[:n+6])
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendBase64 appends the standard, padded base64 of a digest, as
// base64.StdEncoding.AppendEncode does (TestBase64 compares them): 28
// characters, the last one '='.
func appendBase64(dst []byte, sum *[sha1.Size]byte) []byte {
	var out [28]byte
	for i := range 6 {
		v := uint(sum[3*i])<<16 | uint(sum[3*i+1])<<8 | uint(sum[3*i+2])
		out[4*i] = alphabet[v>>18&0x3f]
		out[4*i+1] = alphabet[v>>12&0x3f]
		out[4*i+2] = alphabet[v>>6&0x3f]
		out[4*i+3] = alphabet[v&0x3f]
	}
	v := uint(sum[18])<<16 | uint(sum[19])<<8
	out[24] = alphabet[v>>18&0x3f]
	out[25] = alphabet[v>>12&0x3f]
	out[26] = alphabet[v>>6&0x3f]
	out[27] = '='
	return append(dst, out[:]...)
}
