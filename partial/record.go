package partial

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Limits of the head a Recorder keeps.
const (
	// MaxHeadPerKey bounds the packets kept of one head 4-tuple's first
	// attempt when it did not start with a SYN (a connection that was
	// open before the part began): beyond it the 4-tuple is truncated.
	MaxHeadPerKey = 1024
	// MaxHeadPackets bounds the head of a part.
	MaxHeadPackets = 1 << 21
)

// Recorder turns one analysis into a partial result: hook it into
// analyze.Options with Hook, run the analysis, then call Finish.
type Recorder struct {
	enc     *encoder
	opts    Options
	headFor int64 // the head window's length

	started bool
	headEnd int64 // segments up to here may start a head 4-tuple
	maxTS   int64
	ended   bool // End was called: later flows are the tail's

	keys headKeys
	live int // head 4-tuples neither ended nor truncated
	// The head's packets: blocks encoded as they fill (a decoded packet is
	// large), the last one still being filled.
	blocks    [][]byte
	packets   []headPacket
	owners    []pendingOwner  // of packets
	headN     int             // packets kept in all
	cur       int             // index in packets of the packet being tracked, or -1
	curSeg    *decode.Segment // the segment of the packet being tracked
	truncated []*headKey      // in the order they were cut short
	tail      tail
	flows     uint64
	err       error
}

// headKey follows one head 4-tuple.
type headKey struct {
	first     uint64 // its first attempt's number, 0 until traced
	n         int    // packets kept
	ended     bool   // its first attempt was emitted
	truncated bool
	marked    bool     // its first head packet carries the truncation (Cut)
	key       tupleKey // set when truncated
	// synFirst: it began with a SYN from synSrc with ISN isn; only that
	// SYN's retransmissions are kept after it (see docs/partial.md).
	synFirst bool
	synSrc   netip.AddrPort
	isn      decode.Seq
}

// NewRecorder starts a partial on w for the captures files analysed with
// opts. tool names the writing program (its version).
func NewRecorder(w io.Writer, opts Options, files []string, tool string) (*Recorder, error) {
	return newRecorder(w, opts, files, tool, zstd.SpeedBestCompression)
}

func newRecorder(w io.Writer, opts Options, files []string, tool string, level zstd.EncoderLevel) (*Recorder, error) {
	c, err := newCodecs()
	if err != nil {
		return nil, err
	}
	enc, err := newEncoder(w, c, &Header{Tool: tool, Options: opts, Files: files}, level)
	if err != nil {
		return nil, err
	}
	return &Recorder{
		enc:     enc,
		opts:    opts,
		headFor: int64(max(opts.IdleTimeout, opts.CloseLinger)),
		keys:    newHeadKeys(),
		cur:     -1,
	}, nil
}

// Hook sets the hooks of ao the Recorder needs (Packet, End and the
// tracker's Trace), and returns the function to pass to analyze.Run as
// emit.
func (r *Recorder) Hook(ao *analyze.Options) func(*reassembly.Flow) {
	ao.Packet = r.packet
	ao.End = r.end
	ao.Tracker.Trace = r.trace
	return r.flow
}

// packet keeps p if it belongs to a head 4-tuple's first attempt.
func (r *Recorder) packet(p *decode.Packet) {
	r.cur, r.curSeg = -1, &p.Segment
	seg := &p.Segment
	ts := seg.Timestamp
	if !r.started {
		r.started = true
		r.headEnd = ts + r.headFor
		r.maxTS = ts
	}
	r.maxTS = max(r.maxTS, ts)
	closed := r.maxTS > r.headEnd // no earlier attempt can still be open
	if closed && r.live == 0 {
		return // the head is complete: the common case, kept cheap
	}
	tuple := reassembly.KeyOf(seg.Src, seg.Dst)
	hk := r.keys.get(tuple, &p.Tunnel)
	if hk == nil {
		if closed {
			return
		}
		hk = &headKey{}
		if p.Kind == decode.KindTCP && seg.Flags&(decode.SYN|decode.ACK) == decode.SYN {
			hk.synFirst, hk.synSrc, hk.isn = true, seg.Src, seg.Seq
		}
		r.keys.put(tuple, &p.Tunnel, hk)
		r.live++
	} else if hk.ended || hk.truncated {
		return
	}
	switch {
	case r.headN >= MaxHeadPackets,
		hk.synFirst && hk.n > 0 && !(p.Kind == decode.KindTCP && seg.Flags&(decode.SYN|decode.ACK) == decode.SYN && seg.Src == hk.synSrc && seg.Seq == hk.isn),
		!hk.synFirst && hk.n >= MaxHeadPerKey:
		hk.truncated = true
		r.live--
		hk.key = newTupleKey(tuple, &p.Tunnel)
		r.truncated = append(r.truncated, hk)
		return
	}
	if len(r.packets) == blockSize {
		r.flushHead() // the packets before p are final: only p may be marked
	}
	r.owners = append(r.owners, pendingOwner{hk, hk.n == 0})
	hk.n++
	r.headN++
	r.cur = len(r.packets)
	r.packets = append(r.packets, headPacket{Packet: *p})
}

