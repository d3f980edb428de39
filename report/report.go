// Package report formats connection attempts for people and programs: a
// terminal table, JSON, NDJSON and CSV with the field names CONTRACT.md
// fixes, and the per-connection timeline. It formats values and knows no
// TCP rules.
//
// Lifecycle: New returns a Writer; the caller passes every selected flow to
// Writer.Flow as the analysis finishes it, then calls Writer.Close once with
// what was read. NDJSON and CSV write each flow at once, so memory stays
// bounded on huge captures; JSON and the table write at Close.
package report

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/defrag"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Writer writes one report. It is not safe for concurrent use.
type Writer interface {
	// Flow records one connection attempt. f is only valid during the call.
	Flow(f *reassembly.Flow) error
	// Close writes what is left of the report. stats holds the statistics
	// of the flows passed to Flow.
	Close(c *Capture, stats *Stats) error
}

// Starter is implemented by the Writers whose output begins with a header
// stamped with the capture's start (zeek). The caller calls Start once
// with the first packet's time, before the first Flow.
type Starter interface {
	Start(ts int64)
}

// Capture describes what was read, for the summary.
type Capture struct {
	// Files are the inputs, as named on the command line.
	Files []string
	// Packets is the number of packet records read; TCPPackets of them
	// were TCP segments.
	Packets, TCPPackets uint64
	// Decoded counts records by what they decoded as.
	Decoded decode.Counters
	// Fragments counts IP fragment reassembly; Reassembled counts the
	// fragments of reassembled datagrams by the kind the datagram decoded
	// as (analyze.Summary).
	Fragments   defrag.Stats
	Reassembled decode.Counters
	// Warnings is the number of damage warnings.
	Warnings int
	// Duplicates counts the records dropped as exact duplicate frames
	// (analyze.Summary.Duplicates); they are among Packets.
	Duplicates uint64
	// FirstTS and LastTS bound the capture (ns since the Unix epoch).
	FirstTS, LastTS int64
	// Early is what the attempt table's memory bound did.
	Early reassembly.EarlyStats
	// Filters names the active filters ("port 80,443"), nil for none: the
	// counts of the summary cover only the flows they select.
	Filters []string
}

// Options configures the human-readable formats.
type Options struct {
	// All lists complete flows in the table too.
	All bool
	// Quiet prints the summary only.
	Quiet bool
	// Color enables ANSI colours in the table.
	Color bool
	// MaxRows cuts the table's flow list ("… N more"); 0 means 50. All
	// lifts the cut.
	MaxRows int
	// Files names the inputs; with more than one, the table names the
	// file of each frame it cites (frames are numbered per file).
	Files []string
	// CommunityIDSeed seeds the community_id of every flow (Community ID
	// v1; 0 is the default every tool uses unless configured otherwise).
	CommunityIDSeed uint16
	// FailOn is the --fail-on policy junit judges test cases by; without
	// rules, malformed fails.
	FailOn FailOn
	// Width is the terminal width the table and timeline must fit (0: no
	// limit, for pipes and files). At or below CompactWidth they use the
	// compact layout.
	Width int
	// Flush makes NDJSON and CSV hand each record to the io.Writer as its
	// flow is decided instead of in 64 KiB batches, for a live pipeline
	// (the caller flushes its own buffering).
	Flush bool
	// File, if set, is added as a "file" field to every flow of JSON,
	// NDJSON and CSV (--per-file: each file reported as its own capture);
	// NDJSON then ends with the summary line {"summary": {...}}.
	File string
	// NoHeader leaves out the CSV header row (a later --per-file file).
	NoHeader bool
	// GroupBy makes the table one row per group instead of per flow:
	// GroupServer, GroupClient or GroupPort ("" for the flow list).
	GroupBy string
	// Workers is how many goroutines JSON and the --all table format
	// their flows with once they are sorted, at Close: 0 is GOMAXPROCS, 1
	// formats on the caller's. The output is the same whatever the
	// number.
	Workers int
}

