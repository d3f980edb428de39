package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeed is one seed input of FuzzReader and the edge case it hits.
type fuzzSeed struct {
	name, comment string
	data          []byte
}

// fuzzSeeds returns the seeds, small captures built by the test helpers.
// TestWriteFuzzSeeds writes them to testdata/fuzz/FuzzReader too.
func fuzzSeeds(t testing.TB) []fuzzSeed {
	le, be := binary.LittleEndian, binary.BigEndian
	hdr := pcapHeader(le, 0xa1b2c3d4, 2, 4, 65535, 1)

	var twoSections ng
	twoSections.shb(le, 1, 0)
	twoSections.idb(1, 0, tsresol(9), tsoffset(le, 10))
	twoSections.epb(0, 5, 8, frame(8, 0))
	twoSections.spb(8, frame(8, 1))
	twoSections.shb(be, 1, 0)
	twoSections.idb(101, 4, tsresol(0x80|20))
	twoSections.pb(0, 7, 8, frame(8, 2))
	twoSections.block(0x0bad, []byte("skip"))

	var badResol ng
	badResol.shb(le, 1, 0)
	badResol.idb(1, 0, tsresol(0xc0))
	badResol.epb(0, 1, 4, frame(4, 0))

	var disagree ng
	disagree.shb(le, 1, 0)
	disagree.idb(1, 0)
	disagree.epb(0, 1, 4, frame(4, 0))
	disagree.epb(0, 2, 4, frame(4, 0))
	le.PutUint32(disagree.b[len(disagree.b)-4:], 36)

	return []fuzzSeed{
		{"pcap-le-usec", "one 8-byte record, little-endian microseconds", pcapRecord(bytes.Clone(hdr), le, 1, 2, 8, 8, frame(8, 0))},
		{"pcap-be-nsec", "big-endian nanoseconds, two records", pcapBE(true, pkt{ts: 1, data: frame(4, 0)}, pkt{ts: 2e9, data: frame(6, 1), orig: 60})},
		{"pcap-caplen-over-origlen", "incl_len > orig_len, read outside pcapgo", pcapRecord(bytes.Clone(hdr), le, 1, 2, 8, 4, frame(8, 0))},
		{"pcap-absurd-caplen", "second record claims 16 MB", pcapRecord(pcapRecord(bytes.Clone(hdr), le, 1, 2, 4, 4, frame(4, 0)), le, 0, 0, 0xff0000, 4, frame(4, 0))},
		{"pcap-truncated", "record data cut short", pcapRecord(bytes.Clone(hdr), le, 1, 2, 8, 8, frame(5, 0))},
		{"pcap-gzip", "gzip-compressed pcap", gz(t, pcapRecord(bytes.Clone(hdr), le, 1, 2, 8, 8, frame(8, 0)))},
		{"pcap-zstd", "zstd-compressed pcap", zst(t, pcapRecord(bytes.Clone(hdr), le, 1, 2, 8, 8, frame(8, 0)))},
		{"pcap-xz", "xz-compressed pcap", xzc(t, pcapRecord(bytes.Clone(hdr), le, 1, 2, 8, 8, frame(8, 0)))},
		{"pcapng-two-sections", "LE and BE sections, EPB, SPB, PB, tsresol, tsoffset, an unknown block", twoSections.b},
		{"pcapng-tsresol-0xc0", "if_tsresol 2^-64: must not divide by zero", badResol.b},
		{"pcapng-lengths-disagree", "second EPB's trailing length differs", disagree.b},
	}
}

// FuzzReader opens arbitrary bytes and reads them to the end: it must never
// panic, and what it returns must keep the package's promises.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.data) // s.comment
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Open("-", bytes.NewReader(data), 3)
		if err != nil {
			if !errors.As(err, new(*FileError)) {
				t.Fatalf("Open error %v is a %T", err, err)
			}
			return
		}
		defer file.Close()
		var rec Record
		for frame := uint64(1); ; frame++ {
			err := file.Next(&rec)
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.As(err, new(*FileError)) {
					t.Fatalf("warning %v is a %T", err, err)
				}
				if err := file.Next(&rec); err != io.EOF {
					t.Fatalf("Next after a warning = %v", err)
				}
				return
			}
			// Offsets count decompressed bytes: gzip expands at most
			// ~1032 times, zstd (RLE blocks), xz and bzip2 far more.
			limit := int64(len(data))
			switch file.Compression() {
			case Gzip:
				limit *= 1100
			case Zstd, XZ, Bzip2:
				limit = 1 << 62
			}
			if rec.Frame != frame || rec.File != 3 || rec.Offset < 0 || rec.Offset >= limit {
				t.Fatalf("record %+v", rec)
			}
		}
	})
}

// TestWriteFuzzSeeds writes the seeds to testdata/fuzz/FuzzReader when
// CAPTURE_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("CAPTURE_WRITE_SEEDS") == "" {
		t.Skip("set CAPTURE_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzReader")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.data)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
