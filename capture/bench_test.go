package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// benchPackets returns n packets of 60 to 1500 bytes, 10 µs apart, and their
// total captured size.
func benchPackets(n int) ([]pkt, int64) {
	ps := make([]pkt, n)
	data := frame(1500, 0)
	var total int64
	seed := uint32(7)
	for i := range ps {
		seed = seed*1664525 + 1013904223
		size := 60 + int(seed>>8)%1441
		ps[i] = pkt{ts: 1_700_000_000e9 + int64(i)*10_000, data: data[:size]}
		total += int64(size)
	}
	return ps, total
}

// BenchmarkRead reads a 100k-packet capture from memory, per format.
func BenchmarkRead(b *testing.B) {
	const n = 100_000
	ps, total := benchPackets(n)
	var ngf ng
	ngf.shb(binary.LittleEndian, 1, 0)
	ngf.idb(1, 0, tsresol(9))
	for _, p := range ps {
		ngf.epb(0, uint64(p.ts), len(p.data), p.data)
	}
	for _, fx := range []struct {
		name string
		file []byte
	}{
		{"pcap", pcapLE(b, true, ps...)},
		{"pcapng", ngf.b},
		{"pcap.gz", gz(b, pcapLE(b, true, ps...))},
	} {
		b.Run(fx.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(total)
			var rec Record
			for b.Loop() {
				f, err := Open("-", bytes.NewReader(fx.file), 0)
				if err != nil {
					b.Fatal(err)
				}
				count := 0
				for {
					err := f.Next(&rec)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					count++
				}
				if count != n {
					b.Fatalf("read %d records, want %d", count, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
