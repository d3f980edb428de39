package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// TestNoAllocs checks that reading a record allocates nothing once a File
// is open, for each format and through a Merger.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are slow to measure")
	}
	const n = 2000
	var ps []pkt
	for i := range n {
		ps = append(ps, pkt{ts: int64(i) * 1000, data: frame(60+i%1400, byte(i))})
	}
	var ngf ng
	ngf.shb(binary.LittleEndian, 1, 0)
	ngf.idb(1, 0)
	ngf.idb(101, 0, tsresol(9)) // two link types: what makes gopacket's NgReader allocate
	for i, p := range ps {
		ngf.epb(uint32(i%2), uint64(p.ts), len(p.data), p.data)
	}
	for _, tc := range []struct {
		name  string
		file  []byte
		merge bool
	}{
		{"pcap", pcapLE(t, false, ps...), false},
		// compress/flate allocates when it starts some deflate blocks
		// (tens of KiB of output each): far below one allocation per
		// record, which AllocsPerRun rounds down to 0. Nothing per record.
		{"pcap.gz", gz(t, pcapLE(t, false, ps...)), false},
		{"pcapng", ngf.b, false},
		{"pcap+pcapng-merged", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var next func(*Record) error
			if tc.merge {
				a, _ := Open("-", bytes.NewReader(pcapLE(t, true, ps...)), 0)
				b, _ := Open("-", bytes.NewReader(ngf.b), 1)
				next = NewMerger([]*File{a, b}).Next
			} else {
				f, err := Open("-", bytes.NewReader(tc.file), 0)
				if err != nil {
					t.Fatal(err)
				}
				next = f.Next
			}
			var rec Record
			for range 10 { // warm up: buffers grow to their size
				if err := next(&rec); err != nil {
					t.Fatal(err)
				}
			}
			allocs := testing.AllocsPerRun(n/2, func() {
				if err := next(&rec); err != nil && err != io.EOF {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per record, want 0", allocs)
			}
		})
	}
}
