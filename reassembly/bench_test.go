package reassembly

import (
	"fmt"
	"net/netip"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/decode"
)

// wireBytes approximates a segment's captured size: Ethernet, IPv4 and TCP
// headers with timestamps (66 bytes) plus payload.
func wireBytes(ps []*decode.Packet) int64 {
	var n int64
	for _, p := range ps {
		n += 66 + int64(p.Segment.PayloadLen)
	}
	return n
}

func benchAddr(i int) (netip.AddrPort, netip.AddrPort) {
	c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(1024+i%60000))
	s := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 13)}), 443)
	return c, s
}

// benchFlows returns flows×5 segments: SYN, SYN-ACK, ACK, 100 bytes of
// data, client RST; flows start 5 µs apart, their segments 1 ms apart, so
// about 800 attempts are open at a time. Sorted by capture time.
func benchFlows(flows int) []*decode.Packet {
	ps := make([]*decode.Packet, 0, flows*5)
	for i := range flows {
		c, s := benchAddr(i)
		t := int64(i) * 5 * us
		cisn, sisn := uint32(i)*7919, uint32(i)*104729
		ps = append(ps,
			pkt(c, s, t, fSYN, cisn, 0, 0),
			pkt(s, c, t+1*ms, fSYNACK, sisn, cisn+1, 0),
			pkt(c, s, t+2*ms, fACK, cisn+1, sisn+1, 0),
			pkt(c, s, t+3*ms, fACK|decode.PSH, cisn+1, sisn+1, 100),
			pkt(c, s, t+4*ms, decode.RST|decode.ACK, cisn+101, sisn+1, 0),
		)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Segment.Timestamp < ps[j].Segment.Timestamp })
	for i, p := range ps {
		p.Segment.Frame = uint64(i + 1)
	}
	return ps
}

func BenchmarkTracker(b *testing.B) {
	b.Run("handshakes_100k_segments_20k_flows", func(b *testing.B) {
		ps := benchFlows(20000)
		b.ReportAllocs()
		b.SetBytes(wireBytes(ps))
		flows := 0
		for b.Loop() {
			tr := New(Options{}, func(*Flow) { flows++ })
			for _, p := range ps {
				tr.Add(p)
			}
			tr.Flush()
		}
		b.ReportMetric(float64(len(ps))*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		b.ReportMetric(float64(flows)/float64(b.N), "flows/op")
	})
	b.Run("established_100k_segments_20k_open", func(b *testing.B) {
		// 20k attempts stay open; each op feeds 5 data segments to each.
		const n = 20000
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tr := New(Options{}, func(*Flow) {})
		for i := range n {
			c, s := benchAddr(i)
			for _, p := range handshake3(c, s, int64(i)*us, 1000, 5000) {
				tr.Add(p)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perFlow := float64(after.HeapAlloc-before.HeapAlloc) / n
		data := make([]*decode.Packet, 0, 5*n)
		for k := range 5 {
			for i := range n {
				c, s := benchAddr(i)
				data = append(data, pkt(c, s, 0, fACK|decode.PSH, 1001+uint32(k)*100, 5001, 100))
			}
		}
		clock := int64(time.Second)
		b.ReportAllocs()
		b.SetBytes(wireBytes(data))
		for b.Loop() {
			for _, p := range data {
				clock += 10 // ns: the flows never idle out
				p.Segment.Timestamp = base + clock
				tr.Add(p)
			}
		}
		if tr.Open() != n {
			b.Fatalf("Open() = %d", tr.Open())
		}
		b.ReportMetric(float64(len(data))*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		b.ReportMetric(perFlow, "B/openflow")
		runtime.KeepAlive(tr)
	})
}

// packedKey is the alternative BenchmarkKey measures FlowKey against: both
// addresses as 16 bytes and the ports, no pointers.
type packedKey struct {
	lo, hi   [16]byte
	plo, phi uint16
}

func packKey(a, b netip.AddrPort) packedKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return packedKey{a.Addr().As16(), b.Addr().As16(), a.Port(), b.Port()}
}

// BenchmarkKey compares FlowKey (two netip.AddrPort) with a packed byte key
// for building the key and looking it up in a table of 20k flows.
func BenchmarkKey(b *testing.B) {
	const n = 20000
	src, dst := make([]netip.AddrPort, n), make([]netip.AddrPort, n)
	for i := range n {
		src[i], dst[i] = benchAddr(i)
	}
	b.Run("FlowKey", func(b *testing.B) {
		m := make(map[FlowKey]int, n)
		for i := range n {
			m[KeyOf(src[i], dst[i])] = i
		}
		sum := 0
		for i := 0; b.Loop(); i++ {
			j := i % n
			sum += m[KeyOf(dst[j], src[j])]
		}
		_ = sum
	})
	b.Run("packed", func(b *testing.B) {
		m := make(map[packedKey]int, n)
		for i := range n {
			m[packKey(src[i], dst[i])] = i
		}
		sum := 0
		for i := 0; b.Loop(); i++ {
			j := i % n
			sum += m[packKey(dst[j], src[j])]
		}
		_ = sum
	})
}

// floodPackets is a SYN flood of n attempts from distinct sources, 7300
// a second, each SYN retransmitted 0-3 times (after 1, 3 and 7 s) and
// never answered, as hsgen -shape synflood makes it. Sorted by time.
func floodPackets(n int) []*decode.Packet {
	var ps []*decode.Packet
	for i := range n {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), uint16(32768+i%32768))
		t := int64(i) * 137 * us
		for k, d := range []int64{0, 1, 3, 7}[:1+i%4] {
			p := pkt(c, srv, t+d*sec, fSYN, uint32(i)*2654435761, 0, 0)
			p.Segment.Options = decode.Options{Present: decode.OptMSS | decode.OptWindowScale | decode.OptSACKPermitted | decode.OptTimestamps,
				MSS: 1460, WindowScale: 7, TSval: uint32(i + k*1000)}
			ps = append(ps, p)
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Segment.Timestamp < ps[j].Segment.Timestamp })
	for i, p := range ps {
		p.Segment.Frame = uint64(i + 1)
	}
	return ps
}

// BenchmarkFlood feeds a 100k-attempt SYN flood through a Tracker without
// Zeek's view (as every format but Zeek's runs): unbounded, and with a
// bound (4 MiB) that decides most attempts early and churns tombstones.
func BenchmarkFlood(b *testing.B) {
	ps := floodPackets(100000)
	for _, mm := range []int64{0, 4 << 20} {
		b.Run(fmt.Sprintf("maxmem=%d", mm), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(wireBytes(ps))
			for b.Loop() {
				tr := New(Options{MaxMemory: mm, NoConnState: true}, func(*Flow) {})
				for _, p := range ps {
					tr.Add(p)
				}
				tr.Flush()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(ps)), "ns/pkt")
		})
	}
}
