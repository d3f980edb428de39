// Package reassembly owns the flow table of hsanalyze: it groups decoded TCP
// segments into connection attempts, runs one handshake.Machine per attempt,
// and hands each finished attempt to the caller as a Flow.
//
// # Attempts and roles
//
// Segments are grouped by FlowKey, the 4-tuple without direction within
// its tunnel context (decode.Packet.Tunnel): the same inner 4-tuple in two
// VXLAN VNIs, GRE keys or GTP-U TEIDs is two connections. A 4-tuple
// may carry several attempts one after another (port reuse, or a client
// trying again with a new ISN): the Machine says when a SYN starts a new
// attempt (handshake.Event.NewAttempt), and the Tracker then emits the old
// Flow and starts a new one with that SYN. The client of an attempt is the
// sender of its first SYN; for a midstream attempt it is the side a SYN-ACK
// was sent to if one is captured, else the sender of the first segment
// (CONTRACT.md).
//
// # Time
//
// All time is capture time, the segments' Timestamp: the Tracker never
// reads a clock, so its output depends only on its input. Its clock is, in
// principle, the largest timestamp seen so far; idle timeouts, the close
// linger and the reorder window all run on it.
//
// One corrupt timestamp far in the future would move that clock by years
// and expire every open attempt (pcapplusplus pcapng-example.pcapng stamps
// a SYN-ACK 47 years after its SYN, then steps back for the final ACK),
// while a real forward gap (files of different days analysed together, a
// long quiet period) must expire them. Without looking ahead, the Tracker
// tells the two apart by the segment that follows:
//
//   - A forward jump of more than Options.IdleTimeout past the clock (the
//     smallest step that can expire an attempt active at the clock) does not
//     move the clock: it is pending. The segment itself is fed at once, with
//     its own timestamp, to the attempts as they stand before the jump,
//     unless its own 4-tuple has an open attempt, which the jump would
//     expire if real: then the segment waits (one packet, copied) until the
//     jump is decided, so that activity after a real gap starts a new
//     attempt instead of being absorbed by the stale one.
//   - The next segment or ICMP error, of any 4-tuple, decides. At or beyond
//     the pending time minus IdleTimeout, it confirms the jump: the clock
//     moves to the pending time (expiring what the gap expires) before that
//     segment is handled (a waiting outlier then meets no stale attempt).
//     Earlier, it refutes the jump: the clock stays, and the outlier (fed
//     now if it waited) counts as activity at the clock when it came, for
//     expiry and the reorder window alone (Flow.FirstTS and LastTS and the
//     Machine keep its raw timestamp). Either way that segment is then
//     handled like any other, so it may open a pending jump of its own.
//   - Flush drops a pending jump, as refuted (a waiting outlier joins its
//     attempt): nothing confirms it, and every attempt is emitted anyway.
//
// One segment of confirmation (not more) keeps expiry late by at most one
// segment, whatever 4-tuple confirms it: a 4-tuple quiet for longer than
// the idle timeout and then used again starts a new attempt, whether the
// confirming segment is its own or another's. Two or more consecutive
// segments corrupted to nearby times are taken for a real gap. A corrupt
// first timestamp of the whole input sets the clock unchecked. Memory
// stays bounded: the pending state is one timestamp and at most one
// waiting packet, and only the pending outlier's attempt or held segment
// can be ahead of the clock until the next segment decides.
//
// # Lifecycle of a Flow
//
// In order: 1) the first segment of an unknown 4-tuple starts a Flow (a
// segment that is not a SYN may first be held, see below); 2) each segment
// is fed to the Flow's Machine; 3) the Flow is emitted, exactly once, when
// the first of these happens: a SYN starts a new attempt on its 4-tuple; the
// connection was closed (acceptable RST, or FIN from both sides) and
// Options.CloseLinger passed without a segment; no segment came for
// Options.IdleTimeout; Flush is called. Expiry is checked on each Add, in
// O(1) per expired flow: open flows sit on one intrusive list ordered by
// the capture time of their last segment, closed ones on another, so the
// oldest is always at a head. Flows expiring at the same Add are emitted in
// order of deadline (ties: open before closed if created first, else in
// the order they were last active); Flush emits the rest in creation order.
// Either order depends only on the input.
//
// A Flow's outcome does not depend on other flows interleaved with it, as
// long as the clock means what it should: its expiry runs on the clock, and
// a flow's own timestamps bound the clock (in a merged capture the clock
// is never behind a segment's own time). The one exception is a forward
// gap of more than IdleTimeout between consecutive segments of the
// capture: whether it is confirmed, and so which attempts it expires and
// whether a segment right after it meets a stale attempt, depends on the
// segment that follows, whatever its 4-tuple. A gap of the whole capture
// is a property of the capture, not of one flow: no per-flow rule can tell
// a lone corrupt stamp of a flow from the flow's own quiet period.
//
// # Memory
//
// An attempt that so far saw only its client's SYN and retransmissions of
// it costs a fixed-size, pointer-free slot of 128 bytes with its index cell (compact.go);
// its first other segment turns it into a full entry with a
// handshake.Machine by replaying what it saw, so the result is the same as
// if it had been full from the start. A full entry is 288 bytes, 168 of
// them its Machine (which keeps what only some attempts need, evidence
// first, out of line); entries come from slabs, are recycled, and are
// found through a map of their key's hash (table.go): about 316 bytes of
// live heap per established attempt. Zeek's view of an attempt (336 bytes,
// beside its entry) is kept only when something reads it
// (Options.NoConnState). Options.MaxMemory bounds what attempts and
// tombstones cost (early.go).
//
// # Out-of-order captures
//
// Multi-queue NICs can timestamp a SYN-ACK (or even the final ACK) a few
// microseconds before the SYN it answers. A segment of an unknown 4-tuple
// that is not a SYN without ACK is therefore held for up to
// Options.ReorderWindow of capture time, with any later segments of the same
// 4-tuple. If a SYN arrives in time and explains the first held segment (a
// SYN-ACK sent to the SYN's sender whose ack is ISN+1, + SYN data, or a
// segment from the SYN's sender with seq ISN+1), the SYN is fed first, then
// the held segments in capture order, and the Flow carries the informational
// anomaly capture_reordered. Otherwise the held segments are fed in capture
// order when the window passes (a midstream Flow), and the SYN after them.
// Holding depends only on the 4-tuple's own timestamps (within the limits
// of Time), so a Flow's verdict does not depend on other flows interleaved
// with it.
package reassembly

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// Defaults of Options, used for a zero field.
const (
	// DefaultIdleTimeout exceeds the longest gap of Linux's SYN backoff
	// (1, 2, 4, ... 64 s with tcp_syn_retries = 6, 127 s in all) and equals
	// one MSL (RFC 9293 §3.4.2), so an unanswered SYN and its
	// retransmissions stay one attempt.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultCloseLinger covers retransmitted FINs, final ACKs and RSTs
	// after a close (the first RTO is 1 s, RFC 6298 §2.1), and clients
	// that retry a refused SYN with the same ISN.
	DefaultCloseLinger = 5 * time.Second
	// DefaultReorderWindow is far above the microseconds by which
	// multi-queue capture reorders a handshake and far below any real
	// round trip on a path worth capturing.
	DefaultReorderWindow = time.Millisecond
)

