// Package analyze wires the pipeline: capture records are merged across
// files, decoded into segments and tracked into connection attempts, whose
// finished flows are handed to a callback. It holds no TCP rules and
// formats nothing.
package analyze

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/defrag"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Options configures a run. The zero value uses the reassembly defaults and
// does not verify checksums.
type Options struct {
	// Tracker configures connection tracking.
	Tracker reassembly.Options
	// VerifyChecksums makes the decoder check TCP checksums.
	VerifyChecksums bool
	// Start, if set, is called once with the timestamp of the first packet
	// read (ns since the Unix epoch), before any flow is emitted.
	Start func(ts int64)
	// Warn, if set, is called for each part-way damage warning as it
	// happens (the warning is counted in Summary either way).
	Warn func(*capture.FileError)
	// Workers is how many goroutines a run uses: 1 reads, decodes, tracks
	// and emits on Run's goroutine; 2 tracks on a goroutine of its own
	// while Run's reads, decodes and emits, in turns (a live input, with
	// BatchSize 1, is read on a third: its reads block); 3 or more read
	// and decode, track, and emit on three goroutines (more are not used
	// yet). 0 (the default) is GOMAXPROCS. With GOMAXPROCS 1, or with
	// Tracker.Trace or EmitWhileTracking set, tracking and emit share
	// Run's goroutine. The output is the same whatever the number.
	Workers int
	// Packets, if set, is kept at the number of packet records read so
	// far, updated once per batch: for a progress display in another
	// goroutine.
	Packets *atomic.Uint64
	// Defrag configures IP fragment reassembly.
	Defrag defrag.Options
	// DedupWindow drops exact duplicate frames (same bytes, less than this
	// far apart in capture time; capture.Dedup) before decoding, counting
	// them in Summary.Duplicates: capture.DefaultDedupWindow if 0;
	// negative: keep every frame.
	DedupWindow time.Duration
	// Packet, if set, is called with every TCP segment and ICMP error, in
	// capture order, just before the tracker gets it: what a partial
	// result keeps of the start of its input. p is only valid during the
	// call. Like End, it is called on the tracking goroutine, which is
	// Run's when Tracker.Trace or EmitWhileTracking is set.
	Packet func(p *decode.Packet)
	// End, if set, is called once the input has ended, before the
	// attempts still open are flushed, with the tracker's state: what a
	// partial result carries to the next part. Flows emitted after it
	// are that state's attempts.
	End func(s *reassembly.State)
	// Stop, if set, ends reading when it becomes true (checked before
	// every record): the attempts still open are then judged unfinished
	// (reassembly.Tracker.Interrupt), as after an interruption.
	Stop *atomic.Bool
	// EmitWhileTracking calls emit on the tracking goroutine, as each
	// flow is decided, not later on Run's: for a caller that must see a
	// flow before the next packet's Packet hook (a partial result's
	// recorder). With Workers 2 or more, reading and decoding then run on
	// a goroutine of their own, tracking and emit on Run's, as with
	// Tracker.Trace.
	EmitWhileTracking bool
	// BatchSize is how many packets a batch carries to the tracker (0:
	// 1024). A live input wants 1, so that each packet is tracked as soon
	// as it is read, not when a batch fills.
	BatchSize int
}

// Summary counts what a run read.
type Summary struct {
	// Packets is the number of packet records read (pcapng: EPB, SPB, PB).
	Packets uint64
	// TCPPackets is the number of TCP segments analysed.
	TCPPackets uint64
	// Decoded counts records by what they decoded as.
	Decoded decode.Counters
	// Warnings lists part-way damage, one per damaged file.
	Warnings []*capture.FileError
	// FirstTS and LastTS are the earliest and latest capture timestamps
	// seen (ns since the Unix epoch); both 0 when no packet was read.
	FirstTS, LastTS int64
	// Flows is the number of connection attempts emitted.
	Flows uint64
	// Early is what the tracker's memory bound (reassembly
	// Options.MaxMemory) did.
	Early reassembly.EarlyStats
	// Fragments counts IP fragment reassembly (Decoded.ByKind[KindFragment]
	// counts the fragment frames).
	Fragments defrag.Stats
	// Reassembled counts the fragments of reassembled datagrams by the
	// kind the datagram decoded as (ByKind; IP is unused).
	Reassembled decode.Counters
	// Duplicates counts the records dropped as exact duplicates of a frame
	// just before (Options.DedupWindow); they are among Packets, not
	// decoded, and no flow sees them.
	Duplicates uint64
}

// UnsupportedLinkError reports a file none of whose records has a link
// type hsanalyze decodes: nothing of it could be analysed.
type UnsupportedLinkError struct {
	// Path names the file as given to capture.Open.
	Path string
	// LinkType is the LINKTYPE_ value of its last record.
	LinkType uint32
}

