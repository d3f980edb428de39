package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// compressor compresses a whole file one way.
type compressor struct {
	name string
	c    Compression
	do   func(t testing.TB, b []byte) []byte
}

// compressors are every compression Open reads. bzip2 has no Go encoder in
// the standard library, so it (and the command-line variants, which prove
// the files the standard tools write are read) run the tool and skip when
// it is missing; CI installs them.
var compressors = []compressor{
	{"gzip", Gzip, gz},
	{"zstd", Zstd, zst},
	{"xz", XZ, xzc},
	{"bzip2-cli", Bzip2, cli("bzip2", "-c")},
	{"zstd-cli", Zstd, cli("zstd", "-c", "-q")},
	{"xz-cli", XZ, cli("xz", "-c", "-1")},
}

func zst(t testing.TB, b []byte) []byte {
	return encode(t, b, func(w io.Writer) (io.WriteCloser, error) { return zstd.NewWriter(w) })
}

func xzc(t testing.TB, b []byte) []byte {
	return encode(t, b, func(w io.Writer) (io.WriteCloser, error) { return xz.NewWriter(w) })
}

// encode compresses b with the writer newWriter returns.
func encode(t testing.TB, b []byte, newWriter func(io.Writer) (io.WriteCloser, error)) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// cli compresses with a command that reads stdin and writes stdout.
func cli(name string, args ...string) func(t testing.TB, b []byte) []byte {
	return func(t testing.TB, b []byte) []byte {
		t.Helper()
		path, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("no %s command: %v", name, err)
		}
		cmd := exec.Command(path, args...)
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
}

func TestCompressedFormats(t *testing.T) {
	plain := pcapLE(t, false, testPkts...)
	var png ng
	png.shb(binary.LittleEndian, 1, 0)
	png.idb(1, 65535)
	png.epb(0, 1_000_000, 60, frame(60, 1))
	for _, c := range compressors {
		t.Run(c.name+"/pcap", func(t *testing.T) {
			z := c.do(t, plain)
			f, err := Open("-", bytes.NewReader(z), 0)
			if err != nil {
				t.Fatal(err)
			}
			if f.Compression() != c.c {
				t.Errorf("Compression() = %q, want %q", f.Compression(), c.c)
			}
			f.Close()
			recs, warn, err := readAll(t, z)
			if err != nil || warn != nil {
				t.Fatalf("Open = %v, warning %v", err, warn)
			}
			checkRecords(t, recs, wantPcapRecords(false))
		})
		t.Run(c.name+"/pcapng", func(t *testing.T) {
			recs, warn, err := readAll(t, c.do(t, png.b))
			if err != nil || warn != nil || len(recs) != 1 || !bytes.Equal(recs[0].Data, frame(60, 1)) {
				t.Fatalf("Open = %v, warning %v, %d records", err, warn, len(recs))
			}
		})
		// Two streams (members, frames) one after the other, split inside
		// the second record: what cat a.zst b.zst gives.
		t.Run(c.name+"/concatenated", func(t *testing.T) {
			recs, warn, err := readAll(t, append(c.do(t, plain[:100]), c.do(t, plain[100:])...))
			if err != nil || warn != nil {
				t.Fatalf("Open = %v, warning %v", err, warn)
			}
			checkRecords(t, recs, wantPcapRecords(false))
		})
	}
}

