package communityid

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The vectors of the specification's baseline/baseline_deflt.json and
// baseline_seed1.json (corelight/community-id-spec, commit c4ec2bc) for the
// port-carrying protocols, both directions of each flow.
var vectors = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	seed0, seed1 string
}{
	{TCP, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{TCP, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{SCTP, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{SCTP, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{TCP, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{TCP, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{UDP, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{UDP, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
}

func TestSpecVectors(t *testing.T) {
	for _, v := range vectors {
		a := netip.AddrPortFrom(netip.MustParseAddr(v.saddr), v.sport)
		b := netip.AddrPortFrom(netip.MustParseAddr(v.daddr), v.dport)
		if got := String(0, v.proto, a, b); got != v.seed0 {
			t.Errorf("%v %v→%v seed 0: %s, want %s", v.proto, a, b, got, v.seed0)
		}
		if got := String(1, v.proto, a, b); got != v.seed1 {
			t.Errorf("%v %v→%v seed 1: %s, want %s", v.proto, a, b, got, v.seed1)
		}
	}
}

// Zeek's baseline scripts.policy.protocols.conn.community-id-logging-flipped
// logs this flow of handshake-reorder.pcap.
func TestZeekBaseline(t *testing.T) {
	a := netip.MustParseAddrPort("141.142.228.5:59856")
	b := netip.MustParseAddrPort("192.150.187.43:80")
	if got, want := String(0, TCP, a, b), "1:yvyB8h+3dnggTZW0UEITWCst97w="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestMappedIsIPv4(t *testing.T) {
	a := netip.MustParseAddrPort("[::ffff:192.168.1.52]:54585")
	b := netip.MustParseAddrPort("[::ffff:8.8.8.8]:53")
	if got, want := String(0, UDP, a, b), "1:d/FP5EW3wiY1vCndhwleRRKHowQ="; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestAppendAllocs(t *testing.T) {
	a := netip.MustParseAddrPort("128.232.110.120:34855")
	b := netip.MustParseAddrPort("66.35.250.204:80")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], 0, TCP, a, b) }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
}

func BenchmarkAppend(b *testing.B) {
	for _, tc := range []struct{ name, x, y string }{
		{"v4", "128.232.110.120:34855", "66.35.250.204:80"},
		{"v6", "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943", "[2607:f8b0:400c:c03::1a]:25"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			x, y := netip.MustParseAddrPort(tc.x), netip.MustParseAddrPort(tc.y)
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = Append(buf[:0], 0, TCP, x, y)
			}
		})
	}
}

func TestBase64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		var sum [sha1.Size]byte
		for i := range sum {
			sum[i] = byte(rng.Uint32())
		}
		if got, want := appendBase64([]byte("x"), &sum), base64.StdEncoding.AppendEncode([]byte("x"), sum[:]); !bytes.Equal(got, want) {
			t.Fatalf("% x: %s, want %s", sum, got, want)
		}
	}
}

// slowAppend is the spec's algorithm written plainly, with netip's
// ordering and encoding/base64: what Append must equal.
func slowAppend(seed uint16, proto uint8, a, b netip.AddrPort) string {
	aa, ba := a.Addr().Unmap(), b.Addr().Unmap()
	if c := aa.Compare(ba); c > 0 || c == 0 && a.Port() > b.Port() {
		a, b, aa, ba = b, a, ba, aa
	}
	in := binary.BigEndian.AppendUint16(nil, seed)
	in = append(in, aa.AsSlice()...)
	in = append(in, ba.AsSlice()...)
	in = append(in, proto, 0)
	in = binary.BigEndian.AppendUint16(in, a.Port())
	in = binary.BigEndian.AppendUint16(in, b.Port())
	sum := sha1.Sum(in)
	return "1:" + base64.StdEncoding.EncodeToString(sum[:])
}

// TestAppendSlow compares Append with slowAppend on random endpoints of
// both families, mapped addresses, equal addresses and equal ports, where
// the ordering rules matter.
func TestAppendSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	addr := func() netip.Addr {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		switch rng.IntN(4) {
		case 0:
			return netip.AddrFrom16(b)
		case 1:
			return netip.AddrFrom16(b).WithZone("eth0")
		case 2:
			return netip.AddrFrom16(netip.AddrFrom4([4]byte(b[:4])).As16()) // ::ffff:a.b.c.d
		}
		return netip.AddrFrom4([4]byte{10, b[1] & 1, b[2] & 1, b[3] & 3}) // often equal
	}
	port := func() uint16 { return uint16(rng.IntN(4)) * 16000 }
	for range 20000 {
		x, y := addr(), addr()
		if x.Unmap().Is4() != y.Unmap().Is4() {
			if rng.IntN(2) == 0 {
				y = x
			}
		}
		a, b := netip.AddrPortFrom(x, port()), netip.AddrPortFrom(y, port())
		seed := uint16(rng.IntN(3))
		if got, want := String(seed, TCP, a, b), slowAppend(seed, TCP, a, b); got != want {
			t.Fatalf("%v %v seed %d: %s, want %s", a, b, seed, got, want)
		}
	}
}