// Error names the file and the link type.
func (e *UnsupportedLinkError) Error() string {
	return fmt.Sprintf("%s: no packet of a supported link type (LINKTYPE %d)", e.Path, e.LinkType)
}

// Run reads files to the end as one capture in timestamp order and calls
// emit for every connection attempt, as soon as it is final, in a
// deterministic order. The *reassembly.Flow passed to emit is only valid
// during the call. Run closes nothing; the caller owns the files.
//
// Reading, decoding and tracking may run on goroutines of their own (see
// Options.Workers); emit and the Start and Warn hooks are always called
// from Run's goroutine, in capture order.
//
// Damage part-way through a file is a warning (Summary.Warnings); the
// returned error is non-nil only for files of which nothing could be
// analysed (*UnsupportedLinkError, joined when there are several), or when
// reading fails for another reason.
func Run(files []*capture.File, opts Options, emit func(*reassembly.Flow)) (Summary, error) {
	rd := &reader{
		merger:  capture.NewMerger(files),
		packets: opts.Packets,
		dec:     decode.NewDecoder(decode.DecoderOptions{VerifyChecksums: opts.VerifyChecksums}),
		frag:    defrag.New(opts.Defrag),
		perFile: make([]fileStats, len(files)),
		dedup:   capture.NewDedup(cmp.Or(opts.DedupWindow, capture.DefaultDedupWindow)),
		stop:    opts.Stop,
		size:    cmp.Or(opts.BatchSize, batchSize),
	}
	// Flows, the start and warnings reach the caller as events, in
	// capture order: delivered at once, or queued by the tracking stage of
	// the pipeline for Run's goroutine.
	var build func(*reassembly.Deferred) // a deferred flow's, on Run's goroutine
	deliver := func(e *event, h *handed) {
		switch {
		case e.queued:
			emit(&h.flows[e.i])
		case e.deferred:
			build(&h.defs[e.i])
		case e.warn != nil:
			if opts.Warn != nil {
				opts.Warn(e.warn)
			}
		case opts.Start != nil:
			opts.Start(e.ts)
		}
	}
	post := func(e event) { deliver(&e, nil) }
	postFlow := emit
	var postDeferred func(*reassembly.Deferred)
	var flows uint64
	workers := opts.goroutines()
	tracking := opts.Tracker
	emitWhileTracking := tracking.Trace != nil || opts.EmitWhileTracking
	if workers > 1 && !emitWhileTracking {
		// Flows of attempts decided while compact (every unanswered SYN of
		// a flood) are built on Run's goroutine, not the tracker's.
		b := reassembly.NewBuilder(tracking)
		build = func(d *reassembly.Deferred) { emit(b.Flow(d)) }
		tracking.Defer = func(d *reassembly.Deferred) {
			flows++
			postDeferred(d)
		}
	}
	tr := reassembly.New(tracking, func(f *reassembly.Flow) {
		flows++
		postFlow(f)
	})
	// flush emits what is still open at the end of the input: unfinished
	// when reading was stopped (Options.Stop). A partial result takes the
	// state first (Options.End).
	flush := func() {
		if opts.End != nil {
			opts.End(tr.Snapshot())
		}
		if rd.stopped {
			tr.Interrupt()
		}
		tr.Flush()
	}
	// handoff passes what post queued on to Run's goroutine, after each
	// batch (a live input has batches of one packet).
	handoff := func() {}
	started := false
	consume := func(b *batch) {
		if b.started && !started {
			started = true
			post(event{ts: b.startTS})
		}
		for i := range b.pkts {
			if opts.Packet != nil {
				opts.Packet(&b.pkts[i])
			}
			tr.Add(&b.pkts[i])
		}
		if b.warning != nil {
			post(event{warn: b.warning})
		}
		handoff()
	}

	// sequential reads, decodes and tracks on the calling goroutine.
	sequential := func() {
		var b batch
		for more := true; more; {
			more = rd.fill(&b)
			consume(&b)
		}
		flush()
	}
	// pipelined tracks the batches of rd.start on the calling goroutine.
	pipelined := func() {
		for b := range rd.start() {
			consume(b)
			rd.free <- b
		}
		flush()
	}
	switch {
	case workers == 1:
		sequential()
	case emitWhileTracking:
		// The trace and emit share the caller's state (a timeline), or
		// emit must follow tracking packet by packet: tracking stays
		// on Run's goroutine.
		pipelined()
	default:
		// Emit (formatting the report) on Run's goroutine, fed with the
		// flows tracking posts, in batches. Tracking runs on a goroutine
		// of its own, reading and decoding on Run's between deliveries
		// (two goroutines: shareWithEmit) or on a third.
		evs, evFree := make(chan *handed, 4), make(chan *handed, 5)
		for range cap(evFree) {
			evFree <- new(handed)
		}
		cur := <-evFree
		// At most maxQueued flows wait for emit: a Flush of a full
		// table must not hold all of its flows at once. The tracker
		// reuses its Flow: a queued flow is a copy (whose slices the
		// tracker never reuses).
		post = func(e event) {
			if cur.list = append(cur.list, e); len(cur.list) >= maxQueued {
				handoff()
			}
		}
		postFlow = func(f *reassembly.Flow) {
			cur.list = append(cur.list, event{queued: true, i: int32(len(cur.flows))})
			cur.flows = append(cur.flows, *f)
			if len(cur.list) >= maxQueued {
				handoff()
			}
		}
		own := reassembly.NewBuilder(tracking)
		postDeferred = func(d *reassembly.Deferred) {
			if len(evFree) == 0 {
				// Emit is behind (at the final Flush of a flood, say):
				// building the flow here costs less than waiting.
				postFlow(own.Flow(d))
				return
			}
			cur.list = append(cur.list, event{deferred: true, i: int32(len(cur.defs))})
			cur.defs = append(cur.defs, *d)
			if len(cur.list) >= maxQueued {
				handoff()
			}
		}
		handoff = func() {
			if len(cur.list) > 0 {
				evs <- cur
				cur = <-evFree
			}
		}
		// drain delivers one handoff's events and recycles it.
		drain := func(h *handed) {
			for i := range h.list {
				deliver(&h.list[i], h)
			}
			clear(h.flows) // let the copies' slices go
			h.list, h.flows, h.defs = h.list[:0], h.flows[:0], h.defs[:0]
			evFree <- h
		}
		if workers == 2 && rd.size > 1 {
			shareWithEmit(rd, consume, flush, evs, &cur, drain)
		} else {
			// Reading on a goroutine of its own, also with two workers
			// when the input is live: its reads block between packets,
			// and what was decided must reach emit meanwhile.
			go func() {
				pipelined()
				evs <- cur
				close(evs)
			}()
			for ev := range evs {
				drain(ev)
			}
		}
	}

	sum := rd.sum
	sum.Flows = flows
	sum.Early = tr.Early()
	sum.Decoded = rd.dec.Counters()
	sum.Fragments = rd.frag.Stats()
	errs := []error{rd.err}
	for i, fs := range rd.perFile {
		if fs.records > 0 && fs.unsupported == fs.records {
			errs = append(errs, &UnsupportedLinkError{Path: files[i].Path(), LinkType: fs.linkType})
		}
	}
	return sum, errors.Join(errs...)
}

