package capture

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// TestPcapng reads a two-section file: a little-endian section with three
// interfaces of different link types and time stamp resolutions, and a
// big-endian section whose interface IDs start again at 0.
func TestPcapng(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	var n ng
	n.shb(le, 1, 0)
	n.idb(1, 65535)                                        // if 0: Ethernet, default µs
	n.idb(101, 0, tsresol(9), tsoffset(le, 1_700_000_000)) // if 1: raw IP, ns, +1.7e9 s
	n.idb(276, 128, tsresol(0x80|20), tsoffset(le, -3600)) // if 2: SLL2, 2^-20 s, -1 h, snaplen 128
	n.block(4, le.AppendUint32(nil, 0))                    // NRB with just nrb_record_end: skipped
	var want []Record
	add := func(off int64, data []byte, ts int64, orig int, lt uint32, iface int) {
		want = append(want, Record{Data: data, Timestamp: ts, OrigLen: orig, LinkType: lt, Interface: iface,
			Frame: uint64(len(want) + 1), Offset: off})
	}
	add(n.epb(0, 1_700_000_000_123456, 60, frame(60, 0)), frame(60, 0), 1_700_000_000_123456000, 60, 1, 0)
	add(n.epb(1, 5_000000007, 1500, frame(41, 1)), frame(41, 1), 1_700_000_005_000000007, 1500, 101, 1)
	// 2^-20 s units: 3<<20 + 1<<19 is 3.5 s; minus 3600 s of offset.
	add(n.epb(2, 7_200<<20|1<<19, 70, frame(70, 2)), frame(70, 2), 3_600_500000000, 70, 276, 2)
	n.block(0x40000bad, []byte("custom block, skipped")) // unknown block type
	n.block(5, make([]byte, 12))                         // ISB: skipped
	// SPB: interface 0, no time stamp (repeats the previous record's).
	add(n.spb(60, frame(60, 3)), frame(60, 3), 3_600_500000000, 60, 1, 0)
	// SPB cut to the interface's snap length: interface 0 here has 65535,
	// so the data present (20 of 100 bytes) is the limit.
	add(n.spb(100, frame(20, 4)), frame(20, 4), 3_600_500000000, 100, 1, 0)
	add(n.pb(1, 6_000000000, 90, frame(90, 5)), frame(90, 5), 1_700_000_006_000000000, 90, 101, 1)

	n.shb(be, 1, 2) // second section, big-endian
	n.idb(113, 64)  // if 0 again: SLL, µs, snaplen 64
	add(n.epb(0, 42, 80, frame(64, 6)), frame(64, 6), 42000, 80, 113, 0)
	// SPB longer than the snap length of 64.
	add(n.spb(200, frame(100, 7)), frame(64, 7), 42000, 200, 113, 0)

	recs, warn, err := readAll(t, n.b)
	if err != nil || warn != nil {
		t.Fatalf("Open = %v, warning %v", err, warn)
	}
	checkRecords(t, recs, want)
	t.Run("gzip", func(t *testing.T) {
		recs, warn, err := readAll(t, gz(t, n.b))
		if err != nil || warn != nil {
			t.Fatalf("Open = %v, warning %v", err, warn)
		}
		checkRecords(t, recs, want)
	})
}

func TestPcapngZeroRecords(t *testing.T) {
	var n ng
	n.shb(binary.LittleEndian, 1, 0)
	n.idb(1, 0)
	recs, warn, err := readAll(t, n.b)
	if err != nil || warn != nil || len(recs) != 0 {
		t.Fatalf("Open = %v, warning %v, %d records; want a clean, empty file", err, warn, len(recs))
	}
}