// New returns a Writer for format "table", "json", "ndjson", "csv", "zeek"
// (Zeek's conn.log TSV) or "zeek-json" (Zeek's JSON conn.log).
func New(format string, w io.Writer, opts Options) (Writer, error) {
	if opts.Quiet {
		switch format {
		case "json", "ndjson", "csv":
			return &summaryWriter{w: w, format: format}, nil
		}
	}
	switch format {
	case "json":
		return &jsonWriter{w: w, seed: opts.CommunityIDSeed, file: opts.File, workers: opts.Workers}, nil
	case "ndjson":
		return &ndjsonWriter{w: w, enc: flowEncoder{seed: opts.CommunityIDSeed}, batch: batchFor(opts), file: opts.File}, nil
	case "csv":
		c := newCSV(w, opts.CommunityIDSeed, opts.File, opts.NoHeader)
		c.batch = batchFor(opts)
		return c, nil
	case "table":
		if opts.GroupBy != "" && !opts.Quiet {
			return newGroupWriter(w, opts), nil
		}
		return newTable(w, opts), nil
	case "zeek":
		return newZeek(w, opts.CommunityIDSeed), nil
	case "zeek-json":
		return newZeekJSON(w, opts.CommunityIDSeed), nil
	case "parquet":
		return newParquet(w, opts), nil
	case "junit":
		return newJUnit(w, opts), nil
	}
	return nil, fmt.Errorf("report: unknown format %q", format)
}

// Stats accumulates the summary statistics of flows. The zero value is
// ready to use. Its size does not grow with the number of flows, servers
// or clients. Use it by pointer: a copy shares its per-server and
// per-client counts.
type Stats struct {
	// Flows counts flows; ByVerdict counts them per verdict.
	Flows     uint64
	ByVerdict [5]uint64
	// SYNRetransmits sums retransmitted SYNs over all flows.
	SYNRetransmits uint64
	// anomalies counts flows per anomaly code (a byte).
	anomalies [256]uint64
	// failedServers counts half-open, refused and malformed attempts per
	// server in bounded memory (a horizontal scan has as many servers as
	// SYNs), but for the pending ones of lastFailed, the server of the last
	// such attempt (a flood or a port scan has one server: it is one update
	// per run of its attempts, not per attempt).
	failedServers *heavy[netip.Addr]
	lastFailed    netip.Addr
	pending       uint64
	// failedClients counts them per client, in bounded memory (a
	// spoofed flood has as many clients as SYNs).
	failedClients *heavy[netip.Addr]
	// synToSynAck counts the SYN→SYN-ACK times (ns) of the flows with one.
	synToSynAck Histogram
}

// Add counts f.
func (s *Stats) Add(f *reassembly.Flow) {
	s.Flows++
	s.ByVerdict[verdictIndex(f.Verdict)]++
	s.SYNRetransmits += uint64(f.SYNRetransmits)
	if f.HasSYNToSYNACK {
		s.synToSynAck.Add(f.SYNToSYNACK)
	}
	for _, c := range f.Anomalies {
		s.anomalies[c]++
	}
	switch f.Verdict {
	case handshake.HalfOpen, handshake.Refused, handshake.Malformed:
		if a := f.Server.Addr(); a != s.lastFailed || s.pending == 0 {
			s.flushFailed()
			s.lastFailed = a
		}
		s.pending++
		if s.failedClients == nil {
			s.failedClients = newHeavy[netip.Addr](4096)
		}
		s.failedClients.add(f.Client.Addr())
	}
}

// Verdicts in report order: the order of CONTRACT.md's summary.
var reportVerdicts = [5]handshake.Verdict{handshake.Complete, handshake.HalfOpen, handshake.Refused, handshake.Malformed, handshake.Midstream}

func verdictIndex(v handshake.Verdict) int {
	for i, rv := range reportVerdicts {
		if rv == v {
			return i
		}
	}
	return 0
}

// Latency returns the SYN→SYN-ACK percentiles p (0-100) in ns, within
// 0.8% (the maximum is exact), and false when no flow had one.
func (s *Stats) Latency(p ...float64) ([]int64, bool) {
	if s.synToSynAck.n == 0 {
		return nil, false
	}
	out := make([]int64, len(p))
	for i, q := range p {
		out[i] = s.synToSynAck.Quantile(q)
	}
	return out, true
}