// maxHeld bounds the segments held for reordering; beyond it the oldest is
// released early. Only a capture full of new midstream 4-tuples reaches it.
const maxHeld = 1 << 16

// Options tunes a Tracker. The zero Options uses the defaults.
type Options struct {
	// IdleTimeout emits a Flow that saw no segment for this long
	// (DefaultIdleTimeout if 0).
	IdleTimeout time.Duration
	// CloseLinger keeps a closed Flow this long after its last segment to
	// absorb retransmissions (DefaultCloseLinger if 0; negative: emit at once).
	CloseLinger time.Duration
	// ReorderWindow is how long a segment of an unknown 4-tuple that is not
	// a SYN is held waiting for its SYN (DefaultReorderWindow if 0;
	// negative: never hold).
	ReorderWindow time.Duration
	// Trace, if set, is called for every segment and ICMP error fed to an
	// attempt, right after the attempt's Machine consumed it: what a
	// per-connection timeline shows. The Trace is only valid during the call.
	Trace func(*Trace)
	// MaxMemory bounds the memory of the attempt table, in bytes (0:
	// unlimited): past it, attempts are decided early (see early.go and
	// Tracker.Early).
	MaxMemory int64
	// NoConnState skips Zeek's view of each attempt (package connstate):
	// Flow.Conn and Flow.ConnPrior stay zero and Attempt.Zeek of a
	// Snapshot is zero. Set it when nothing reads them (every format but
	// Zeek's); it saves a third of each open attempt's memory and the CPU
	// of following Zeek's state machine. Everything else is unchanged.
	NoConnState bool
	// Defer, if set, is called instead of emit with each attempt decided
	// while it was still compact (SYN-only): its Flow, which a Builder
	// makes, on any goroutine, is the one emit would have had. It is
	// called where emit would have been, in the same order. The Deferred
	// is only valid during the call: keep a copy.
	Defer func(*Deferred)
}

