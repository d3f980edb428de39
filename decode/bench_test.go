package decode

import (
	"net/netip"
	"testing"
)

// BenchmarkDecode decodes one fixture per link type family from memory.
func BenchmarkDecode(b *testing.B) {
	syn4 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP}, synHdr())
	syn6ext := ip6(cli6, srv6, []ext{hbhPad, routing0, destPad, fragExt(0, false)}, protoTCP, synHdr(), 0)
	data := make([]byte, 1400)
	ack1400 := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP},
		tcpHdr(tcpSpec{sport: 1234, dport: 80, seq: 7, ack: 9, flags: ACK, win: 1024, payload: data}))
	fixtures := []struct {
		name   string
		link   uint32
		frame  []byte
		verify bool
	}{
		{"ethernet-ipv4-syn-options", LinkTypeEthernet, eth(0x0800, syn4), false},
		{"ethernet-ipv6-ext-headers", LinkTypeEthernet, eth(0x86dd, syn6ext), false},
		{"sll2-ipv4-syn", LinkTypeLinuxSLL2, sll2(0x0800, syn4), false},
		{"vlan-ipv4-syn", LinkTypeEthernet, eth(0x8100, tag(100, 0x0800, syn4)), false},
		{"qinq-ipv4-syn", LinkTypeEthernet, eth(0x88a8, tag(10, 0x8100, tag(20, 0x0800, syn4))), false},
		{"raw-ipv4-syn", LinkTypeRaw, syn4, false},
		{"null-ipv6-syn", LinkTypeNull, null(30, true, syn6ext), false},
		{"ethernet-ipv4-1400-bytes-checksum", LinkTypeEthernet, eth(0x0800, ack1400), true},
	}
	for _, fx := range fixtures {
		b.Run(fx.name, func(b *testing.B) {
			d := NewDecoder(DecoderOptions{VerifyChecksums: fx.verify})
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(fx.frame)))
			for b.Loop() {
				d.Decode(fx.link, fx.frame, len(fx.frame), &p)
			}
			if p.Kind != KindTCP {
				b.Fatalf("fixture decodes as %v", p.Kind)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}

// packedKey is the alternative to a netip.AddrPort pair as a flow key:
// addresses as 16 bytes (IPv4 mapped) and the two ports.
type packedKey struct {
	src, dst     [16]byte
	sport, dport uint16
}

// BenchmarkFlowKey compares map lookups keyed by a pair of netip.AddrPort
// (what Segment holds) and by a packed [16]byte+ports struct (STYLE.md §3:
// measure before packing a key).
func BenchmarkFlowKey(b *testing.B) {
	const n = 1024
	type addrKey struct{ src, dst netip.AddrPort }
	ak := make([]addrKey, n)
	pk := make([]packedKey, n)
	for i := range n {
		s := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		ak[i] = addrKey{netip.AddrPortFrom(s, uint16(i)), netip.AddrPortFrom(srv4, 443)}
		pk[i] = packedKey{src: s.As16(), dst: srv4.As16(), sport: uint16(i), dport: 443}
	}
	b.Run("netip.AddrPort", func(b *testing.B) {
		m := make(map[addrKey]int, n)
		for i, k := range ak {
			m[k] = i
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = m[ak[i%n]]
			i++
		}
	})
	b.Run("packed", func(b *testing.B) {
		m := make(map[packedKey]int, n)
		for i, k := range pk {
			m[k] = i
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			_ = m[pk[i%n]]
			i++
		}
	})
}