// Counted is a key with its count, for top-N lists.
type Counted[K any] struct {
	Key   K
	Count uint64
}

// top returns the n largest counts of m, ties broken by less.
func top[K comparable](m map[K]uint64, n int, less func(a, b K) int) []Counted[K] {
	out := make([]Counted[K], 0, len(m))
	for k, c := range m {
		out = append(out, Counted[K]{k, c})
	}
	slices.SortFunc(out, func(a, b Counted[K]) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return less(a.Key, b.Key)
	})
	return out[:min(n, len(out))]
}

// flushFailed adds the pending count of lastFailed to failedServers.
func (s *Stats) flushFailed() {
	if s.pending == 0 {
		return
	}
	if s.failedServers == nil {
		s.failedServers = newHeavy[netip.Addr](4096)
	}
	s.failedServers.addN(s.lastFailed, s.pending)
	s.pending = 0
}

// AnomalyCodes returns how many anomaly codes were seen.
func (s *Stats) AnomalyCodes() int {
	n := 0
	for _, c := range s.anomalies {
		if c > 0 {
			n++
		}
	}
	return n
}

// TopAnomalies returns the n most frequent anomaly codes, with how many
// flows had each.
func (s *Stats) TopAnomalies(n int) []Counted[handshake.Code] {
	m := make(map[handshake.Code]uint64)
	for c, count := range s.anomalies {
		if count > 0 {
			m[handshake.Code(c)] = count
		}
	}
	return top(m, n, func(a, b handshake.Code) int { return cmp.Compare(a.String(), b.String()) })
}

// TopFailedClients returns up to n clients with most failed attempts and
// whether the counts are exact. They are counted in bounded memory: when
// more than 4096 clients failed, a count may be short by at most the
// number of failed attempts over 4097, and clients whose count is not
// above that are left out.
func (s *Stats) TopFailedClients(n int) ([]Counted[netip.Addr], bool) {
	if s.failedClients == nil {
		return nil, true
	}
	return s.failedClients.top(n, func(a, b netip.Addr) int { return a.Compare(b) }), s.failedClients.exact()
}

// TopFailedServers returns up to n servers with most failed attempts and
// whether the counts are exact, counted in bounded memory as
// TopFailedClients counts clients.
func (s *Stats) TopFailedServers(n int) ([]Counted[netip.Addr], bool) {
	s.flushFailed()
	if s.failedServers == nil {
		return nil, true
	}
	return s.failedServers.top(n, func(a, b netip.Addr) int { return a.Compare(b) }), s.failedServers.exact()
}

// batchFor is how many bytes NDJSON and CSV gather before writing: 64 KiB,
// or nothing with Options.Flush.
func batchFor(opts Options) int {
	if opts.Flush {
		return 0
	}
	return 64 << 10
}

// ndjsonWriter prints one flow object per line as flows finish.
type ndjsonWriter struct {
	w     io.Writer
	buf   []byte
	enc   flowEncoder
	batch int    // bytes gathered before a write (batchFor)
	file  string // Options.File
}

func (n *ndjsonWriter) Flow(f *reassembly.Flow) error {
	n.buf = append(appendFileField(n.enc.append(n.buf, f), n.file), '\n')
	if len(n.buf) < n.batch {
		return nil
	}
	return n.flush()
}

func (n *ndjsonWriter) flush() error {
	_, err := n.w.Write(n.buf)
	n.buf = n.buf[:0]
	return err
}

// Close writes what is buffered; with Options.File (one capture of
// several, --per-file) it ends with that capture's summary line.
func (n *ndjsonWriter) Close(c *Capture, s *Stats) error {
	if n.file != "" {
		n.buf = append(appendSummaryJSON(append(n.buf, `{"summary":`...), c, s), "}\n"...)
	}
	return n.flush()
}

// appendFileField adds "file" as the last key of the JSON object ending
// dst, when file is set (Options.File).
func appendFileField(dst []byte, file string) []byte {
	if file == "" {
		return dst
	}
	dst = dst[:len(dst)-1] // the object's '}'
	dst = appendKey(dst, "file", false)
	dst = appendString(dst, file)
	return append(dst, '}')
}