// Trace is one segment as an attempt's Machine saw it.
type Trace struct {
	// Key is the attempt's 4-tuple; Attempt numbers attempts in the order
	// they started (the same number for all segments of one attempt).
	Key     FlowKey
	Attempt uint64
	Segment *decode.Segment
	// ICMP is set for an ICMP error quoting Segment.
	ICMP *decode.ICMPError
	// Tunnel is the attempt's encapsulation, nil for plain traffic, each
	// level's endpoints in canonical order (decode.Tunnel.Canonical);
	// shared, do not modify.
	Tunnel *decode.Tunnel
	// Event is what the Machine did with the segment. Its FromClient is the
	// direction the Machine took the segment in (for an ICMP error, the
	// quoted segment's), in the roles known when it was fed: the emitted
	// Flow's roles, except that in a midstream attempt whose roles the
	// Machine swapped (Flow.Flipped), the segments traced before the one
	// whose Event.Flipped is set carry the opposite direction; a consumer
	// showing them in the Flow's roles inverts those. On a self-connect
	// (Src == Dst) a SYN-ACK is the server's, every other segment the
	// client's.
	Event handshake.Event
}

// FlowKey identifies a 4-tuple regardless of direction: its two endpoints in
// canonical order, and for tunnelled traffic the Tracker's number for the
// tunnel context (see Tracker). It is a comparable value, usable as a map
// key; the zero FlowKey is not the key of any segment. It keeps netip.AddrPort values
// rather than packed bytes: BenchmarkKey measures a pointer-free 36-byte key
// only about 10% faster to build and look up (61 vs 68 ns), and packing
// would drop IPv6 zones and merge IPv4 with IPv4-mapped IPv6 addresses.
type FlowKey struct {
	lo, hi netip.AddrPort
	tun    uint64 // 0: plain traffic; else the Tracker's tunnelRef.id
}

// KeyOf returns the key of the 4-tuple between a and b; KeyOf(a, b) ==
// KeyOf(b, a).
func KeyOf(a, b netip.AddrPort) FlowKey {
	if a.Compare(b) > 0 {
		a, b = b, a
	}
	return FlowKey{lo: a, hi: b}
}

// Endpoints returns the two endpoints in canonical order.
func (k FlowKey) Endpoints() (lo, hi netip.AddrPort) { return k.lo, k.hi }

// Tuple returns the key of the 4-tuple alone, without its tunnel context:
// KeyOf of the endpoints.
func (k FlowKey) Tuple() FlowKey { return FlowKey{lo: k.lo, hi: k.hi} }

// Tunnelled reports whether the key belongs to tunnelled traffic.
func (k FlowKey) Tunnelled() bool { return k.tun != 0 }

// Flow is one connection attempt, emitted once when finished. The embedded
// handshake.Result carries the verdict, evidence, ISNs, frames, durations,
// counters, options and how the connection closed, already in the roles
// Client and Server give.
type Flow struct {
	// Client sent the first SYN (see the package doc for midstream).
	Client, Server netip.AddrPort
	// FirstTS and LastTS are the capture times (ns since the Unix epoch)
	// of the attempt's first and last segment.
	FirstTS, LastTS int64
	// Attempt numbers attempts in the order they started; Trace.Attempt
	// carries the same number.
	Attempt uint64
	// File is the index of the input file of the attempt's first segment
	// (Segment.File).
	File int
	// Anomalies lists the distinct codes of Evidence in order of first
	// occurrence, nil when there are none.
	Anomalies []handshake.Code
	// Conn is what Zeek's conn.log says about the attempt, by Zeek's
	// rules (package connstate); Conn.OrigIsA says that Zeek's originator
	// is Client. ConnPrior holds the records of the connections Zeek
	// would have logged and removed earlier within the attempt (an
	// unanswered SYN after tcp_attempt_delay, a packet after the close
	// delay), in order; nil when there are none.
	Conn      connstate.Summary
	ConnPrior []connstate.Summary
	// Tunnel is the encapsulation the attempt was carried in, each level's
	// endpoints as the client sends, nil for plain traffic.
	Tunnel *decode.Tunnel
	handshake.Result
}