// TestPcapngBigBlock reads a block larger than the read buffer.
func TestPcapngBigBlock(t *testing.T) {
	var n ng
	n.shb(binary.LittleEndian, 1, 0)
	n.idb(1, 0)
	big := frame(3<<20, 9)
	n.epb(0, 1, len(big), big)
	n.epb(0, 2, 60, frame(60, 1))
	recs, warn, err := readAll(t, n.b)
	if err != nil || warn != nil || len(recs) != 2 || len(recs[0].Data) != len(big) || recs[1].Timestamp != 2000 {
		t.Fatalf("Open = %v, warning %v, %d records", err, warn, len(recs))
	}
}

func TestPcapngDamage(t *testing.T) {
	le := binary.LittleEndian
	// base returns a section with one Ethernet interface and one packet.
	base := func() *ng {
		n := &ng{}
		n.shb(le, 1, 0)
		n.idb(1, 0)
		n.epb(0, 1, 60, frame(60, 0))
		return n
	}
	for _, tc := range []struct {
		name    string
		build   func(n *ng) int64 // damages n, returns the offset of the warning
		records int
		want    error
	}{
		{"trailing-length-disagrees", func(n *ng) int64 {
			off := n.epb(0, 2, 60, frame(60, 1))
			le.PutUint32(n.b[len(n.b)-4:], 84) // should be 92
			return off
		}, 1, ErrBadRecord},
		{"length-not-multiple-of-4", func(n *ng) int64 {
			off := n.epb(0, 2, 60, frame(60, 1))
			le.PutUint32(n.b[off+4:], 90)
			return off
		}, 1, ErrBadRecord},
		{"length-below-12", func(n *ng) int64 {
			off := int64(len(n.b))
			n.b = le.AppendUint32(n.b, 6) // block type EPB
			n.b = le.AppendUint32(n.b, 8) // block total length 8
			n.b = le.AppendUint32(n.b, 8)
			return off
		}, 1, ErrBadRecord},
		{"length-over-cap", func(n *ng) int64 {
			off := n.epb(0, 2, 60, frame(60, 1))
			le.PutUint32(n.b[off+4:], 128<<20)
			return off
		}, 1, ErrBadRecord},
		{"epb-too-short", func(n *ng) int64 {
			return n.block(blockEPB, make([]byte, 16)) // body below 20 bytes
		}, 1, ErrBadRecord},
		{"caplen-past-block", func(n *ng) int64 {
			off := n.epb(0, 2, 60, frame(60, 1))
			le.PutUint32(n.b[off+20:], 61) // captured length 61 > 60 bytes present
			return off
		}, 1, ErrBadRecord},
		{"interface-undefined", func(n *ng) int64 {
			return n.epb(1, 2, 60, frame(60, 1))
		}, 1, ErrBadRecord},
		{"pb-interface-undefined", func(n *ng) int64 {
			return n.pb(3, 2, 60, frame(60, 1))
		}, 1, ErrBadRecord},
		{"spb-without-interface", func(n *ng) int64 {
			n.shb(le, 1, 0) // new section: no interfaces yet
			return n.spb(60, frame(60, 1))
		}, 1, ErrBadRecord},
		{"interface-undefined-after-new-section", func(n *ng) int64 {
			n.shb(le, 1, 0)
			return n.epb(0, 2, 60, frame(60, 1))
		}, 1, ErrBadRecord},
		{"epb-option-past-block", func(n *ng) int64 {
			body := le.AppendUint32(nil, 0)                                       // interface ID
			body = le.AppendUint64(body, 2)                                       // timestamp
			body = le.AppendUint32(body, 4)                                       // captured length
			body = le.AppendUint32(body, 4)                                       // original length
			body = append(body, 1, 2, 3, 4)                                       // data
			body = append(body, le.AppendUint16(le.AppendUint16(nil, 1), 200)...) // opt_comment of length 200
			return n.block(blockEPB, body)
		}, 1, ErrBadRecord},
		{"tsresol-0xC0", func(n *ng) int64 {
			return n.idb(1, 0, tsresol(0xc0)) // 2^-64 s: no divide by zero
		}, 1, ErrBadRecord},
		{"tsresol-10^-20", func(n *ng) int64 {
			return n.idb(1, 0, tsresol(20))
		}, 1, ErrBadRecord},
		{"tsresol-length-2", func(n *ng) int64 {
			return n.idb(1, 0, idbOpt{optTSResol, []byte{6, 0}})
		}, 1, ErrBadRecord},
		{"too-many-interfaces", func(n *ng) int64 {
			for range maxInterfaces - 1 { // base has one
				n.idb(1, 0)
			}
			return n.idb(1, 0)
		}, 1, ErrBadRecord},
		{"idb-too-short", func(n *ng) int64 {
			return n.block(blockIDB, make([]byte, 4))
		}, 1, ErrBadRecord},
		{"later-section-version-2", func(n *ng) int64 {
			return n.shb(le, 2, 0)
		}, 1, ErrUnsupportedVersion},
		{"later-section-bad-magic", func(n *ng) int64 {
			off := n.shb(le, 1, 0)
			copy(n.b[off+8:], "\xde\xad\xbe\xef")
			return off
		}, 1, ErrBadRecord},
		{"truncated-block", func(n *ng) int64 {
			off := n.epb(0, 2, 60, frame(60, 1))
			n.b = n.b[:len(n.b)-10]
			return off
		}, 1, ErrTruncated},
		{"truncated-block-header", func(n *ng) int64 {
			off := int64(len(n.b))
			n.b = append(n.b, 6, 0, 0, 0, 92)
			return off
		}, 1, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := base()
			off := tc.build(n)
			recs, warn, err := readAll(t, n.b)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(recs) != tc.records {
				t.Errorf("read %d records, want %d", len(recs), tc.records)
			}
			if !errors.Is(warn, tc.want) {
				t.Fatalf("warning %v, want %v", warn, tc.want)
			}
			if got := offsetOf(warn); got != off {
				t.Errorf("warning at offset %d, want %d (%v)", got, off, warn)
			}
		})
	}
}

