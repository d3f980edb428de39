package report

import (
	"io"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// zeekJSONWriter writes the conn.log records as Zeek's JSON logs do
// (LogAscii::use_json): one object per line, the same keys as the TSV
// columns (id.orig_h and so on), times as epoch seconds, unset fields left
// out, sets as arrays.
type zeekJSONWriter struct {
	w       io.Writer
	seed    uint16
	buf     []byte
	scratch []byte
	vals    []zeekValue
}

func newZeekJSON(w io.Writer, seed uint16) *zeekJSONWriter {
	return &zeekJSONWriter{w: w, seed: seed, vals: make([]zeekValue, len(zeekFields))}
}

func (z *zeekJSONWriter) Flow(f *reassembly.Flow) error {
	zeekRecords(f, func(c *connstate.Summary) { z.record(f, c) })
	if len(z.buf) < 64<<10 {
		return nil
	}
	return z.flush()
}

func (z *zeekJSONWriter) record(f *reassembly.Flow, c *connstate.Summary) {
	z.scratch = zeekRecord(z.vals, z.scratch[:0], f, c, z.seed)
	first := true
	for i, v := range z.vals {
		if v.kind == zeekUnset {
			continue
		}
		if first {
			z.buf = append(z.buf, '{')
		}
		z.buf = appendKey(z.buf, zeekFields[i].name, first)
		first = false
		switch v.kind {
		case zeekNum:
			z.buf = append(z.buf, v.text...)
		case zeekStr:
			z.buf = appendString(z.buf, v.text)
		case zeekSet:
			z.buf = append(z.buf, '[')
			for j, c := range v.set {
				if j > 0 {
					z.buf = append(z.buf, ',')
				}
				z.buf = appendString(z.buf, c.String())
			}
			z.buf = append(z.buf, ']')
		}
	}
	z.buf = append(z.buf, '}', '\n')
}

func (z *zeekJSONWriter) flush() error {
	_, err := z.w.Write(z.buf)
	z.buf = z.buf[:0]
	return err
}

func (z *zeekJSONWriter) Close(*Capture, *Stats) error { return z.flush() }
