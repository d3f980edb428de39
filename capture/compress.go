package capture

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	// klauspost's gzip decodes the same streams as compress/gzip with
	// about a fifth less CPU (measured on a 295 MB capture.gz).
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Compression names the compression of a capture file, as detected by
// its magic number.
type Compression string

// The compressions Open decompresses on the fly.
const (
	NotCompressed Compression = ""      // a plain pcap or pcapng file
	Gzip          Compression = "gzip"  // RFC 1952, also multi-member streams
	Zstd          Compression = "zstd"  // RFC 8878, also several frames
	XZ            Compression = "xz"    // the .xz format, also several streams
	Bzip2         Compression = "bzip2" // also several concatenated streams
)

// Magic numbers of the compressed formats.
var (
	gzipMagic  = []byte{0x1f, 0x8b}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}         // RFC 8878 §3.1.1
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00} // xz file format §2.1.1.1
	bzip2Magic = []byte{'B', 'Z', 'h'}                  // then the block size '1'-'9'
)

// Limits on what a compressed header may ask for, so that a hostile file
// cannot make the reader allocate gigabytes. They are above what the
// standard tools write (xz -9 and -9e: 64 MiB; zstd --ultra -22 and
// --long: 128 MiB).
const (
	maxZstdWindow = 128 << 20
	maxXZDict     = 256 << 20
)

// detectCompression names the compression whose magic starts magic.
func detectCompression(magic []byte) Compression {
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		return Gzip
	case bytes.HasPrefix(magic, zstdMagic):
		return Zstd
	case bytes.HasPrefix(magic, xzMagic):
		return XZ
	case bytes.HasPrefix(magic, bzip2Magic) && len(magic) > 3 && magic[3] >= '1' && magic[3] <= '9':
		return Bzip2
	}
	return NotCompressed
}

// decompress returns a reader of the decompressed stream of br, compressed
// with c. A stream that ends early reads as io.ErrUnexpectedEOF, which
// readErr reports as ErrTruncated, as for gzip.
func decompress(c Compression, br *bufio.Reader) (io.Reader, error) {
	switch c {
	case Gzip:
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, compressedHeaderErr(c, err)
		}
		return gz, nil
	case Zstd:
		// One goroutine: the reader is pulled record by record, and more
		// would only buy memory. The window cap bounds what a frame
		// header can make the decoder allocate.
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, compressedHeaderErr(c, err)
		}
		return zstdReader{zr}, nil
	case XZ:
		if err := checkXZDict(br); err != nil {
			return nil, err
		}
		xr, err := xz.NewReader(br)
		if err != nil {
			return nil, compressedHeaderErr(c, err)
		}
		return xzReader{xr}, nil
	case Bzip2:
		return bzip2Reader{bzip2.NewReader(br)}, nil
	}
	return br, nil
}

// compressedHeaderErr describes a compressed stream whose header is bad.
func compressedHeaderErr(c Compression, err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errAt(0, ErrTruncated, "%s header cut short", c)
	}
	return errAt(0, ErrNotCapture, "%s: %w", c, err)
}

// checkXZDict refuses an xz stream whose first block asks for a
// dictionary above maxXZDict: the xz package allocates what the header
// says. It peeks only; a header it cannot parse is left to the xz package.
// Later blocks are not checked (the standard tools write the same filter
// in every block).
func checkXZDict(br *bufio.Reader) error {
	// Stream header (12 bytes), then the block header: its size byte
	// (real size (b+1)*4), flags, optional compressed and uncompressed
	// sizes (varints), then the filter flags: id, size of properties,
	// properties. LZMA2 (id 0x21) has one property byte, the dictionary
	// size (xz file format §3.1, §5.3.1).
	hdr, _ := br.Peek(12 + 1024)
	if len(hdr) < 14 {
		return nil
	}
	b := hdr[12:]
	size := (int(b[0]) + 1) * 4
	if b[0] == 0 || size > len(b) {
		return nil
	}
	b = b[2:size]
	flags := hdr[13]
	for _, present := range []bool{flags&0x40 != 0, flags&0x80 != 0} {
		if !present {
			continue
		}
		_, n := binary.Uvarint(b)
		if n <= 0 {
			return nil
		}
		b = b[n:]
	}
	filters := int(flags&0x03) + 1
	for range filters {
		id, n := binary.Uvarint(b)
		if n <= 0 {
			return nil
		}
		b = b[n:]
		props, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < props {
			return nil
		}
		b = b[n:]
		if id == 0x21 && props == 1 {
			d := b[0] & 0x3f
			if d > 40 {
				return nil // invalid; the xz package says so
			}
			dict := uint64(2|d&1) << (d/2 + 11)
			if d == 40 {
				dict = 1<<32 - 1
			}
			if dict > maxXZDict {
				return errAt(0, ErrBadRecord, "xz dictionary of %d MiB is above the %d MiB this reader accepts", dict>>20, maxXZDict>>20)
			}
		}
		b = b[props:]
	}
	return nil
}

