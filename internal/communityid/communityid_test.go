package communityid

import (
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
	x := netip.MustParseAddrPort("[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943")
	y := netip.MustParseAddrPort("[2607:f8b0:400c:c03::1a]:25")
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], 0, TCP, x, y)
	}
}
