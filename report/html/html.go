// Package html writes the report as one self-contained HTML file for
// forensic review: the summary, verdicts over time, latency histograms, the
// servers and clients with most failed attempts, the anomalies with their
// RFC clauses, and a flow table whose problem flows open as ladder
// (sequence) diagrams of their handshake.
//
// The file needs no network: CSS, JavaScript and the SVG charts are inline,
// and a Content-Security-Policy meta tag forbids every remote load and every
// script or style but the page's own (by hash). The summary, charts and
// anomaly evidence are plain HTML and SVG generated in Go through
// html/template, so they read without JavaScript and print to PDF; the
// script only sorts and filters the flow table and draws ladders. Everything
// taken from a capture or the command line reaches the page through
// html/template's contextual escaping, or JSON-encoded with <, > and &
// escaped inside a non-executable application/json script element; the
// flows and ladders there are gzipped and base64-encoded (they compress
// severalfold), which the script unpacks with DecompressionStream.
//
// Memory and size are bounded whatever the capture: the page embeds every
// problem flow (any verdict but complete) up to Options.MaxProblemFlows and
// an evenly spread sample of at most Options.MaxSample complete flows, and
// says so with counts. Segments are retained only for attempts still open
// (at most 16 each, dropped as soon as a handshake completes correctly) and
// for the ladders of embedded problem flows, up to
// Options.MaxLadderSegments in all.
//
// Lifecycle: New returns a Writer; pass Trace as the tracker's
// Options.Trace, every selected flow to Flow, then call Close once.
package html