// pendingOwner is the head 4-tuple of a kept packet not yet encoded, and
// whether the packet is its first.
type pendingOwner struct {
	hk    *headKey
	first bool
}

// flushHead encodes the head packets kept so far into a block, stubbing
// those of 4-tuples already cut short.
func (r *Recorder) flushHead() {
	if len(r.packets) == 0 {
		return
	}
	for i, o := range r.owners {
		if o.hk.truncated {
			stubHead(&r.packets[i].Packet, o.first)
			if o.first {
				r.packets[i].Cut, o.hk.marked = true, true
			}
		}
	}
	r.blocks = append(r.blocks, r.enc.c.head.AppendBlock(nil, r.packets))
	r.packets, r.owners = r.packets[:0], r.owners[:0]
}

// stubHead clears what merge never reads of a head packet of a 4-tuple
// cut short (see merger.head): such a 4-tuple's first packet only tells
// whether it continues an earlier attempt (from its addresses, flags and
// sequence number), or ends it by starting a new one (then the attempt it
// starts is dropped), and every later packet only moves the clock.
func stubHead(p *decode.Packet, first bool) {
	if p.Kind != decode.KindTCP {
		return
	}
	s := &p.Segment
	if !first {
		*s = decode.Segment{Timestamp: s.Timestamp, File: s.File, Src: s.Src, Dst: s.Dst}
		return
	}
	*s = decode.Segment{Timestamp: s.Timestamp, Frame: s.Frame, File: s.File, Interface: s.Interface, Src: s.Src, Dst: s.Dst,
		Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, PayloadLen: s.PayloadLen, Checksum: s.Checksum, IPFrag: s.IPFrag}
}

// trace notes each head 4-tuple's first attempt, and the packet that began
// its second.
func (r *Recorder) trace(t *reassembly.Trace) {
	if r.live == 0 || (r.cur < 0 && t.Segment == r.curSeg) {
		return // nothing to follow, or the packet being tracked was not kept
	}
	hk := r.keys.get(t.Key.Tuple(), t.Tunnel)
	if hk == nil || hk.ended || hk.truncated {
		return
	}
	if hk.first == 0 {
		hk.first = t.Attempt
		return
	}
	if t.Attempt != hk.first && r.cur >= 0 && t.Segment != nil && t.ICMP == nil {
		cp := &r.packets[r.cur]
		if *t.Segment == cp.Packet.Segment && reassembly.KeyOf(cp.Packet.Segment.Src, cp.Packet.Segment.Dst) == t.Key.Tuple() &&
			sameTunnel(&cp.Packet.Tunnel, t.Tunnel) {
			cp.Term = true
			r.cur = -1
		}
	}
}

// flow writes a decided flow, or ignores a flow of the tail.
func (r *Recorder) flow(f *reassembly.Flow) {
	if r.ended || r.err != nil {
		return
	}
	rec := flowRecord{Flow: *f}
	if r.keys.n > 0 {
		if hk := r.keys.get(reassembly.KeyOf(f.Client, f.Server), f.Tunnel); hk != nil && !hk.ended {
			if !hk.truncated {
				r.live--
			}
			hk.ended = true
			rec.HeadFirst = true
		}
	}
	r.flows++
	r.enc.flow(&rec)
	r.err = r.enc.err
}

// end takes the tracker's state before the flush.
func (r *Recorder) end(s *reassembly.State) {
	r.ended = true
	r.tail.State = *s
	for _, a := range s.Attempts {
		if hk := r.keys.get(a.Key, &a.Tunnel); hk != nil && !hk.ended {
			r.tail.OpenFirst = append(r.tail.OpenFirst, newTupleKey(a.Key, &a.Tunnel))
		}
	}
	seen := make(map[connKey]bool)
	for _, h := range s.Held {
		k := keyOf(h.Key, &h.Tunnel)
		if hk := r.keys.get(h.Key, &h.Tunnel); hk != nil && !hk.ended && !seen[k] {
			seen[k] = true
			r.tail.OpenFirst = append(r.tail.OpenFirst, newTupleKey(h.Key, &h.Tunnel))
		}
	}
}