// Tracker is the flow table. Create it with New; the zero Tracker is not
// usable. It is not safe for concurrent use.
type Tracker struct {
	idle, linger, window int64
	emit                 func(*Flow)
	traceFn              func(*Trace)
	deferFn              func(*Deferred) // Options.Defer, or a Builder's emit
	table                table
	open, closed         list
	free                 *entry   // recycled entries, linked by next
	slab                 []entry  // entries not yet used (see newEntry)
	zslab                []entryZ // the same with Zeek's view
	conn                 bool     // keep Zeek's view (not Options.NoConnState)
	cmp                  compact
	stamp                uint64 // last list insertion (nextStamp)
	seq                  uint64
	now                  int64
	seen                 bool // now was set by a first segment

	// A forward jump beyond idle waits for the next segment (see Time).
	pending  bool
	pendTS   int64
	pendKey  FlowKey
	pendHeld int // index in held of the outlier if it was held, else -1
	// waiting is the pending outlier itself when its 4-tuple has an open
	// attempt the jump would expire: it is handled once the jump is
	// decided (valid iff hasWaiting).
	waiting    decode.Packet
	waitSwap   uint8 // Tracker.swap of waiting
	hasWaiting bool

	ending      handshake.Ending // of the flows finish emits (set by Flush)
	interrupted bool             // Interrupt was called
	// flushing is set while Flush emits the compact slots, which it then
	// frees all at once rather than one by one (compact.reset).
	flushing bool

	held      []held // FIFO of held segments, from heldHead
	heldHead  int
	heldCount map[FlowKey]int

	// Tunnel contexts in use, interned: each open attempt and each held
	// segment of a tunnelled 4-tuple holds a reference, so memory follows
	// the open attempts, not the contexts ever seen.
	tunnels  map[decode.Tunnel]*tunnelRef
	tunnelID map[uint64]*tunnelRef
	lastTun  uint64
	// swap is what decode.Tunnel.Canonical swapped in the context of the
	// segment being handled (held segments keep their own).
	swap uint8

	early early // Options.MaxMemory (early.go)

	out      Flow     // the Flow finish emits, reused (see New)
	kept     flowSlab // the slices of emitted flows
	deferred Deferred // the one deferCompact hands to deferFn, reused
}

// tunnelRef is an interned tunnel context. Its id, never reused, is the
// FlowKey.tun of its attempts.
type tunnelRef struct {
	t    decode.Tunnel
	id   uint64
	refs int
}

// New returns a Tracker that calls emit with each finished Flow, from
// within Add or Flush. The Flow is only valid during the call: the
// Tracker reuses it for the next one. Its slices are never reused, so a
// copy of the Flow (a value, not the pointer) stays valid; emit may keep
// one.
func New(opts Options, emit func(*Flow)) *Tracker {
	pick := func(d, def time.Duration) int64 {
		switch {
		case d == 0:
			return int64(def)
		case d < 0:
			return 0
		}
		return int64(d)
	}
	t := &Tracker{
		idle:      pick(opts.IdleTimeout, DefaultIdleTimeout),
		linger:    pick(opts.CloseLinger, DefaultCloseLinger),
		window:    pick(opts.ReorderWindow, DefaultReorderWindow),
		emit:      emit,
		traceFn:   opts.Trace,
		deferFn:   opts.Defer,
		table:     newTable(),
		heldCount: make(map[FlowKey]int),
		tunnels:   make(map[decode.Tunnel]*tunnelRef),
		tunnelID:  make(map[uint64]*tunnelRef),
		conn:      !opts.NoConnState,
	}
	t.open.init(t.idle, false)
	t.closed.init(t.linger, true)
	t.cmp.init(opts.Trace == nil)
	t.initEarly(opts.MaxMemory)
	if t.deferFn == nil {
		// Without Options.Defer, the Tracker builds such an attempt's
		// Flow itself, with a Builder: it replays the slot through one
		// Machine whose memory it reuses, not through a new entry's.
		b := NewBuilder(opts)
		t.deferFn = func(d *Deferred) { t.emit(b.Flow(d)) }
	}
	return t
}

