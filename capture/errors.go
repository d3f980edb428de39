package capture

import (
	"errors"
	"fmt"
)

// Sentinel errors, matched with errors.Is against the Err of a *FileError.
var (
	// ErrNotCapture is returned by Open for input that is not a capture
	// file at all: an empty file, an unknown magic number (the message
	// names the first bytes and guesses the format), a compressed stream
	// with a bad header or holding no capture, or a pcapng file whose first block is a Section
	// Header Block with an invalid byte-order magic.
	ErrNotCapture = errors.New("not a pcap or pcapng file")

	// ErrTruncated is returned when the input ends inside a file header, a
	// record header, a record's data or a pcapng block, including a gzip
	// stream cut short. From Open when nothing could be read; from Next as
	// a warning for a file cut short part-way.
	ErrTruncated = errors.New("file cut short")

	// ErrBadRecord is returned for a record or block header that cannot be
	// right: a pcap record longer than the largest a reader accepts, a
	// pcapng block whose length is below its minimum, not a multiple of 4,
	// larger than the block size cap, or different at its start and end, a
	// captured length past the end of its block, a packet on an interface
	// that was not described, an option running past its block, or an
	// impossible if_tsresol.
	ErrBadRecord = errors.New("corrupt record")

	// ErrUnsupportedVersion is returned for a pcap file header whose
	// version is not 2.4 (the only one pcapgo reads) and for a pcapng
	// Section Header Block whose major version is not 1. For the first
	// section it comes from Open; for a later section it is a warning and
	// the file stops there.
	ErrUnsupportedVersion = errors.New("unsupported format version")
)

// FileError describes a problem with one input file: which file, where in
// it, and why. Errors from Open and warnings from Next and Merger.Next are
// *FileError values.
type FileError struct {
	// Path is the file's path as given to Open ("-" for standard input).
	Path string
	// Offset is the byte offset of the damaged record or block from the
	// start of the file, counted in the decompressed stream when
	// Decompressed is set. It is -1 when the error is not at a position in
	// the file (the file could not be opened or read at all).
	Offset int64
	// Decompressed reports that the file is compressed (gzip, zstd, xz
	// or bzip2) and Offset counts decompressed bytes.
	Decompressed bool
	// Err is the cause. It wraps one of the package's sentinel errors
	// where one applies.
	Err error
}

// Error returns "PATH: offset N: cause", with "(decompressed)" after the
// offset for a compressed file, or "PATH: cause" when Offset is -1.
func (e *FileError) Error() string {
	switch {
	case e.Offset < 0:
		return fmt.Sprintf("%s: %v", e.Path, e.Err)
	case e.Decompressed:
		return fmt.Sprintf("%s: offset %d (decompressed): %v", e.Path, e.Offset, e.Err)
	default:
		return fmt.Sprintf("%s: offset %d: %v", e.Path, e.Offset, e.Err)
	}
}

// Unwrap returns the cause, so errors.Is finds the sentinels.
func (e *FileError) Unwrap() error { return e.Err }

// errAt builds the *FileError for damage at off; File fills in Path and
// Decompressed.
func errAt(off int64, sentinel error, format string, args ...any) *FileError {
	return &FileError{Offset: off, Err: fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)}
}
