package capture

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
)

// bufSize is the size of the read buffer of each File (and, for a
// compressed file, of the buffer of compressed bytes too).
const bufSize = 1 << 20

// Record is one packet record of a capture file.
//
// A Record is a plain value. Its Data is owned by the reader that filled it
// and is valid until the next Next call on the same File (for a record from
// a Merger: until the next Merger.Next). Copy Data to keep it longer; the
// other fields are copies and may be kept.
type Record struct {
	// Data is the captured bytes of the frame, starting at its link-layer
	// header. len(Data) is the captured length, at most OrigLen except in
	// files that break that rule.
	Data []byte
	// Timestamp is the capture time in nanoseconds since the Unix epoch.
	// For pcapng it applies the interface's if_tsresol and if_tsoffset.
	// A Simple Packet Block has no time stamp of its own: it repeats the
	// previous record's Timestamp in its file (0 for the first), so that
	// it keeps its place in a Merger. Timestamps that do not fit in int64
	// nanoseconds are clamped to the int64 range.
	Timestamp int64
	// OrigLen is the packet's original length on the wire.
	OrigLen int
	// LinkType is the LINKTYPE_ value of the record's interface: for pcap
	// the low 16 bits of the file header's link-type field (its upper bits
	// carry FCS information and are dropped), for pcapng the Interface
	// Description Block's link type.
	LinkType uint32
	// Interface is the pcapng interface ID within its section (IDs start
	// again at 0 in each section); 0 for pcap.
	Interface int
	// Frame is the 1-based number of the record in its file, counting
	// packet records only (pcapng: EPB, SPB and PB). It equals Wireshark's
	// frame number.
	Frame uint64
	// File is the index given to Open for the record's file.
	File int
	// Offset is the byte offset of the record's start (pcap: its record
	// header; pcapng: its block) in the file, in the decompressed stream
	// for a compressed file.
	Offset int64
}

// source is a format's record reader. next fills rec (Data, Timestamp,
// OrigLen, LinkType, Interface, Offset) and returns nil, io.EOF at a clean
// end, or a *FileError.
type source interface {
	next(rec *Record) error
}

// File is one open capture file. Create it with Open; the zero value is not
// usable. A File is not safe for concurrent use, except BytesRead, which may
// be called from another goroutine (for a progress display) while Next runs.
//
// Lifecycle: Open reads the file header and the first record; Next returns
// that record, then the following ones, then io.EOF (after at most one
// *FileError warning); Close releases the file.
type File struct {
	path        string
	index       int
	size        int64
	closer      io.Closer // the *os.File, nil for stdin
	raw         *countingReader
	compression Compression
	src         source

	first   Record // the record read by Open, returned by the first Next
	pending bool   // first is waiting to be returned
	done    bool   // the file has ended; Next returns io.EOF
	frame   uint64 // packet records returned so far
}

// Open opens the capture file at path, or reads stdin when path is "-".
// index is stored in every Record's File field and breaks timestamp ties in
// a Merger.
//
// Open detects the format by magic number: pcap (either byte order, magic
// a1b2c3d4 for microseconds or a1b23c4d for nanoseconds) and pcapng, plain
// or compressed with gzip, zstd, xz or bzip2 (decompressed on the fly,
// also several concatenated members, frames or streams). A compressed file
// damaged part-way is handled as a damaged capture: its records up to the
// damage, then a warning. It reads the file
// header and the first record, so a file of which nothing is readable fails
// here: an empty file, no capture, an unsupported version, or a first
// record or block that is damaged. A file with a valid header and no
// records opens fine; its first Next returns io.EOF.
//
// Errors are *FileError values wrapping ErrNotCapture, ErrTruncated,
// ErrBadRecord or ErrUnsupportedVersion, or (with Offset -1) the error of
// opening the file.
func Open(path string, stdin io.Reader, index int) (*File, error) {
	f := &File{path: path, index: index, size: -1}
	var r io.Reader
	if path == "-" {
		if stdin == nil {
			return nil, &FileError{Path: path, Offset: -1, Err: errors.New("no standard input")}
		}
		r = stdin
	} else {
		osf, err := os.Open(path)
		if err != nil {
			return nil, &FileError{Path: path, Offset: -1, Err: unwrapPathError(err)}
		}
		if st, err := osf.Stat(); err == nil && st.Mode().IsRegular() {
			f.size = st.Size()
		}
		f.closer = osf
		r = osf
	}
	f.raw = &countingReader{r: r}
	if err := f.open(); err != nil {
		f.Close()
		return nil, f.fileError(err)
	}
	return f, nil
}