// TestCompressedDamage checks that damage inside a compressed stream is
// handled as for a plain file: the records before it, then one warning
// saying the offset counts decompressed bytes; damage before the first
// record fails Open.
func TestCompressedDamage(t *testing.T) {
	good := pcapLE(t, false, testPkts...)
	// A record cut short in the plain stream, then compressed whole.
	cutRecord := pcapRecord(bytes.Clone(good), binary.LittleEndian, 9, 0, 80, 80, frame(79, 0))
	for _, c := range compressors {
		t.Run(c.name+"/record-cut-inside", func(t *testing.T) {
			recs, warn, err := readAll(t, c.do(t, cutRecord))
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 3 || !errors.Is(warn, ErrTruncated) || offsetOf(warn) != int64(len(good)) {
				t.Fatalf("%d records, warning %v; want 3 and ErrTruncated at %d", len(recs), warn, len(good))
			}
			if !strings.Contains(warn.Error(), "(decompressed)") {
				t.Errorf("warning %q does not say the offset is decompressed", warn)
			}
		})
		t.Run(c.name+"/stream-cut", func(t *testing.T) {
			// A file of several compressed blocks (zstd: 128 KiB, bzip2:
			// 900 kB), so that the cut falls after the first: its records
			// are read, then the truncation. A block cut short yields
			// none of its records, which no decompressor can help.
			rng := rand.New(rand.NewPCG(1, 2))
			var pk []pkt
			for i := range 3000 {
				data := make([]byte, 1000)
				for j := range data {
					data[j] = byte(rng.IntN(16)) // compressible, but not to nothing
				}
				pk = append(pk, pkt{ts: int64(i) * 1e6, data: data})
			}
			z := c.do(t, pcapLE(t, false, pk...))
			recs, warn, err := readAll(t, z[:len(z)*2/3])
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(recs) == 0 || len(recs) >= len(pk) || warn == nil {
				t.Fatalf("%d of %d records, warning %v", len(recs), len(pk), warn)
			}
			if !errors.Is(warn, ErrTruncated) && c.c != Bzip2 {
				// bzip2 checks a block's CRC only at its end, and a cut
				// block reads as a short read; the others say cut short.
				t.Errorf("warning %v, want ErrTruncated", warn)
			}
		})
		t.Run(c.name+"/header-cut", func(t *testing.T) {
			z := c.do(t, good)
			_, _, err := readAll(t, z[:7])
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotCapture) {
				t.Fatalf("Open = %v, want a truncation or not-a-capture error", err)
			}
		})
		t.Run(c.name+"/not-a-capture-inside", func(t *testing.T) {
			_, _, err := readAll(t, c.do(t, []byte("not a capture, just text")))
			if !errors.Is(err, ErrNotCapture) || !strings.Contains(err.Error(), "text") {
				t.Fatalf("Open = %v, want ErrNotCapture naming text", err)
			}
		})
		t.Run(c.name+"/empty-inside", func(t *testing.T) {
			_, _, err := readAll(t, c.do(t, nil))
			if !errors.Is(err, ErrNotCapture) {
				t.Fatalf("Open = %v, want ErrNotCapture", err)
			}
		})
	}
}

// TestXZDictionaryCap checks that an xz header asking for a huge dictionary
// is refused before the xz package allocates it.
func TestXZDictionaryCap(t *testing.T) {
	z := xzc(t, pcapLE(t, false, testPkts...))
	// The first block header follows the 12-byte stream header: size,
	// flags (0x00 or with sizes), then filter 0x21, 1 property byte.
	i := bytes.Index(z[12:], []byte{0x21, 0x01})
	if i < 0 {
		t.Fatalf("no LZMA2 filter flags in % x", z[:32])
	}
	z[12+i+2] = 39 // 3 GiB
	_, _, err := readAll(t, z)
	if !errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), "dictionary") {
		t.Fatalf("Open = %v, want a refused dictionary", err)
	}
}

func TestUnknownMagic(t *testing.T) {
	for _, tc := range []struct {
		name string
		file []byte
		want []string
	}{
		{"zip", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), []string{"504b0304", "zip"}},
		{"lz4", []byte{0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0, 0}, []string{"04224d18", "LZ4"}},
		{"tcpdump-text", []byte("10:00:00.000001 IP 10.0.0.1.5000 > 10.0.0.2.80: Flags [S]\n"), []string{`"10:00:00"`, "text"}},
		{"snoop", []byte("snoop\x00\x00\x00\x00\x00\x00\x02"), []string{"736e6f6f70000000", "snoop", "editcap"}},
		{"random", []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0x05}, []string{"deadbeef01020304", "gzip, zstd, xz or bzip2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.file)
			if !errors.Is(err, ErrNotCapture) {
				t.Fatalf("Open = %v, want ErrNotCapture", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not name %q", err, w)
				}
			}
		})
	}
}

func TestDetectCompression(t *testing.T) {
	for _, tc := range []struct {
		magic string
		want  Compression
	}{
		{"\x1f\x8b\x08\x00", Gzip},
		{"\x28\xb5\x2f\xfd\x00", Zstd},
		{"\xfd7zXZ\x00", XZ},
		{"BZh9", Bzip2},
		{"BZh0", NotCompressed}, // no such block size
		{"BZ", NotCompressed},
		{"\xd4\xc3\xb2\xa1", NotCompressed},
	} {
		if got := detectCompression([]byte(tc.magic)); got != tc.want {
			t.Errorf("detectCompression(%q) = %q, want %q", tc.magic, got, tc.want)
		}
	}
}
