package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// jsonWriter writes one object: the summary first, then the flows sorted by
// first_ts (ties in the order the analysis finished them). Flows arrive in
// another order, so each is encoded at once into a spool, and only a
// 24-byte index entry per flow stays in memory; the spool moves from memory
// to an unlinked temporary file once it outgrows spoolMem.
type jsonWriter struct {
	w     io.Writer
	seed  uint16
	spool spool
	index []spooled
	buf   []byte
}

// spooled locates one encoded flow in the spool.
type spooled struct {
	ts  int64
	off int64
	n   int64
}

func newJSON(w io.Writer, seed uint16) (*jsonWriter, error) {
	return &jsonWriter{w: w, seed: seed}, nil
}

func (j *jsonWriter) Flow(f *reassembly.Flow) error {
	j.buf = appendFields(j.buf[:0], f, jsonSink{}, j.seed)
	off, err := j.spool.write(j.buf)
	if err != nil {
		return fmt.Errorf("spool flow: %w", err)
	}
	j.index = append(j.index, spooled{ts: f.FirstTS, off: off, n: int64(len(j.buf))})
	return nil
}

func (j *jsonWriter) Close(c *Capture, s *Stats) error {
	defer j.spool.close()
	slices.SortStableFunc(j.index, func(a, b spooled) int { return cmp.Compare(a.ts, b.ts) })
	bw := bufio.NewWriterSize(j.w, 256<<10)
	bw.Write(appendSummaryJSON([]byte(`{"summary":`), c, s))
	bw.WriteString(`,"flows":[`)
	for i, e := range j.index {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n  ")
		b, err := j.spool.read(j.buf[:0], e.off, e.n)
		if err != nil {
			return fmt.Errorf("read spooled flow: %w", err)
		}
		j.buf = b
		bw.Write(b)
	}
	if len(j.index) > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}

// appendSummaryJSON appends the summary object: the CONTRACT.md fields,
// then hsanalyze's own.
func appendSummaryJSON(dst []byte, c *Capture, s *Stats) []byte {
	u := func(name string, v uint64, first bool) {
		dst = appendKey(dst, name, first)
		dst = strconv.AppendUint(dst, v, 10)
	}
	dst = append(dst, '{')
	u("packets", c.Packets, true)
	u("tcp_packets", c.TCPPackets, false)
	u("flows", s.Flows, false)
	for i, v := range reportVerdicts {
		u(v.String(), s.ByVerdict[i], false)
	}
	u("warnings", uint64(c.Warnings), false)
	dst = appendKey(dst, "files", false)
	dst = append(dst, '[')
	for i, f := range c.Files {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f)
	}
	dst = append(dst, ']')
	dst = appendKey(dst, "first_ts", false)
	dst = appendOptTime(dst, c.FirstTS, c.Packets > 0)
	dst = appendKey(dst, "last_ts", false)
	dst = appendOptTime(dst, c.LastTS, c.Packets > 0)
	u("syn_retransmits", s.SYNRetransmits, false)
	dst = appendKey(dst, "syn_to_synack_ms", false)
	if l, ok := s.Latency(50, 95, 99, 100); ok {
		for i, name := range []string{"p50", "p95", "p99", "max"} {
			if i == 0 {
				dst = append(dst, '{')
			}
			dst = appendKey(dst, name, i == 0)
			dst = appendMillis(dst, l[i], true)
		}
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = appendKey(dst, "anomalies", false)
	dst = append(dst, '{')
	for i, a := range s.TopAnomalies(len(s.Anomalies)) {
		dst = appendKey(dst, a.Key.String(), i == 0)
		dst = strconv.AppendUint(dst, a.Count, 10)
	}
	dst = append(dst, '}')
	dst = appendKey(dst, "decoded", false)
	dst = append(dst, '{')
	for k, n := range c.Decoded.ByKind {
		dst = appendKey(dst, decode.Kind(k).String(), k == 0)
		dst = strconv.AppendUint(dst, n, 10)
	}
	return append(dst, '}', '}')
}

func appendOptTime(dst []byte, ns int64, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	return appendTime(dst, ns)
}

// spoolMem is how much encoded JSON the spool keeps in memory before it
// moves to a temporary file.
const spoolMem = 8 << 20

// spool is append-only storage for encoded flows: memory first, then an
// unlinked temporary file. The zero value is ready to use.
type spool struct {
	mem  []byte
	file *os.File
	bw   *bufio.Writer
	size int64
}

func (s *spool) write(b []byte) (int64, error) {
	off := s.size
	s.size += int64(len(b))
	if s.file == nil && len(s.mem)+len(b) <= spoolMem {
		s.mem = append(s.mem, b...)
		return off, nil
	}
	if s.file == nil {
		f, err := os.CreateTemp("", "hsanalyze-*.json")
		if err != nil {
			return 0, err
		}
		os.Remove(f.Name()) // unlinked: gone when closed, even on a crash (POSIX)
		s.file, s.bw = f, bufio.NewWriterSize(f, 1<<20)
		if _, err := s.bw.Write(s.mem); err != nil {
			return 0, err
		}
		s.mem = nil
	}
	_, err := s.bw.Write(b)
	return off, err
}

// read appends the n bytes at off to dst.
func (s *spool) read(dst []byte, off, n int64) ([]byte, error) {
	if s.file == nil {
		return append(dst, s.mem[off:off+n]...), nil
	}
	if s.bw.Buffered() > 0 {
		if err := s.bw.Flush(); err != nil {
			return dst, err
		}
	}
	start := len(dst)
	dst = slices.Grow(dst, int(n))[:start+int(n)]
	_, err := s.file.ReadAt(dst[start:], off)
	return dst, err
}

func (s *spool) close() {
	if s.file != nil {
		name := s.file.Name()
		s.file.Close()
		os.Remove(name) // where the early unlink failed
	}
}