// shareWithEmit is the two-goroutine layout: tracking (consume, then
// flush) on a goroutine of its own; reading and decoding on the calling
// goroutine, between deliveries of the events tracking hands off on evs
// (drain). Both sides do about the same work on a flood or a scan: the
// tracker's table on one, the reader and the formatting of each flow on
// the other. cur is the tracker's pending events, handed off at the end.
func shareWithEmit(rd *reader, consume func(*batch), flush func(), evs chan *handed, cur **handed, drain func(*handed)) {
	// Three batches: one being filled, one being tracked, one waiting
	// between them; full never blocks, as it has room for all three.
	full, free := make(chan *batch, 3), make(chan *batch, 3)
	for range cap(free) {
		free <- new(batch)
	}
	go func() {
		for b := range full {
			consume(b)
			free <- b
		}
		flush()
		evs <- *cur
		close(evs)
	}()
	for reading := true; reading; {
		select {
		case ev := <-evs:
			drain(ev)
		case b := <-free:
			reading = rd.fill(b)
			full <- b
		}
	}
	close(full)
	for ev := range evs {
		drain(ev)
	}
}

// maxQueued bounds the events one handoff carries from tracking to emit.
const maxQueued = 1024

// goroutines returns how many goroutines Run uses (Options.Workers).
func (o *Options) goroutines() int {
	procs := runtime.GOMAXPROCS(0)
	if procs == 1 {
		return 1
	}
	return cmp.Or(o.Workers, procs)
}

// event is one thing for the caller's goroutine: a flow (a copy of the
// tracker's, which it reuses: queued), an attempt decided while compact
// whose flow is still to build (deferred), a damage warning, or (none of
// them) the capture's start at ts.
type event struct {
	warn     *capture.FileError
	ts       int64
	queued   bool
	deferred bool
	i        int32 // in handed.flows (queued) or handed.defs (deferred)
}

// handed is what one handoff carries from tracking to emit: its events in
// order, and beside them the flows and deferred attempts they refer to.
// Kept apart, an event is 24 bytes and a deferred attempt 112, where one
// struct holding either was 648 bytes written for each (ten cache lines,
// last written by the other goroutine).
type handed struct {
	list  []event
	flows []reassembly.Flow
	defs  []reassembly.Deferred
}

