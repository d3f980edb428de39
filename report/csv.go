package report

import (
	"bytes"
	"io"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// appendCSVCell appends v as an RFC 4180 cell: quoted when it holds a
// comma, a quote or a line break.
func appendCSVCell(dst, v []byte) []byte {
	if !bytes.ContainsAny(v, ",\"\r\n") {
		return append(dst, v...)
	}
	dst = append(dst, '"')
	for _, c := range v {
		if c == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

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