// open detects the format, reads the header and the first record.
func (f *File) open() error {
	br := bufio.NewReaderSize(f.raw, bufSize)
	magic, err := br.Peek(len(xzMagic))
	if c := detectCompression(magic); c != NotCompressed {
		dr, err := decompress(c, br)
		if err != nil {
			return err
		}
		f.compression = c
		br = bufio.NewReaderSize(dr, bufSize)
		magic, err = br.Peek(4)
		if len(magic) < 4 && err != nil && err != io.EOF {
			return readErr(0, "file header", len(magic), 4, err)
		}
	}
	if len(magic) > 4 {
		magic = magic[:4]
	}
	switch {
	case len(magic) == 0:
		if err != nil && err != io.EOF {
			return &FileError{Offset: -1, Err: err}
		}
		return errAt(0, ErrNotCapture, "empty file")
	case len(magic) < 4:
		return errAt(0, ErrNotCapture, "only %d bytes", len(magic))
	}
	switch {
	case bytes.Equal(magic, ngMagic[:]):
		f.src = newNgReader(br)
	default:
		p, err := newPcapReader(br)
		if err != nil {
			return err
		}
		f.src = p
	}
	switch err := f.src.next(&f.first); err {
	case nil:
		f.pending = true
	case io.EOF:
		f.done = true
	default:
		return err
	}
	return nil
}

// Next fills rec with the next packet record. It returns nil, io.EOF when
// the file has ended cleanly, or a *FileError warning when the file is
// damaged part-way; after a warning, Next returns io.EOF. The records before
// the damage are valid. rec.Data is valid until the next call to Next.
func (f *File) Next(rec *Record) error {
	if f.pending {
		f.pending = false
		*rec = f.first
		f.first.Data = nil
		f.frame++
		rec.Frame = f.frame
		rec.File = f.index
		return nil
	}
	if f.done {
		return io.EOF
	}
	if err := f.src.next(rec); err != nil {
		f.done = true
		if err == io.EOF {
			return io.EOF
		}
		return f.fileError(err)
	}
	f.frame++
	rec.Frame = f.frame
	rec.File = f.index
	return nil
}

// fileError completes err as a *FileError naming this file.
func (f *File) fileError(err error) *FileError {
	var fe *FileError
	if !errors.As(err, &fe) {
		fe = &FileError{Offset: -1, Err: err}
	}
	fe.Path = f.path
	fe.Decompressed = f.compression != NotCompressed && fe.Offset >= 0
	return fe
}

// Close closes the underlying file (not stdin). Next must not be called
// after Close. Close is idempotent.
func (f *File) Close() error {
	f.done, f.pending = true, false
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c.Close()
}

// Path returns the path given to Open.
func (f *File) Path() string { return f.path }

// Compression returns the compression Open detected.
func (f *File) Compression() Compression { return f.compression }

// Size returns the size of the file on disk (compressed, for a compressed file),
// for showing progress against BytesRead; -1 for stdin or when unknown.
func (f *File) Size() int64 { return f.size }

// BytesRead returns how many bytes were consumed from the underlying file so
// far (compressed bytes, for a compressed file). Reading is buffered, so it runs
// ahead of the records returned. It is safe to call concurrently with Next.
func (f *File) BytesRead() int64 { return f.raw.n.Load() }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// readErr describes a read that got fewer than want bytes of what, at off.
// The end of the input (or of a compressed stream cut short) is
// ErrTruncated; other errors (an I/O error, a checksum) are passed on.
func readErr(off int64, what string, got, want int, err error) *FileError {
	if err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errAt(off, ErrTruncated, "%s cut short: %d of %d bytes", what, got, want)
	}
	return &FileError{Offset: off, Err: fmt.Errorf("reading %s: %w", what, err)}
}

// unwrapPathError drops the path from an *os.PathError, which FileError
// names already.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
