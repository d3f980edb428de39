package report

import (
	"bytes"
	"io"
	"unicode/utf8"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// appendCSVCell appends v as an RFC 4180 cell: quoted when it holds a
// comma, a quote or a line break, and each byte that is not part of valid
// UTF-8 written as U+FFFD, as JSON writes it (a file name or an evidence
// value may carry any bytes; a CSV reader decoding UTF-8 would fail on
// them).
func appendCSVCell(dst, v []byte) []byte {
	if csvPlain(v) {
		return append(dst, v...)
	}
	quote := csvQuoted(v)
	if quote {
		dst = append(dst, '"')
	}
	for i := 0; i < len(v); {
		r, n := utf8.DecodeRune(v[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		case r == '"':
			dst = append(dst, '"', '"')
		default:
			dst = append(dst, v[i:i+n]...)
		}
		i += n
	}
	if quote {
		dst = append(dst, '"')
	}
	return dst
}

// csvQuoted reports whether a CSV cell of v must be quoted: it holds a
// comma, a quote or a line break.
func csvQuoted(v []byte) bool { return bytes.ContainsAny(v, ",\"\r\n") }

// csvPlain reports whether v is a CSV cell as it is: not quoted, valid
// UTF-8.
func csvPlain(v []byte) bool { return !csvQuoted(v) && utf8.Valid(v) }

// csvWriter streams one row per flow as flows finish, after a header row of
// Columns.
type csvWriter struct {
	w     io.Writer
	buf   []byte
	enc   flowEncoder
	batch int    // bytes gathered before a write (batchFor)
	file  string // Options.File: a last "file" column
}

// newCSV returns a CSV writer; file, if set, is the value of a last "file"
// column; noHeader leaves out the header row.
func newCSV(w io.Writer, seed uint16, file string, noHeader bool) *csvWriter {
	buf := make([]byte, 0, 4096)
	if !noHeader {
		for i, c := range columns {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, c...)
		}
		if file != "" {
			buf = append(buf, ",file"...)
		}
		buf = append(buf, '\n')
	}
	return &csvWriter{w: w, buf: buf, enc: flowEncoder{csv: true, seed: seed}, batch: 64 << 10, file: file}
}

func (c *csvWriter) Flow(f *reassembly.Flow) error {
	c.buf = c.enc.append(c.buf, f)
	if c.file != "" {
		c.buf = append(appendCSVCell(append(c.buf[:len(c.buf)-1], ','), []byte(c.file)), '\n')
	}
	return c.flushIfFull()
}

func (c *csvWriter) flushIfFull() error {
	if len(c.buf) < c.batch {
		return nil
	}
	return c.flush()
}

func (c *csvWriter) flush() error {
	_, err := c.w.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

func (c *csvWriter) Close(*Capture, *Stats) error { return c.flush() }