// Finish writes the rest of the partial from the analysis's summary. The
// caller still owns (and closes) the writer.
func (r *Recorder) Finish(sum *analyze.Summary, startTS int64, hasStart bool) error {
	if r.err != nil {
		return r.err
	}
	if !r.ended {
		return fmt.Errorf("partial: the analysis did not end")
	}
	s := Summary{
		Packets: sum.Packets, TCPPackets: sum.TCPPackets, Decoded: sum.Decoded,
		FirstTS: sum.FirstTS, LastTS: sum.LastTS, StartTS: startTS, HasStart: hasStart,
		Flows: r.flows,
		Early: sum.Early, Fragments: sum.Fragments, Reassembled: sum.Reassembled, Duplicates: sum.Duplicates,
	}
	if r.started {
		s.HasTrack = true
		s.TrackFirst = r.headEnd - r.headFor
	}
	for _, w := range sum.Warnings {
		s.Warnings = append(s.Warnings, w.Error())
	}
	r.flushHead()
	var cut []tupleKey // those whose first packet could not be marked
	for _, hk := range r.truncated {
		if !hk.marked {
			cut = append(cut, hk.key)
		}
	}
	return r.enc.finish(&r.tail, r.blocks, cut, &s)
}

// Write analyses files as one capture with ao (its hooks are set here) and
// writes the partial result to w: the common case of NewRecorder, Hook,
// analyze.Run and Finish. files are named as in names. It returns the
// analysis's summary and error as analyze.Run does; a failure to write is
// returned as the error too.
func Write(w io.Writer, files []*capture.File, names []string, ao analyze.Options, tool string) (analyze.Summary, error) {
	return write(w, files, names, ao, tool, zstd.SpeedBestCompression)
}

// WriteTemporary is Write for a partial that this process reads back at
// once (--jobs): compressed for speed rather than size.
func WriteTemporary(w io.Writer, files []*capture.File, names []string, ao analyze.Options, tool string) (analyze.Summary, error) {
	return write(w, files, names, ao, tool, zstd.SpeedFastest)
}

func write(w io.Writer, files []*capture.File, names []string, ao analyze.Options, tool string, level zstd.EncoderLevel) (analyze.Summary, error) {
	r, err := newRecorder(w, ResolveOptions(ao), names, tool, level)
	if err != nil {
		return analyze.Summary{}, err
	}
	var start int64
	var hasStart bool
	userStart := ao.Start
	ao.Start = func(ts int64) {
		start, hasStart = ts, true
		if userStart != nil {
			userStart(ts)
		}
	}
	emit := r.Hook(&ao)
	sum, runErr := analyze.Run(files, ao, emit)
	if err := r.Finish(&sum, start, hasStart); err != nil {
		return sum, fmt.Errorf("write partial: %w", err)
	}
	return sum, runErr
}

// ResolveOptions returns the tracking options that ao means, defaults
// filled in: what a partial written with ao records.
func ResolveOptions(ao analyze.Options) Options {
	return Options{
		IdleTimeout:   pick(ao.Tracker.IdleTimeout, reassembly.DefaultIdleTimeout),
		CloseLinger:   pick(ao.Tracker.CloseLinger, reassembly.DefaultCloseLinger),
		ReorderWindow: pick(ao.Tracker.ReorderWindow, reassembly.DefaultReorderWindow),
		Checksums:     ao.VerifyChecksums,
		DedupWindow:   pick(ao.DedupWindow, capture.DefaultDedupWindow),
		MaxMemory:     ao.Tracker.MaxMemory,
	}
}

// pick resolves a tracking option as reassembly.New does: 0 is the
// default, negative is off (0).
func pick(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// trackerOptions returns the reassembly.Options that track as o says.
func (o Options) trackerOptions() reassembly.Options {
	off := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	return reassembly.Options{IdleTimeout: o.IdleTimeout, CloseLinger: off(o.CloseLinger), ReorderWindow: off(o.ReorderWindow), MaxMemory: o.MaxMemory}
}

// headKeys maps head 4-tuples to what the Recorder follows of them.
type headKeys struct {
	m map[connKey]*headKey
	n int
}

func newHeadKeys() headKeys { return headKeys{m: make(map[connKey]*headKey)} }

// get returns the entry of tuple in tunnel context tun (nil or empty: plain
// traffic; not necessarily canonical), or nil.
func (h *headKeys) get(tuple reassembly.FlowKey, tun *decode.Tunnel) *headKey {
	if h.n == 0 {
		return nil
	}
	return h.m[keyOf(tuple, tun)]
}

func (h *headKeys) put(tuple reassembly.FlowKey, tun *decode.Tunnel, hk *headKey) {
	h.n++
	h.m[keyOf(tuple, tun)] = hk
}

// sameTunnel reports whether a (as a packet carries it) and b (canonical,
// nil for plain traffic) are one tunnel context.
func sameTunnel(a, b *decode.Tunnel) bool {
	if a.Len() == 0 || b == nil {
		return a.Len() == b.Len()
	}
	canon, _ := a.Canonical()
	return canon == *b
}
