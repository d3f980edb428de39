package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testPkts are three packets of different sizes, 1.5 s apart, with
// nanosecond digits that a microsecond file drops.
var testPkts = []pkt{
	{ts: 1700000000_123456789, data: frame(60, 0)},
	{ts: 1700000001_623456000, data: frame(1514, 1)},
	{ts: 1700000003_000000999, data: frame(40, 2), orig: 1500}, // snapped
}

// wantPcapRecords is what reading testPkts from a pcap file gives.
func wantPcapRecords(nanos bool) []Record {
	var want []Record
	off := int64(pcapHeaderLen)
	for i, p := range testPkts {
		ts := p.ts
		if !nanos {
			ts -= ts % 1000
		}
		want = append(want, Record{Data: p.data, Timestamp: ts, OrigLen: p.origLen(), LinkType: 1,
			Frame: uint64(i + 1), Offset: off})
		off += pcapRecHdrLen + int64(len(p.data))
	}
	return want
}

func checkRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("record %d: Data %d bytes % x..., want %d bytes", i+1, len(g.Data), g.Data[:min(len(g.Data), 8)], len(w.Data))
		}
		if g.Timestamp != w.Timestamp || g.OrigLen != w.OrigLen || g.LinkType != w.LinkType ||
			g.Interface != w.Interface || g.Frame != w.Frame || g.File != w.File || g.Offset != w.Offset {
			g.Data, w.Data = nil, nil
			t.Errorf("record %d:\n got %+v\nwant %+v", i+1, g, w)
		}
	}
}

func TestPcapFormats(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  []byte
		nanos bool
	}{
		{"pcap-le-usec", pcapLE(t, false, testPkts...), false},
		{"pcap-le-nsec", pcapLE(t, true, testPkts...), true},
		{"pcap-be-usec", pcapBE(false, testPkts...), false},
		{"pcap-be-nsec", pcapBE(true, testPkts...), true},
		{"pcap-le-usec.gz", gz(t, pcapLE(t, false, testPkts...)), false},
		{"pcap-le-nsec.gz", gz(t, pcapLE(t, true, testPkts...)), true},
		{"pcap-be-usec.gz", gz(t, pcapBE(false, testPkts...)), false},
		{"pcap-be-nsec.gz", gz(t, pcapBE(true, testPkts...)), true},
		// Two gzip members concatenated, split inside the second record.
		{"pcap-le-usec.gz-multi-member", append(gz(t, pcapLE(t, false, testPkts...)[:100]), gz(t, pcapLE(t, false, testPkts...)[100:])...), false},
	} {
		t.Run(tc.name+"/stdin", func(t *testing.T) {
			recs, warn, err := readAll(t, tc.file)
			if err != nil || warn != nil {
				t.Fatalf("Open = %v, warning %v", err, warn)
			}
			checkRecords(t, recs, wantPcapRecords(tc.nanos))
		})
		t.Run(tc.name+"/file", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "capture.bin") // no telling extension
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path, nil, 7)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Path() != path || f.Size() != int64(len(tc.file)) {
				t.Errorf("Path, Size = %q, %d, want %q, %d", f.Path(), f.Size(), path, len(tc.file))
			}
			var rec Record
			n := 0
			for f.Next(&rec) == nil {
				n++
				if rec.File != 7 {
					t.Errorf("record File = %d, want 7", rec.File)
				}
			}
			if n != len(testPkts) || f.BytesRead() != int64(len(tc.file)) {
				t.Errorf("read %d records, BytesRead %d; want %d, %d", n, f.BytesRead(), len(testPkts), len(tc.file))
			}
			if err := f.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestPcapGoWriterMatchesHandBuilt pins the hand-built pcap header and
// records to what pcapgo writes.
func TestPcapGoWriterMatchesHandBuilt(t *testing.T) {
	b := pcapHeader(binary.LittleEndian, 0xa1b2c3d4, 2, 4, 65535, 1)
	for _, p := range testPkts {
		b = pcapRecord(b, binary.LittleEndian, uint32(p.ts/1e9), uint32(p.ts%1e9/1000), uint32(len(p.data)), uint32(p.origLen()), p.data)
	}
	if !bytes.Equal(b, pcapLE(t, false, testPkts...)) {
		t.Error("hand-built pcap differs from pcapgo.Writer's")
	}
}