// Open returns the number of attempts in the table (not counting segments
// held for reordering).
func (t *Tracker) Open() int { return t.entries() + t.cmp.n }

func isBareSYN(seg *decode.Segment) bool {
	return seg.Flags&(decode.SYN|decode.ACK) == decode.SYN
}

// Add feeds one decoded packet. Only KindTCP and KindICMPError packets are
// used; the caller sets Segment.Timestamp, Frame and File. An ICMP error
// whose quoted segment belongs to no open attempt is ignored. p is only read
// during the call.
func (t *Tracker) Add(p *decode.Packet) {
	if p.Kind != decode.KindTCP && p.Kind != decode.KindICMPError {
		return
	}
	seg := &p.Segment
	jump := t.clock(seg.Timestamp)
	// KeyOf's result, built in place and passed on by pointer: a copy
	// reads the key with 16-byte loads right after the 8- and 2-byte
	// stores that built it, which stalls until the store buffer drains
	// (see ckey).
	var key FlowKey
	if seg.Src.Compare(seg.Dst) > 0 {
		key.lo, key.hi = seg.Dst, seg.Src
	} else {
		key.lo, key.hi = seg.Src, seg.Dst
	}
	t.swap = 0
	if p.Tunnel.Len() > 0 {
		// Both directions share the canonical context. A reference for
		// the duration of the call keeps it while an attempt is finished
		// and restarted below.
		var canon decode.Tunnel
		canon, t.swap = p.Tunnel.Canonical()
		r := t.intern(&canon)
		key.tun = r.id
		defer t.unref(key)
	}
	if jump && t.exists(key) {
		// If the jump is real it expires this 4-tuple's attempt (every
		// attempt is at most at the clock), and the segment belongs to
		// a new one: wait for the next packet to decide. The waiting
		// packet holds a reference to its tunnel context.
		t.pending, t.pendTS, t.pendKey, t.pendHeld = true, seg.Timestamp, key, -1
		t.waiting, t.waitSwap, t.hasWaiting = *p, t.swap, true
		t.ref(key)
		return
	}
	nheld := len(t.held) // nothing compacts held until the next clock call
	t.handle(&key, p)
	if jump {
		t.pending, t.pendTS, t.pendKey, t.pendHeld = true, seg.Timestamp, key, -1
		if len(t.held) > nheld { // hold appends at most one record
			t.pendHeld = len(t.held) - 1
		}
	}
}

// handle feeds p, of 4-tuple key, after the clock moved.
func (t *Tracker) handle(key *FlowKey, p *decode.Packet) {
	seg := &p.Segment
	if p.Kind == decode.KindICMPError {
		if e := t.lookup(*key); e != nil {
			ev := e.m.ICMP(seg, p.ICMP, seg.Src == e.client())
			t.trace(e, seg, &p.ICMP, ev)
			t.touch(e, seg.Timestamp)
		}
		return
	}
	t.addTCP(key, seg)
}

// intern returns the interned copy of tun, with one more reference.
func (t *Tracker) intern(tun *decode.Tunnel) *tunnelRef {
	r := t.tunnels[*tun]
	if r == nil {
		t.lastTun++
		r = &tunnelRef{t: *tun, id: t.lastTun}
		t.tunnels[*tun] = r
		t.tunnelID[r.id] = r
	}
	r.refs++
	return r
}

// ref adds a reference to key's tunnel context, if it has one, and
// returns the context.
func (t *Tracker) ref(key FlowKey) *decode.Tunnel {
	if key.tun == 0 {
		return nil
	}
	r := t.tunnelID[key.tun]
	r.refs++
	return &r.t
}

// unref drops a reference to key's tunnel context, if it has one.
func (t *Tracker) unref(key FlowKey) {
	if key.tun == 0 {
		return
	}
	r := t.tunnelID[key.tun]
	if r.refs--; r.refs == 0 {
		delete(t.tunnels, r.t)
		delete(t.tunnelID, r.id)
	}
}