func TestTSConv(t *testing.T) {
	for _, tc := range []struct {
		name   string
		resol  byte
		offset int64
		ts     uint64
		want   int64
	}{
		{"usec", 6, 0, 1_700_000_000_123456, 1_700_000_000_123456000},
		{"nsec", 9, 0, 1_700_000_000_123456789, 1_700_000_000_123456789},
		{"sec", 0, 0, 5, 5e9},
		{"10^-12", 12, 0, 1_500_000_000_000, 1_500_000_000},
		{"10^-19", 19, 0, math.MaxUint64, 1_844_674_407},
		{"2^-20", 0x80 | 20, 0, 3<<20 | 1<<19, 3_500_000_000},
		{"2^-0", 0x80, 0, 7, 7e9},
		{"2^-63", 0x80 | 63, 0, 1 << 63, 1e9},
		{"2^-63-max", 0x80 | 63, 0, math.MaxUint64, 1_999_999_999},
		{"usec-offset", 6, 100, 1, 100_000_001_000},
		{"usec-negative-offset", 6, -100, 1, -99_999_999_000},
		{"sec-overflow", 0, 0, math.MaxUint64, math.MaxInt64},
		{"2^-0-overflow", 0x80, 0, 1 << 40, math.MaxInt64},
		{"offset-overflow", 9, math.MaxInt64, 1, math.MaxInt64},
		{"offset-underflow", 9, math.MinInt64, 1, math.MinInt64 + 1},
		{"sum-overflow", 9, 9e9, math.MaxInt64 - 5, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ok := newTSConv(tc.resol, tc.offset)
			if !ok {
				t.Fatalf("newTSConv(%#x) refused", tc.resol)
			}
			if got := c.nanos(tc.ts); got != tc.want {
				t.Errorf("nanos(%d) = %d, want %d", tc.ts, got, tc.want)
			}
		})
	}
	for _, resol := range []byte{20, 0x7f, 0x80 | 64, 0xc0, 0xff} {
		if _, ok := newTSConv(resol, 0); ok {
			t.Errorf("newTSConv(%#x) accepted", resol)
		}
	}
}