func TestOpenErrors(t *testing.T) {
	le := binary.LittleEndian
	goodHdr := pcapHeader(le, 0xa1b2c3d4, 2, 4, 65535, 1)
	var badNg ng
	badNg.shb(le, 1, 0)
	binary.LittleEndian.PutUint32(badNg.b[len(badNg.b)-4:], 999) // trailing length disagrees
	var ngV2 ng
	ngV2.shb(le, 2, 0)
	var ngBadMagic ng
	ngBadMagic.shb(le, 1, 0)
	copy(ngBadMagic.b[8:], "\xde\xad\xbe\xef")
	for _, tc := range []struct {
		name   string
		file   []byte
		want   error
		offset int64
	}{
		{"empty", nil, ErrNotCapture, 0},
		{"three-bytes", []byte{0xd4, 0xc3, 0xb2}, ErrNotCapture, 0},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), ErrNotCapture, 0},
		{"gzip-garbage", gz(t, []byte("not a capture, just text")), ErrNotCapture, 0},
		{"gzip-empty", gz(t, nil), ErrNotCapture, 0},
		{"gzip-header-cut", []byte{0x1f, 0x8b, 8, 0}, ErrTruncated, 0},
		{"gzip-bad-header", []byte{0x1f, 0x8b, 99, 0, 0, 0, 0, 0, 0, 0, 0}, ErrNotCapture, 0},
		{"pcap-header-cut", goodHdr[:20], ErrTruncated, 0},
		{"pcap-version-1.4", pcapHeader(le, 0xa1b2c3d4, 1, 4, 65535, 1), ErrUnsupportedVersion, 0},
		{"pcap-version-2.3", pcapHeader(le, 0xa1b2c3d4, 2, 3, 65535, 1), ErrUnsupportedVersion, 0},
		{"pcap-first-caplen-2GB", pcapRecord(bytes.Clone(goodHdr), le, 1, 0, 2<<30, 2<<30, frame(64, 0)), ErrBadRecord, 24},
		{"pcap-first-record-header-cut", append(bytes.Clone(goodHdr), 1, 2, 3), ErrTruncated, 24},
		{"pcap-first-record-data-cut", pcapRecord(bytes.Clone(goodHdr), le, 1, 0, 100, 100, frame(50, 0)), ErrTruncated, 24},
		{"pcap-first-record-data-cut.gz", gz(t, pcapRecord(bytes.Clone(goodHdr), le, 1, 0, 100, 100, frame(50, 0))), ErrTruncated, 24},
		{"pcapng-lengths-disagree", badNg.b, ErrBadRecord, 0},
		{"pcapng-version-2.0", ngV2.b, ErrUnsupportedVersion, 0},
		{"pcapng-bad-byte-order-magic", ngBadMagic.b, ErrNotCapture, 0},
		{"pcapng-cut-in-shb", badNg.b[:20], ErrTruncated, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.file)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			if off := offsetOf(err); off != tc.offset {
				t.Errorf("error offset %d, want %d (%v)", off, tc.offset, err)
			}
			if !strings.HasPrefix(err.Error(), "-: offset ") {
				t.Errorf("error %q does not start with the path and offset", err)
			}
		})
	}
	t.Run("missing-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "missing.pcap")
		_, err := Open(path, nil, 0)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != path || !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Open = %v, want a *FileError for %s wrapping os.ErrNotExist", err, path)
		}
		if want := path + ": open: no such file or directory"; err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
	})
}

func TestPcapDamage(t *testing.T) {
	le := binary.LittleEndian
	good := pcapLE(t, false, testPkts...)
	end := int64(len(good)) // offset where a 4th record would start
	for _, tc := range []struct {
		name    string
		file    []byte
		records int
		want    error // nil: clean end
		offset  int64
	}{
		{"zero-records", good[:pcapHeaderLen], 0, nil, 0},
		{"truncated-last-record-header", append(bytes.Clone(good), 1, 2, 3, 4, 5), 3, ErrTruncated, end},
		{"truncated-last-record-data", pcapRecord(bytes.Clone(good), le, 9, 0, 80, 80, frame(79, 0)), 3, ErrTruncated, end},
		{"truncated-last-record-data.gz", gz(t, pcapRecord(bytes.Clone(good), le, 9, 0, 80, 80, frame(79, 0))), 3, ErrTruncated, end},
		{"absurd-caplen-later", pcapRecord(bytes.Clone(good), le, 9, 0, 16711424, 60, frame(60, 0)), 3, ErrBadRecord, end},
		{"caplen-over-snaplen-max", pcapRecord(bytes.Clone(good), le, 9, 0, 262145, 262145, frame(262145, 0)), 3, ErrBadRecord, end},
		{"gzip-stream-cut", gz(t, good)[:len(gz(t, good))-30], -1, ErrTruncated, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, warn, err := readAll(t, tc.file)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if tc.records >= 0 && len(recs) != tc.records {
				t.Errorf("read %d records, want %d", len(recs), tc.records)
			}
			if !errors.Is(warn, tc.want) || (tc.want == nil) != (warn == nil) {
				t.Fatalf("warning %v, want %v", warn, tc.want)
			}
			if warn != nil && tc.offset >= 0 && offsetOf(warn) != tc.offset {
				t.Errorf("warning at offset %d, want %d (%v)", offsetOf(warn), tc.offset, warn)
			}
			if warn != nil && (strings.HasSuffix(tc.name, ".gz") || strings.HasPrefix(tc.name, "gzip")) {
				if !strings.Contains(warn.Error(), "(decompressed)") {
					t.Errorf("warning %q for a gzip file does not say the offset is decompressed", warn)
				}
			}
		})
	}
}