import (
	"io"
	"net/netip"

	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// Options configures a Writer. The zero value uses the defaults.
type Options struct {
	// Files describes the inputs, in command-line order.
	Files []File
	// Version is the hsanalyze version, for the page footer.
	Version string
	// MaxProblemFlows caps the problem flows embedded (default 100000).
	MaxProblemFlows int
	// MaxSample caps the sample of complete flows embedded (default 2000).
	MaxSample int
	// MaxLadderSegments caps the segments kept for ladders, over all
	// flows (default 200000).
	MaxLadderSegments int
	// CommunityIDSeed seeds the Community ID a ladder shows.
	CommunityIDSeed uint16
}

// File is one input as the summary shows it. Every string may come from a
// hostile capture or command line: the page escapes them.
type File struct {
	// Name is the path as given on the command line.
	Name string
	// Comments are the file's own comments (pcapng shb_comment and
	// interface opt_comment), Interfaces its pcapng interface names and
	// descriptions; both empty for pcap.
	Comments, Interfaces []string
}

// Defaults of Options.
const (
	DefaultMaxProblemFlows   = 100000
	DefaultMaxSample         = 2000
	DefaultMaxLadderSegments = 200000
)

// maxSegsPerFlow caps the segments kept per attempt: a handshake needs the
// first few; the ladder says how many more there were.
const maxSegsPerFlow = 16

// Writer collects one HTML report. It is not safe for concurrent use.
type Writer struct {
	w    io.Writer
	opts Options

	live map[uint64]*trace // open attempts by reassembly attempt number
	pool []*trace          // recycled traces

	bins     timeBins
	syn, ack report.Histogram
	servers  hostTable
	clients  hostTable
	examples map[handshake.Code][]example
	firsts   [numVerdicts]firstFlow // earliest flow of each verdict

	rows       rowStore // embedded flows, encoded
	problems   uint64   // problem flows seen
	completes  uint64   // complete flows seen
	ladderSegs int      // segments kept for ladders
	ladderCut  uint64   // problem flows embedded without a ladder
	earliest   earliestRows
}

// New returns a Writer that writes the page to w at Close.
func New(w io.Writer, opts Options) *Writer {
	if opts.MaxProblemFlows <= 0 {
		opts.MaxProblemFlows = DefaultMaxProblemFlows
	}
	if opts.MaxSample <= 0 {
		opts.MaxSample = DefaultMaxSample
	}
	if opts.MaxLadderSegments <= 0 {
		opts.MaxLadderSegments = DefaultMaxLadderSegments
	}
	return &Writer{
		w:        w,
		opts:     opts,
		live:     make(map[uint64]*trace),
		servers:  newHostTable(true),
		clients:  newHostTable(false),
		examples: make(map[handshake.Code][]example),
		rows:     newRowStore(opts.MaxSample),
	}
}

// trace is the retained segments of one attempt.
type trace struct {
	segs []segment
	more int  // segments beyond maxSegsPerFlow
	done bool // completed correctly: nothing more is kept
	bad  bool // a fatal anomaly was raised
}

// segment is one traced segment, as a ladder shows it.
type segment struct {
	ts         int64
	frame      uint64
	seq, ack   uint32
	payload    int32
	window     uint16
	flags      uint16
	fromClient bool
	icmp       bool
	client     handshake.State
	server     handshake.State
	anomalies  []handshake.Anomaly
}

// Trace records one segment of an attempt; use it as the tracker's
// Options.Trace.
func (w *Writer) Trace(tr *reassembly.Trace) {
	t := w.live[tr.Attempt]
	if t == nil {
		if n := len(w.pool); n > 0 {
			t, w.pool = w.pool[n-1], w.pool[:n-1]
		} else {
			t = new(trace)
		}
		w.live[tr.Attempt] = t
	}
	if t.done {
		return
	}
	ev := &tr.Event
	if ev.Flipped {
		// The machine swapped the roles: earlier segments were traced in
		// the old ones.
		for i := range t.segs {
			t.segs[i].fromClient = !t.segs[i].fromClient
		}
	}
	for _, a := range ev.Anomalies {
		t.bad = t.bad || a.Code.Fatal()
	}
	if ev.Completed && !t.bad {
		// A correct handshake is final: this attempt will be complete and
		// gets no ladder.
		t.done = true
		t.segs = t.segs[:0]
		return
	}
	if len(t.segs) == maxSegsPerFlow {
		t.more++
		return
	}
	s := tr.Segment
	seg := segment{
		ts: s.Timestamp, frame: s.Frame, seq: uint32(s.Seq), ack: uint32(s.Ack),
		payload: int32(min(s.PayloadLen, 1<<31-1)), window: s.Window, flags: uint16(s.Flags),
		fromClient: ev.FromClient, icmp: tr.ICMP != nil, client: ev.Client, server: ev.Server,
	}
	if len(ev.Anomalies) > 0 {
		seg.anomalies = append([]handshake.Anomaly(nil), ev.Anomalies...)
	}
	t.segs = append(t.segs, seg)
}

// release returns the trace of attempt n, removing it from the live set;
// nil when none was traced.
func (w *Writer) release(n uint64) *trace {
	t := w.live[n]
	if t != nil {
		delete(w.live, n)
	}
	return t
}

func (w *Writer) recycle(t *trace) {
	if t == nil || len(w.pool) >= 1024 {
		return
	}
	clear(t.segs)
	*t = trace{segs: t.segs[:0]}
	w.pool = append(w.pool, t)
}

// Flow records one finished attempt.
func (w *Writer) Flow(f *reassembly.Flow) error {
	t := w.release(f.Attempt)
	defer w.recycle(t)
	v := verdictIndex(f.Verdict)
	w.bins.add(f.FirstTS, v)
	if f.HasSYNToSYNACK {
		w.syn.Add(f.SYNToSYNACK)
	}
	if f.HasSYNACKToACK {
		w.ack.Add(f.SYNACKToACK)
	}
	w.servers.add(f.Server.Addr(), v, f)
	w.clients.add(f.Client.Addr(), v, f)
	w.firsts[v].offer(f)
	w.addExamples(f)

	if f.Verdict == handshake.Complete {
		w.completes++
		w.rows.addSample(f)
		return nil
	}
	w.problems++
	if w.rows.problems >= w.opts.MaxProblemFlows {
		return nil
	}
	var segs []segment
	more := 0
	if t != nil {
		segs, more = t.segs, t.more
		if w.ladderSegs+len(segs) > w.opts.MaxLadderSegments {
			segs, more = nil, 0
			w.ladderCut++
		}
		w.ladderSegs += len(segs)
	}
	w.rows.addProblem(f, segs, more, w.opts.CommunityIDSeed)
	w.earliest.offer(f)
	return nil
}

// maxExamples is how many flows each anomaly section cites.
const maxExamples = 8

// example is one flow an anomaly section cites, with its first evidence.
type example struct {
	ts             int64
	client, server netip.AddrPort
	verdict        handshake.Verdict
	ev             handshake.Anomaly
}

func (w *Writer) addExamples(f *reassembly.Flow) {
	for _, c := range f.Anomalies {
		ex := w.examples[c]
		if len(ex) == maxExamples && ex[len(ex)-1].ts <= f.FirstTS {
			continue
		}
		e := example{ts: f.FirstTS, client: f.Client, server: f.Server, verdict: f.Verdict}
		for i := range f.Evidence {
			if f.Evidence[i].Code == c {
				e.ev = f.Evidence[i]
				break
			}
		}
		// Keep the earliest maxExamples, in time order.
		i := len(ex)
		for i > 0 && ex[i-1].ts > e.ts {
			i--
		}
		if len(ex) < maxExamples {
			ex = append(ex, example{})
		}
		copy(ex[i+1:], ex[i:len(ex)-1])
		ex[i] = e
		w.examples[c] = ex
	}
}

// firstFlow remembers the earliest flow of one verdict.
type firstFlow struct {
	seen           bool
	ts             int64
	client, server netip.AddrPort
}

func (ff *firstFlow) offer(f *reassembly.Flow) {
	if !ff.seen || f.FirstTS < ff.ts {
		*ff = firstFlow{seen: true, ts: f.FirstTS, client: f.Client, server: f.Server}
	}
}

// SetFiles replaces Options.Files, for metadata known only once the
// captures have been read.
func (w *Writer) SetFiles(files []File) { w.opts.Files = files }

// Close writes the page. stats holds the statistics of the flows passed to
// Flow.
func (w *Writer) Close(c *report.Capture, stats *report.Stats) error {
	p, err := w.page(c, stats)
	if err != nil {
		return err
	}
	return render(w.w, p)
}
