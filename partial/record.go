package partial

import (
	"encoding/binary"
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
	enc     *encoder // nil: the result stays in memory (mem)
	mem     *MemPart
	codec   FlowCodec
	opts    Options
	headFor int64 // the head window's length

	started bool
	headEnd int64 // segments up to here may start a head 4-tuple
	maxTS   int64
	ended   bool // End was called: later flows are the tail's

	keys headKeys
	live int // head 4-tuples neither ended nor truncated
	// liveKeys are the plain IPv4 head 4-tuples still live when the window
	// closed (closedKeys): the only ones a later packet may add to.
	liveKeys   headKeys
	closedKeys bool
	// The head's packets: blocks encoded as they fill (a decoded packet is
	// large), the last one still being filled.
	blocks    [][]byte
	packets   []headPacket
	owners    []pendingOwner // of packets
	headN     int            // packets kept in all
	cur       int            // index in packets of the packet being tracked, or -1
	curHK     *headKey       // its head 4-tuple
	truncated []*headKey     // in the order they were cut short
	tail      tail
	flows     uint64
	err       error
}

// headKey follows one head 4-tuple.
type headKey struct {
	n         int  // packets kept
	ended     bool // its first attempt was emitted
	truncated bool
	marked    bool     // its first head packet carries the truncation (Cut)
	key       tupleKey // set when truncated
	// tuple and next chain plain traffic's entries (headKeys.plain).
	tuple reassembly.FlowKey
	next  *headKey
	// synFirst: it began with a SYN from synSrc with ISN isn; only that
	// SYN's retransmissions are kept after it (see docs/partial.md).
	synFirst bool
	synSrc   netip.AddrPort
	isn      decode.Seq
	// ref is its first head packet (ref.at 0: none kept), which the flow
	// of its first attempt refers to.
	ref headRef
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

// NewMemRecorder starts a partial result kept in memory (for --jobs,
// which merges it in the same process with MergeMemory): nothing is
// written or compressed, flows are held in codec's encoding.
func NewMemRecorder(opts Options, files []string, codec FlowCodec) (*Recorder, error) {
	c, err := newCodecs()
	if err != nil {
		return nil, err
	}
	return &Recorder{
		mem:     &MemPart{c: c, files: files},
		codec:   codec,
		opts:    opts,
		headFor: int64(max(opts.IdleTimeout, opts.CloseLinger)),
		keys:    newHeadKeys(),
		cur:     -1,
	}, nil
}

// Hook sets the hooks of ao the Recorder needs (Packet and End), and
// returns the function to pass to analyze.Run as emit. The Recorder tells
// which packet ended a head 4-tuple's first attempt from the flow emitted
// while that packet is tracked, so emission must not be deferred: it sets
// EmitWhileTracking (with ao.Workers above 1, reading and decoding still
// run on a goroutine of their own). It sets no Trace: the tracker keeps
// its compact table of SYN-only attempts.
func (r *Recorder) Hook(ao *analyze.Options) func(*reassembly.Flow) {
	ao.Packet = r.packet
	ao.End = r.end
	ao.Tracker.Trace = nil
	ao.EmitWhileTracking = true
	return r.flow
}

// packet keeps p if it belongs to a head 4-tuple's first attempt.
func (r *Recorder) packet(p *decode.Packet) {
	r.cur, r.curHK = -1, nil
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
	keys := &r.keys
	if closed {
		// Past the window only the live 4-tuples matter: a table of
		// those alone stays in the cache.
		if !r.closedKeys {
			r.closedKeys, r.liveKeys = true, r.keys.live4()
		}
		if _, ok := v4Of(tuple, &p.Tunnel); ok {
			keys = &r.liveKeys
		}
	}
	hk, done, slot := keys.lookup(tuple, &p.Tunnel, false)
	if done {
		return
	}
	if hk == nil {
		if closed {
			return
		}
		hk = &headKey{}
		if p.Kind == decode.KindTCP && seg.Flags&(decode.SYN|decode.ACK) == decode.SYN {
			hk.synFirst, hk.synSrc, hk.isn = true, seg.Src, seg.Seq
		}
		r.keys.put(tuple, &p.Tunnel, hk)
		slot = -1 // put may have moved it; nothing to mark yet
		r.live++
	}
	switch {
	case r.headN >= MaxHeadPackets,
		hk.synFirst && hk.n > 0 && !(p.Kind == decode.KindTCP && seg.Flags&(decode.SYN|decode.ACK) == decode.SYN && seg.Src == hk.synSrc && seg.Seq == hk.isn),
		!hk.synFirst && hk.n >= MaxHeadPerKey:
		hk.truncated = true
		if slot < 0 {
			_, _, slot = keys.lookup(tuple, &p.Tunnel, true)
		}
		keys.mark(slot, hk)
		r.live--
		hk.key = newTupleKey(tuple, &p.Tunnel)
		r.truncated = append(r.truncated, hk)
		return
	}
	if len(r.packets) == blockSize {
		r.flushHead() // the packets before p are final: only p may be marked
	}
	r.owners = append(r.owners, pendingOwner{hk, hk.n == 0})
	if hk.n == 0 {
		hk.ref = refOf(r.headN+1, seg)
	}
	hk.n++
	r.headN++
	r.cur, r.curHK = len(r.packets), hk
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
	if r.enc == nil {
		r.mem.addHead(r.packets, r.owners)
	} else {
		r.blocks = append(r.blocks, r.enc.c.appendHeadBlock(nil, r.packets))
	}
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

// flow writes a decided flow, or ignores a flow of the tail.
func (r *Recorder) flow(f *reassembly.Flow) {
	if r.ended || r.err != nil {
		return
	}
	headFirst := false
	var ref headRef
	if r.keys.n > 0 {
		if hk, _, slot := r.keys.lookup(reassembly.KeyOf(f.Client, f.Server), f.Tunnel, true); hk != nil && !hk.ended {
			if !hk.truncated {
				r.live--
			}
			hk.ended = true
			r.keys.mark(slot, hk)
			headFirst, ref = true, hk.ref
			if hk == r.curHK && r.cur >= 0 {
				r.term()
			}
		}
	}
	r.flows++
	if r.enc == nil {
		r.mem.addFlow(r.codec, f, headFirst)
		return
	}
	rec := flowRecord{Flow: *f, HeadFirst: headFirst}
	r.enc.flow(&rec, ref)
	r.err = r.enc.err
}

// term is called when the first attempt of the head 4-tuple of the kept
// packet being tracked (r.cur) was emitted while the tracker took that
// packet: the packet ended it. It marks the packet Term if the packet then
// began the 4-tuple's second attempt, which it does unless the tracker
// held it for reordering. Only a SYN without ACK starts a new attempt
// while one is live (handshake.Machine.StartsNewAttempt), so any other
// segment ended the attempt by its expiry, and then a segment other than a
// bare SYN is held when there is a reorder window.
func (r *Recorder) term() {
	cp := &r.packets[r.cur]
	seg := &cp.Packet.Segment
	if cp.Packet.Kind == decode.KindTCP && (seg.Flags&(decode.SYN|decode.ACK) == decode.SYN || r.opts.ReorderWindow == 0) {
		cp.Term = true
	}
	r.cur, r.curHK = -1, nil
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
	if r.enc == nil {
		r.mem.summary, r.mem.tail, r.mem.truncated = s, r.tail, cut
		r.mem.rec = nil
		r.keys, r.liveKeys, r.packets, r.owners, r.truncated = headKeys{}, headKeys{}, nil, nil, nil
		return nil
	}
	return r.enc.finish(&r.tail, r.blocks, cut, &s)
}

// Part returns the result of a memory Recorder after Finish.
func (r *Recorder) Part() *MemPart { return r.mem }

// Write analyses files as one capture with ao (its hooks are set here) and
// writes the partial result to w: the common case of NewRecorder, Hook,
// analyze.Run and Finish. files are named as in names. It returns the
// analysis's summary and error as analyze.Run does; a failure to write is
// returned as the error too.
func Write(w io.Writer, files []*capture.File, names []string, ao analyze.Options, tool string) (analyze.Summary, error) {
	return write(w, files, names, ao, tool, zstd.SpeedBestCompression)
}

// WriteMemory is Write for a partial result that this process merges
// itself (--jobs, see MemPlan): kept in memory, its flows in codec's
// encoding.
func WriteMemory(files []*capture.File, names []string, ao analyze.Options, codec FlowCodec) (*MemPart, analyze.Summary, error) {
	r, err := NewMemRecorder(ResolveOptions(ao), names, codec)
	if err != nil {
		return nil, analyze.Summary{}, err
	}
	sum, err := run(r, files, ao)
	return r.Part(), sum, err
}

func write(w io.Writer, files []*capture.File, names []string, ao analyze.Options, tool string, level zstd.EncoderLevel) (analyze.Summary, error) {
	r, err := newRecorder(w, ResolveOptions(ao), names, tool, level)
	if err != nil {
		return analyze.Summary{}, err
	}
	return run(r, files, ao)
}

// run analyses files with ao into r and finishes it.
func run(r *Recorder, files []*capture.File, ao analyze.Options) (analyze.Summary, error) {
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

// headKeys maps head 4-tuples to what the Recorder follows of them: it is
// asked about most packets of a part's first idle timeout, most of them of
// 4-tuples already ended or cut short. Plain IPv4 4-tuples are in an
// open-addressing table of 16-byte slots holding the 4-tuple and those two
// marks, so that such a packet costs one probe; other plain traffic is
// looked up by a hash of the 4-tuple (chained on collisions), tunnelled
// traffic by its connKey.
type headKeys struct {
	v4    []v4slot // a power of two long, at most half full
	n4    int
	refs  []*headKey // v4slot.ref-1 indexes it
	m     map[connKey]*headKey
	plain map[uint64]*headKey
	n     int
}

// v4slot is a plain IPv4 4-tuple's entry: the endpoints' addresses and
// ports (KeyOf's order) and its headKey with the marks of v4Ended and
// v4Truncated; ref 0 is an empty slot.
type v4slot struct {
	lo, hi, ports uint32
	ref           uint32
}

const (
	v4Ended     = 1 << 31
	v4Truncated = 1 << 30
	v4Index     = v4Truncated - 1
)

func newHeadKeys() headKeys {
	return headKeys{v4: make([]v4slot, 1024), m: make(map[connKey]*headKey), plain: make(map[uint64]*headKey)}
}

// v4Of returns the slot of a plain IPv4 4-tuple; ok is false for others.
func v4Of(tuple reassembly.FlowKey, tun *decode.Tunnel) (s v4slot, ok bool) {
	lo, hi := tuple.Endpoints()
	if tun.Len() != 0 || !lo.Addr().Is4() || !hi.Addr().Is4() {
		return s, false
	}
	a, b := lo.Addr().As4(), hi.Addr().As4()
	return v4slot{lo: binary.BigEndian.Uint32(a[:]), hi: binary.BigEndian.Uint32(b[:]), ports: uint32(lo.Port())<<16 | uint32(hi.Port())}, true
}

func (s *v4slot) hash() uint64 {
	return mix64(uint64(s.lo)<<32 | uint64(s.hi) ^ uint64(s.ports)*0x9e3779b97f4a7c15)
}

// find4 returns the index of k's slot, or of the empty slot where it goes.
func (h *headKeys) find4(k *v4slot) int {
	mask := len(h.v4) - 1
	for i := int(k.hash()) & mask; ; i = (i + 1) & mask {
		s := &h.v4[i]
		if s.ref == 0 || s.lo == k.lo && s.hi == k.hi && s.ports == k.ports {
			return i
		}
	}
}

// lookup returns the entry of tuple in tunnel context tun (nil or empty:
// plain traffic; not necessarily canonical), or nil; done reports that it
// is ended or cut short, without the entry when it is a plain IPv4 one
// (the caller can then ignore the packet at once), and slot is its v4
// slot, or -1.
func (h *headKeys) lookup(tuple reassembly.FlowKey, tun *decode.Tunnel, needEntry bool) (hk *headKey, done bool, slot int) {
	if h.n == 0 {
		return nil, false, -1
	}
	if k, ok := v4Of(tuple, tun); ok {
		i := h.find4(&k)
		ref := h.v4[i].ref
		if ref == 0 {
			return nil, false, i
		}
		if ref&(v4Ended|v4Truncated) != 0 && !needEntry {
			return nil, true, i
		}
		hk = h.refs[ref&v4Index-1]
		return hk, hk.ended || hk.truncated, i
	}
	hk = h.get(tuple, tun)
	return hk, hk != nil && (hk.ended || hk.truncated), -1
}

// mark copies hk's marks to its v4 slot (slot -1: none).
func (h *headKeys) mark(slot int, hk *headKey) {
	if slot < 0 {
		return
	}
	s := &h.v4[slot]
	if hk.ended {
		s.ref |= v4Ended
	}
	if hk.truncated {
		s.ref |= v4Truncated
	}
}

// get returns the entry of tuple in tunnel context tun, or nil.
func (h *headKeys) get(tuple reassembly.FlowKey, tun *decode.Tunnel) *headKey {
	if h.n == 0 {
		return nil
	}
	if k, ok := v4Of(tuple, tun); ok {
		if ref := h.v4[h.find4(&k)].ref; ref != 0 {
			return h.refs[ref&v4Index-1]
		}
		return nil
	}
	if tun.Len() == 0 {
		t := tuple.Tuple()
		for hk := h.plain[t.Hash()]; hk != nil; hk = hk.next {
			if hk.tuple == t {
				return hk
			}
		}
		return nil
	}
	return h.m[keyOf(tuple, tun)]
}

func (h *headKeys) put(tuple reassembly.FlowKey, tun *decode.Tunnel, hk *headKey) {
	if k, ok := v4Of(tuple, tun); ok {
		h.put4(k, hk)
		return
	}
	h.n++
	if tun.Len() == 0 {
		hk.tuple = tuple.Tuple()
		x := hk.tuple.Hash()
		hk.next = h.plain[x]
		h.plain[x] = hk
		return
	}
	h.m[keyOf(tuple, tun)] = hk
}

// live4 returns a table of h's plain IPv4 entries that are neither ended
// nor cut short (their marks there may go stale: lookup reads the entry).
func (h *headKeys) live4() headKeys {
	l := headKeys{v4: make([]v4slot, 64)}
	for i := range h.v4 {
		s := h.v4[i]
		if s.ref == 0 {
			continue
		}
		if hk := h.refs[s.ref&v4Index-1]; !hk.ended && !hk.truncated {
			l.put4(s, hk)
		}
	}
	return l
}

// put4 adds hk at slot k (its 4-tuple) to the v4 table.
func (h *headKeys) put4(k v4slot, hk *headKey) {
	h.n++
	if 2*(h.n4+1) > len(h.v4) {
		h.grow4()
	}
	h.refs = append(h.refs, hk)
	k.ref = uint32(len(h.refs))
	h.v4[h.find4(&k)] = k
	h.n4++
}

// grow4 doubles the v4 table.
func (h *headKeys) grow4() {
	old := h.v4
	h.v4 = make([]v4slot, 2*len(old))
	for i := range old {
		if old[i].ref != 0 {
			h.v4[h.find4(&old[i])] = old[i]
		}
	}
}

// mix64 is a 64-bit finalizer (splitmix64's).
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
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
