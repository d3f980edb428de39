package report

import (
	"bufio"
	"io"
	"strconv"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// jsonWriter writes one object: the summary first, then the flows sorted by
// first_ts (ties in the order the analysis finished them). Flows arrive in
// another order, so they are held in a flowStore (compact records, spilled
// to disk past a bound) until Close.
type jsonWriter struct {
	w       io.Writer
	seed    uint16 // Options.CommunityIDSeed
	store   flowStore
	file    string // Options.File
	workers int    // Options.Workers
}

func (j *jsonWriter) Flow(f *reassembly.Flow) error {
	return j.store.add(f)
}

func (j *jsonWriter) Close(c *Capture, s *Stats) error {
	defer j.store.close()
	bw := bufio.NewWriterSize(j.w, 256<<10)
	bw.Write(appendSummaryJSON([]byte(`{"summary":`), c, s))
	bw.WriteString(`,"flows":[`)
	err := j.store.writeSorted(bw, j.workers, func() flowFormat {
		enc := flowEncoder{seed: j.seed}
		return func(dst []byte, f *reassembly.Flow, n uint64) []byte {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, "\n  "...)
			return appendFileField(enc.append(dst, f), j.file)
		}
	})
	if err != nil {
		return err
	}
	if j.store.n > 0 {
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
	u("duplicates", c.Duplicates, false)
	dst = appendKey(dst, "files", false)
	dst = append(dst, '[')
	for i, f := range c.Files {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, f)
	}
	dst = append(dst, ']')
	dst = appendKey(dst, "filters", false)
	dst = append(dst, '[')
	for i, f := range c.Filters {
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
	u("decided_early", c.Early.Decided, false)
	u("decided_early_absorbed", c.Early.Absorbed, false)
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
	for i, a := range s.TopAnomalies(s.AnomalyCodes()) {
		dst = appendKey(dst, a.Key.String(), i == 0)
		dst = strconv.AppendUint(dst, a.Count, 10)
	}
	dst = append(dst, '}')
	dst = appendKey(dst, "not_analysed", false)
	for r, n := range NotAnalysed(c) {
		if r == 0 {
			dst = append(dst, '{')
		}
		dst = appendKey(dst, Reason(r).String(), r == 0)
		dst = strconv.AppendUint(dst, n, 10)
	}
	dst = append(dst, '}')
	f := &c.Fragments
	dst = appendKey(dst, "fragments", false)
	dst = append(dst, '{')
	u("fragments", f.Fragments, true)
	u("reassembled", f.Reassembled, false)
	u("incomplete", f.Incomplete, false)
	u("incomplete_fragments", f.IncompleteFragments, false)
	u("evicted", f.Evicted, false)
	u("overlaps", f.Overlaps, false)
	u("tiny", f.Tiny, false)
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