// start runs reading and decoding on a goroutine of its own and returns
// the filled batches, in order; each must go back to r.free once used.
// Two batches in flight and one being filled: enough to keep both sides
// busy, little enough to stay cache-friendly.
func (r *reader) start() <-chan *batch {
	full := make(chan *batch, 2)
	r.free = make(chan *batch, 3)
	for range cap(r.free) {
		r.free <- new(batch)
	}
	go func() {
		for more := true; more; {
			b := <-r.free
			more = r.fill(b)
			full <- b
		}
		close(full)
	}()
	return full
}

// batchSize is how many packets a batch carries between the reading and
// the tracking goroutine: large enough to make channel operations rare.
const batchSize = 1024

// batch carries decoded TCP segments and ICMP errors, with their capture
// metadata set, from the reader to the tracker.
type batch struct {
	pkts []decode.Packet
	// started is set on the batch holding the capture's first packet
	// (which need not be TCP); startTS is its timestamp.
	started bool
	startTS int64
	// warning, if set, came after the last packet of pkts: fill ends a
	// batch at a warning.
	warning *capture.FileError
}

// reader reads and decodes; it is used by one goroutine at a time.
type reader struct {
	merger  *capture.Merger
	dec     *decode.Decoder
	frag    *defrag.Defragmenter
	rec     capture.Record
	sum     Summary
	perFile []fileStats
	err     error
	packets *atomic.Uint64 // Options.Packets
	free    chan *batch    // batches back from the consumer (start)
	dedup   *capture.Dedup
	stop    *atomic.Bool // Options.Stop
	stopped bool         // reading ended at stop
	size    int          // packets per batch
}

// fill refills b; it returns false once the input has ended.
func (r *reader) fill(b *batch) bool {
	if r.packets != nil {
		defer func() { r.packets.Store(r.sum.Packets) }()
	}
	if b.pkts == nil {
		b.pkts = make([]decode.Packet, 0, r.size)
	}
	b.pkts, b.started, b.warning = b.pkts[:0], false, nil
	for len(b.pkts) < r.size {
		if r.stop != nil && r.stop.Load() {
			r.stopped = true
			r.frag.Flush()
			return false
		}
		err := r.merger.Next(&r.rec)
		if err != nil && r.stop != nil && r.stop.Load() {
			// The input ended because reading was stopped (its reader
			// returns EOF then): what is open is unfinished.
			r.stopped = true
			r.frag.Flush()
			return false
		}
		if err == io.EOF {
			r.frag.Flush()
			return false
		}
		if err != nil {
			var fe *capture.FileError
			if !errors.As(err, &fe) {
				r.err = fmt.Errorf("read: %w", err)
				r.frag.Flush() // count what never completed
				return false
			}
			r.sum.Warnings = append(r.sum.Warnings, fe)
			b.warning = fe
			return true
		}
		r.add(b)
	}
	return true
}

// add decodes the current record into b.
func (r *reader) add(b *batch) {
	rec, sum := &r.rec, &r.sum
	sum.Packets++
	if sum.Packets == 1 {
		b.started, b.startTS = true, rec.Timestamp
		sum.FirstTS = rec.Timestamp
	}
	sum.FirstTS = min(sum.FirstTS, rec.Timestamp)
	sum.LastTS = max(sum.LastTS, rec.Timestamp)
	if r.dedup.Duplicate(rec) {
		sum.Duplicates++
		return
	}
	// Decode overwrites all of the slot: reuse it rather than zero a
	// Packet (its tunnel context makes it ~700 bytes) twice.
	if len(b.pkts) < cap(b.pkts) {
		b.pkts = b.pkts[:len(b.pkts)+1]
	} else {
		b.pkts = append(b.pkts, decode.Packet{})
	}
	pkt := &b.pkts[len(b.pkts)-1]
	r.dec.Decode(rec.LinkType, rec.Data, rec.OrigLen, pkt)
	fs := &r.perFile[rec.File]
	fs.records++
	if pkt.Kind == decode.KindFragment {
		r.reassemble(pkt)
	} else if r.frag.Pending() > 0 {
		r.frag.Advance(rec.Timestamp)
	}
	switch pkt.Kind {
	case decode.KindTCP:
		sum.TCPPackets++
	case decode.KindICMPError:
	case decode.KindUnsupportedLink:
		fs.unsupported++
		fs.linkType = rec.LinkType
		fallthrough
	default:
		b.pkts = b.pkts[:len(b.pkts)-1]
		return
	}
	s := &pkt.Segment
	s.Timestamp, s.Frame, s.File, s.Interface = rec.Timestamp, rec.Frame, rec.File, rec.Interface
}

// fileStats tells files with only undecodable link types apart.
type fileStats struct {
	records, unsupported uint64
	linkType             uint32
}