// addTCP handles a segment after the clock moved.
func (t *Tracker) addTCP(key *FlowKey, seg *decode.Segment) {
	if len(t.heldCount) > 0 && t.heldCount[*key] > 0 {
		if isBareSYN(seg) {
			t.resolve(*key, seg)
		} else {
			t.hold(*key, seg)
		}
		return
	}
	i, e := t.probe(key)
	if i >= 0 {
		if t.retransmit(i, seg) {
			return
		}
		t.step(t.promote(i), seg)
		return
	}
	if e != nil {
		t.step(e, seg)
		return
	}
	if t.absorb(key, seg) {
		return
	}
	if t.window > 0 && !isBareSYN(seg) {
		t.hold(*key, seg)
		return
	}
	t.begin(key, seg)
}

// process feeds seg to its attempt, starting one if needed, without holding.
func (t *Tracker) process(key FlowKey, seg *decode.Segment) {
	if e := t.lookup(key); e != nil {
		t.step(e, seg)
		return
	}
	t.begin(&key, seg)
}

func (t *Tracker) step(e *entry, seg *decode.Segment) {
	ev := e.m.Step(seg, seg.Src == e.client())
	if ev.NewAttempt {
		key := e.key
		t.finish(e)
		t.begin(&key, seg)
		return
	}
	e.zeekAdd(seg)
	t.trace(e, seg, nil, ev)
	t.touch(e, seg.Timestamp)
}

// trace reports a consumed segment to Options.Trace.
func (t *Tracker) trace(e *entry, seg *decode.Segment, icmp *decode.ICMPError, ev handshake.Event) {
	if t.traceFn == nil {
		return
	}
	tr := Trace{Key: e.key, Attempt: e.seq, Segment: seg, ICMP: icmp, Event: ev}
	if e.key.tun != 0 {
		tr.Tunnel = &t.tunnelID[e.key.tun].t
	}
	t.traceFn(&tr)
}

// begin creates the attempt that seg opens, compact if it can be.
func (t *Tracker) begin(key *FlowKey, seg *decode.Segment) {
	if !t.startCompact(key, seg) {
		t.start(*key, seg)
	}
}

// start creates the attempt that seg opens as a full entry.
func (t *Tracker) start(key FlowKey, seg *decode.Segment) *entry {
	cost := attemptCost(t.conn)
	t.makeRoom(seg, cost)
	t.early.used += cost
	e := t.newEntry()
	e.key = key
	e.setClient(seg.Src)
	e.swap = t.swap
	if tun := t.ref(key); seg.Flags&(decode.SYN|decode.ACK) == decode.SYN|decode.ACK {
		e.setClient(seg.Dst) // the client is the side a SYN-ACK is sent to
		e.swap ^= tun.Levels()
	}
	e.expTS = seg.Timestamp
	e.file = int32(seg.File)
	t.seq++
	e.seq = t.seq
	t.putEntry(e)
	ev := e.m.Step(seg, seg.Src == e.client()) // a fresh Machine consumes anything
	e.zeekAdd(seg)
	t.trace(e, seg, nil, ev)
	t.place(e)
	return e
}

// touch records activity on e and moves it to its place (usually the back)
// in its list.
func (t *Tracker) touch(e *entry, ts int64) {
	e.expTS = max(e.expTS, ts) // the Machine keeps LastTS
	if e.listed() {            // else a promoted slot
		e.unlink()
	}
	t.place(e)
}

func (t *Tracker) place(e *entry) {
	e.stamp = t.nextStamp()
	if e.m.Closed() {
		if t.linger == 0 {
			t.finish(e)
			return
		}
		t.closed.insert(e)
		return
	}
	t.open.insert(e)
}