func TestPcapOddRecords(t *testing.T) {
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		file []byte
		want Record
	}{
		{
			// pcapgo refuses incl_len > orig_len; Wireshark reads it.
			name: "caplen-over-origlen",
			file: pcapRecord(pcapHeader(le, 0xa1b2c3d4, 2, 4, 65535, 1), le, 5, 6, 64, 60, frame(64, 3)),
			want: Record{Data: frame(64, 3), Timestamp: 5_000006000, OrigLen: 60, LinkType: 1, Frame: 1, Offset: 24},
		},
		{
			// ts_usec of 4294967295 is out of range (and overflows a 32-bit
			// nanosecond product): the record is stamped at its second.
			name: "usec-field-out-of-range",
			file: pcapRecord(pcapHeader(le, 0xa1b2c3d4, 2, 4, 65535, 1), le, 1, 0xffffffff, 4, 4, frame(4, 0)),
			want: Record{Data: frame(4, 0), Timestamp: 1e9, OrigLen: 4, LinkType: 1, Frame: 1, Offset: 24},
		},
		{
			name: "usec-field-one-second",
			file: pcapRecord(pcapHeader(le, 0xa1b2c3d4, 2, 4, 65535, 1), le, 1, 1e6, 4, 4, frame(4, 0)),
			want: Record{Data: frame(4, 0), Timestamp: 1e9, OrigLen: 4, LinkType: 1, Frame: 1, Offset: 24},
		},
		{
			name: "nsec-field-out-of-range",
			file: pcapRecord(pcapHeader(le, 0xa1b23c4d, 2, 4, 65535, 1), le, 0xffffffff, 1e9, 4, 4, frame(4, 0)),
			want: Record{Data: frame(4, 0), Timestamp: 4294967295e9, OrigLen: 4, LinkType: 1, Frame: 1, Offset: 24},
		},
		{
			// The upper bits of the link-type field are FCS information.
			name: "linktype-with-fcs-bits-sll2",
			file: pcapRecord(pcapHeader(le, 0xa1b2c3d4, 2, 4, 65535, 0x14000000|276), le, 1, 0, 4, 4, frame(4, 0)),
			want: Record{Data: frame(4, 0), Timestamp: 1e9, OrigLen: 4, LinkType: 276, Frame: 1, Offset: 24},
		},
		{
			// A snap length above 256 KiB lets records up to it through.
			name: "big-snaplen-big-record",
			file: pcapRecord(pcapHeader(le, 0xa1b2c3d4, 2, 4, 1<<20, 1), le, 1, 0, 300000, 300000, frame(300000, 0)),
			want: Record{Data: frame(300000, 0), Timestamp: 1e9, OrigLen: 300000, LinkType: 1, Frame: 1, Offset: 24},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, warn, err := readAll(t, tc.file)
			if err != nil || warn != nil {
				t.Fatalf("Open = %v, warning %v", err, warn)
			}
			checkRecords(t, recs, []Record{tc.want})
		})
	}
}

func TestFileErrorMessage(t *testing.T) {
	cause := errors.New("cause")
	for _, tc := range []struct {
		err  FileError
		want string
	}{
		{FileError{Path: "a.pcap", Offset: 40, Err: cause}, "a.pcap: offset 40: cause"},
		{FileError{Path: "a.pcap.gz", Offset: 40, Decompressed: true, Err: cause}, "a.pcap.gz: offset 40 (decompressed): cause"},
		{FileError{Path: "-", Offset: -1, Err: cause}, "-: cause"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
			if !errors.Is(&tc.err, cause) {
				t.Error("errors.Is does not find the cause")
			}
		})
	}
}

// TestStdinNil checks that "-" without a reader is an error, not a panic.
func TestStdinNil(t *testing.T) {
	if _, err := Open("-", nil, 0); err == nil {
		t.Fatal("Open(\"-\", nil) succeeded")
	}
}

var _ io.Reader = (*countingReader)(nil)