// The readers below report a stream that ends before its end marker as
// io.ErrUnexpectedEOF, the way gzip does, so that a cut-short file is
// ErrTruncated whatever its compression.

type zstdReader struct{ d *zstd.Decoder }

func (r zstdReader) Read(p []byte) (int, error) {
	n, err := r.d.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("zstd: %w", err)
	}
	return n, err
}

type xzReader struct{ r *xz.Reader }

func (r xzReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("xz: %w", err)
	}
	return n, err
}

type bzip2Reader struct{ r io.Reader }

func (r bzip2Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("bzip2: %w", err)
	}
	return n, err
}

// unknownMagic is the error for a file that starts with no magic number
// hsanalyze knows: it names the first bytes (in hex, and as text where
// printable: all 8 are shown, since several formats share 4) and, where it can, what the file may be.
func unknownMagic(hdr []byte) *FileError {
	first := hdr[:min(len(hdr), 8)]
	msg := fmt.Sprintf("unknown magic number %x", first)
	if isText(first) {
		msg += fmt.Sprintf(" (%q)", first)
	}
	if what := guessFormat(hdr); what != "" {
		msg += "; looks like " + what
	} else {
		msg += "; hsanalyze reads pcap and pcapng, plain or compressed with gzip, zstd, xz or bzip2"
	}
	return errAt(0, ErrNotCapture, "%s", msg)
}

// guessFormat suggests what a file that is no capture may be, from its
// first bytes, for the "unknown magic number" error; "" when nothing fits.
func guessFormat(b []byte) string {
	for _, k := range knownMagics {
		if bytes.HasPrefix(b, k.magic) {
			return k.what
		}
	}
	if len(b) > 0 && isText(b) {
		return "text, not a capture (printed tcpdump output? record with tcpdump -w FILE)"
	}
	return ""
}

// knownMagics are formats people mistake for captures, or captures in a
// format hsanalyze does not read.
var knownMagics = []struct {
	magic []byte
	what  string
}{
	{[]byte("PK\x03\x04"), "a zip archive: unzip it first"},
	{[]byte("7z\xbc\xaf\x27\x1c"), "a 7-Zip archive: extract it with 7z x first"},
	{[]byte{0x04, 0x22, 0x4d, 0x18}, "an LZ4 stream: decompress it with lz4 -d first"},
	{[]byte("\x89LZO"), "an LZO stream: decompress it with lzop -d first"},
	{[]byte{0x5d, 0x00, 0x00}, "an LZMA (.lzma) stream: convert it with xz -d, or recompress as .xz"},
	{[]byte("snoop\x00\x00\x00"), "a Solaris snoop capture: convert it with editcap -F pcap"},
	{[]byte("GMBU"), "a Microsoft Network Monitor capture: convert it with editcap -F pcap"},
	{[]byte("XCP\x00"), "a NetXray/Sniffer capture: convert it with editcap -F pcap"},
	{[]byte("\x34\xcd\xb2\xa1"), "a Kuznetzov-patched (modified) pcap: convert it with editcap -F pcap"},
	{[]byte("\xa1\xb2\xcd\x34"), "a Kuznetzov-patched (modified) pcap: convert it with editcap -F pcap"},
	{[]byte("\x7fELF"), "an executable, not a capture"},
	{[]byte("%PDF"), "a PDF document, not a capture"},
}

// isText reports whether b looks like printable text.
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