// advance moves the clock to ts, releases held segments whose window passed
// and emits expired flows.
func (t *Tracker) advance(ts int64) {
	if ts <= t.now {
		return
	}
	t.now = ts
	if len(t.early.queue) > 0 {
		t.expireTombs()
	}
	for t.heldHead < len(t.held) {
		h := &t.held[t.heldHead]
		if !h.done && t.now-h.at <= t.window {
			break
		}
		if !h.done {
			t.release(h.key)
		}
		t.heldHead++
	}
	t.compactHeld()
	for {
		o, c := t.oldestOpen(), t.closed.front()
		if o.ok && t.now-o.expTS <= t.idle {
			o.ok = false
		}
		if c != nil && t.now-c.expTS <= t.linger {
			c = nil
		}
		switch {
		case !o.ok && c == nil:
			return
		case !o.ok:
			t.finish(c)
		case c == nil:
			t.finishOpen(o)
		case o.expTS+t.idle < c.expTS+t.linger || o.expTS+t.idle == c.expTS+t.linger && o.seq < c.seq:
			t.finishOpen(o)
		default:
			t.finish(c)
		}
	}
}

// openAttempt is an open attempt of either tier: a full entry e, or slot i
// when e is nil; ok is false for none.
type openAttempt struct {
	e     *entry
	i     int32
	expTS int64
	seq   uint64
	ok    bool
}

// oldestOpen returns the open attempt at the head of the merged open
// lists: the full entries' and the compact slots', both in (expTS, stamp)
// order.
func (t *Tracker) oldestOpen() openAttempt {
	o := openAttempt{e: t.open.front(), i: t.cmp.head}
	var stamp uint64
	if o.e != nil {
		o.expTS, o.seq, stamp, o.ok = o.e.expTS, o.e.seq, o.e.stamp, true
	}
	if o.i >= 0 {
		s := t.cmp.slot(o.i)
		if exp := s.lastTS(); !o.ok || exp < o.expTS || exp == o.expTS && s.stamp < stamp {
			return openAttempt{i: o.i, expTS: exp, seq: s.seq, ok: true}
		}
	}
	return o
}

// finishOpen emits o.
func (t *Tracker) finishOpen(o openAttempt) {
	if o.e != nil {
		t.finish(o.e)
		return
	}
	t.deferCompact(o.i)
}

// Flush emits every attempt still open, after feeding the held segments:
// call it at the end of the input. A pending jump is dropped (see Time).
// The Tracker stays usable.
func (t *Tracker) Flush() {
	if t.pending {
		t.pending = false
		t.releaseWaiting()
		t.refute()
	}
	for t.heldHead < len(t.held) {
		if h := &t.held[t.heldHead]; !h.done {
			t.release(h.key)
		}
		t.heldHead++
	}
	t.compactHeld()
	rest := t.bySeq()
	t.ending = handshake.EndedWithInput
	if t.interrupted {
		t.ending = handshake.EndedInterrupted
	}
	t.flushing = true
	for _, o := range rest {
		t.finishOpen(o)
	}
	t.flushing = false
	t.cmp.reset()
	t.ending = handshake.EndedNormally
}

// bySeq returns the open attempts in creation order (seq), the order Flush
// emits them in: the full entries sorted, merged with the slots sorted as
// packed keys (compact.bySeq). With the ~850,000 slots a bench flood leaves
// open this takes half the time of walking their expiry list and sorting
// them all with a comparison function (0.16 against 0.33 s).
func (t *Tracker) bySeq() []openAttempt {
	ents := make([]openAttempt, 0, t.entries())
	for e := range t.allEntries {
		ents = append(ents, openAttempt{e: e, seq: e.seq})
	}
	bySeq := func(a, b openAttempt) int { return cmp.Compare(a.seq, b.seq) }
	keys, base, ok := t.cmp.bySeq()
	if !ok { // seqs too far apart to pack: sort them all
		for i := t.cmp.head; i >= 0; i = t.cmp.slot(i).next {
			ents = append(ents, openAttempt{i: i, seq: t.cmp.slot(i).seq})
		}
		slices.SortFunc(ents, bySeq)
		return ents
	}
	slices.SortFunc(ents, bySeq)
	rest := make([]openAttempt, 0, len(ents)+len(keys))
	n := 0
	for _, k := range keys {
		o := openAttempt{i: int32(uint32(k)), seq: base + k>>32}
		for n < len(ents) && ents[n].seq < o.seq {
			rest = append(rest, ents[n])
			n++
		}
		rest = append(rest, o)
	}
	return append(rest, ents[n:]...)
}

// Interrupt makes the next Flush judge the attempts it emits unfinished
// (their reason says so): reading stopped before the input ended.
func (t *Tracker) Interrupt() { t.interrupted = true }
