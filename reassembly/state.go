package reassembly

import (
	"net/netip"
	"slices"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// State is what a Tracker holds between two segments: the attempts still
// open, the segments held for reordering and the clock. Snapshot takes it
// and Restore continues from it, so that an analysis cut into parts
// (package partial) can carry its open attempts across a cut. It is plain
// data: every field is a value, so it can be encoded as it is. Keys are
// 4-tuples alone (FlowKey.Tuple); a tunnelled attempt carries its
// canonical tunnel context beside its key.
type State struct {
	// Now is the clock; Seen is set once a first segment set it.
	Now  int64
	Seen bool
	// Pending, PendTS, PendKey (with PendTunnel), PendHeld and Waiting
	// (valid iff HasWaiting, with WaitSwap) are a forward jump waiting
	// for the next segment (see Time in the package doc).
	Pending    bool
	PendTS     int64
	PendKey    FlowKey
	PendTunnel decode.Tunnel
	PendHeld   int
	Waiting    decode.Packet
	WaitSwap   uint8
	HasWaiting bool
	// Attempts are the open attempts in creation order.
	Attempts []Attempt
	// Held are the segments held for reordering, in capture order.
	Held []HeldSegment
}

// Attempt is one open attempt of a State.
type Attempt struct {
	Key    FlowKey
	Tunnel decode.Tunnel // canonical; the zero Tunnel for plain traffic
	Swap   uint8
	Client netip.AddrPort
	// FirstTS and LastTS are its first and last segment's time (as its
	// Machine keeps them: Restore reads them from there); ExpTS is when it
	// was last active for expiry.
	FirstTS, LastTS, ExpTS int64
	// Seq orders attempts by creation; File is the input file of its
	// first segment.
	Seq       uint64
	File      int
	Machine   handshake.Machine
	Zeek      connstate.Conn
	ZeekPrior []connstate.Summary
}

// HeldSegment is a segment held for reordering; At is when its window
// started.
type HeldSegment struct {
	Key     FlowKey
	Tunnel  decode.Tunnel
	Swap    uint8
	Segment decode.Segment
	At      int64
}

// tunnelOf returns key's 4-tuple and canonical tunnel context.
func (t *Tracker) tunnelOf(key FlowKey) (FlowKey, decode.Tunnel) {
	if key.tun == 0 {
		return key, decode.Tunnel{}
	}
	return key.Tuple(), t.tunnelID[key.tun].t
}

// Snapshot returns the Tracker's state without changing it. The State
// shares nothing with the Tracker.
func (t *Tracker) Snapshot() *State {
	s := &State{Now: t.now, Seen: t.seen, Pending: t.pending, PendTS: t.pendTS, PendHeld: -1,
		Waiting: t.waiting, WaitSwap: t.waitSwap, HasWaiting: t.hasWaiting}
	if t.pending {
		if t.pendKey.tun == 0 || t.tunnelID[t.pendKey.tun] != nil {
			s.PendKey, s.PendTunnel = t.tunnelOf(t.pendKey)
		} else {
			s.PendKey = t.pendKey.Tuple()
		}
	}
	attempt := func(e *entry) {
		a := Attempt{Client: e.client(), FirstTS: e.m.FirstTS(), LastTS: e.m.LastTS(), ExpTS: e.expTS, Seq: e.seq, File: int(e.file),
			Swap: e.swap, Machine: e.m}
		if z := e.view(); z != nil {
			a.Zeek, a.ZeekPrior = z.conn, slices.Clone(z.prior)
		}
		a.Key, a.Tunnel = t.tunnelOf(e.key)
		a.Machine.DetachEvidence()
		s.Attempts = append(s.Attempts, a)
	}
	// Attempts go in creation order: sort small references to them, not
	// the Attempts (over a kilobyte each).
	refs := t.bySeq()
	s.Attempts = make([]Attempt, 0, len(refs))
	for _, r := range refs {
		if r.e != nil {
			attempt(r.e)
		} else {
			attempt(t.scratch(r.i, true))
		}
	}
	for i := t.heldHead; i < len(t.held); i++ {
		if h := &t.held[i]; !h.done {
			if t.pending && i == t.pendHeld {
				s.PendHeld = len(s.Held)
			}
			k, tun := t.tunnelOf(h.key)
			s.Held = append(s.Held, HeldSegment{Key: k, Tunnel: tun, Swap: h.swap, Segment: h.seg, At: h.at})
		}
	}
	return s
}

// Restore continues from s: the clock moves forward to s.Now (never back),
// expiring what that expires as a segment at s.Now would, then s's
// attempts and held segments join the table and s's pending jump, if any,
// replaces the Tracker's. An attempt of s for a 4-tuple the Tracker already
// has an attempt or held segments for is skipped and returned: the caller
// decides. Restored attempts keep their order, after the Tracker's own.
func (t *Tracker) Restore(s *State) (skipped []Attempt) {
	if s.Seen {
		if t.pending { // superseded by s's clock
			t.pending = false
			if t.hasWaiting {
				t.hasWaiting = false
				t.unref(t.pendKey)
			}
		}
		t.seen = true
		t.advance(s.Now)
	}
	for i := range s.Attempts {
		a := &s.Attempts[i]
		key := t.internKey(a.Key, &a.Tunnel)
		if t.exists(key) || t.heldCount[key] > 0 {
			t.unref(key)
			skipped = append(skipped, *a)
			continue
		}
		e := t.newEntry()
		e.key, e.expTS = key, a.ExpTS // the Machine has FirstTS and LastTS
		e.setClient(a.Client)
		e.swap, e.m = a.Swap, a.Machine
		if z := e.view(); z != nil {
			z.conn, z.prior = a.Zeek, slices.Clone(a.ZeekPrior)
		}
		e.file = int32(a.File)
		e.m.DetachEvidence()
		t.seq++
		e.seq = t.seq
		t.putEntry(e)
		t.early.used += attemptCost(t.conn)
		t.place(e)
	}
	base := len(t.held)
	for _, h := range s.Held {
		key := t.internKey(h.Key, &h.Tunnel) // the held segment's reference
		t.held = append(t.held, held{key: key, swap: h.Swap, seg: h.Segment, at: h.At})
		t.heldCount[key]++
	}
	if s.Pending {
		t.pending, t.pendTS, t.pendHeld = true, s.PendTS, -1
		if s.PendHeld >= 0 {
			t.pendHeld = base + s.PendHeld
		}
		if s.HasWaiting {
			t.pendKey = t.internKey(s.PendKey, &s.PendTunnel) // the waiting packet's reference
			t.waiting, t.waitSwap, t.hasWaiting = s.Waiting, s.WaitSwap, true
		} else {
			t.pendKey, _ = t.Lookup(s.PendKey, &s.PendTunnel)
		}
	}
	return skipped
}

// internKey returns the key of a 4-tuple in a tunnel context (the zero
// Tunnel for none), holding one more reference to the context.
func (t *Tracker) internKey(tuple FlowKey, tun *decode.Tunnel) FlowKey {
	key := tuple.Tuple()
	if tun.Len() > 0 {
		key.tun = t.intern(tun).id
	}
	return key
}

// Lookup returns the key the Tracker uses for a 4-tuple in a canonical
// tunnel context (nil or the zero Tunnel for plain traffic). ok is false
// when the Tracker holds nothing in that context: then nothing of the
// 4-tuple is in its table.
func (t *Tracker) Lookup(tuple FlowKey, tun *decode.Tunnel) (key FlowKey, ok bool) {
	key = tuple.Tuple()
	if tun.Len() == 0 {
		return key, true
	}
	r := t.tunnels[*tun]
	if r == nil {
		return key, false
	}
	key.tun = r.id
	return key, true
}

// PacketKey returns the key of p's 4-tuple in its tunnel context, as for
// Lookup.
func (t *Tracker) PacketKey(p *decode.Packet) (FlowKey, bool) {
	canon, _ := p.Tunnel.Canonical()
	return t.Lookup(KeyOf(p.Segment.Src, p.Segment.Dst), &canon)
}

// Tick moves the clock as a segment at ts of a 4-tuple without attempts
// would, without feeding anything: a forward jump beyond the idle timeout
// waits for the next segment or Tick to confirm it (see Time).
func (t *Tracker) Tick(ts int64) {
	if t.clock(ts) {
		t.pending, t.pendTS, t.pendKey, t.pendHeld = true, ts, FlowKey{}, -1
	}
}

// Has reports whether key has an open attempt or held segments.
func (t *Tracker) Has(key FlowKey) bool {
	return t.exists(key) || t.heldCount[key] > 0
}

// Started returns the capture time of the first segment of key's open
// attempt; ok is false when there is none.
func (t *Tracker) Started(key FlowKey) (firstTS int64, ok bool) {
	i, e := t.probe(&key)
	if e != nil {
		return e.m.FirstTS(), true
	}
	if i >= 0 {
		return t.cmp.slot(i).firstTS, true
	}
	return 0, false
}

// Drop removes key's open attempt without emitting it.
func (t *Tracker) Drop(key FlowKey) {
	i, e := t.probe(&key)
	if i >= 0 {
		t.cmp.release(i)
		t.early.used -= compactBytes
		return // plain traffic: no tunnel reference
	}
	if e == nil {
		return
	}
	if e.listed() {
		e.unlink()
	}
	t.delEntry(key)
	t.early.used -= attemptCost(t.conn)
	t.unref(key)
	t.recycle(e)
}

// recycle clears e and puts it on the free list, keeping its Zeek view's
// storage (the prior records went with its Flow).
func (t *Tracker) recycle(e *entry) {
	z := e.view()
	*e = entry{next: t.free, bits: e.bits & eZeek}
	if z != nil {
		*z = zeekView{}
	}
	t.free = e
}

// newEntry returns a recycled or new entry, with a Zeek view unless
// Options.NoConnState.
func (t *Tracker) newEntry() *entry {
	e := t.free
	if e != nil {
		t.free = e.next
		e.next = nil
		return e
	}
	if t.conn {
		if len(t.zslab) == 0 {
			t.zslab = make([]entryZ, slabBytes/unsafe.Sizeof(entryZ{}))
		}
		e, t.zslab = &t.zslab[0].entry, t.zslab[1:]
		e.bits = eZeek
		return e
	}
	if len(t.slab) == 0 {
		t.slab = make([]entry, slabBytes/unsafe.Sizeof(entry{}))
	}
	e, t.slab = &t.slab[0], t.slab[1:]
	return e
}

// slabBytes sizes the chunks of entries (and of as many Zeek views)
// newEntry allocates at once: whole pages of the allocator (64 KiB is 8),
// so that an entry costs its size, not that of the next size class.
// Entries are never freed, only recycled (the free list), so chunks keep
// nothing alive that entries allocated one by one would not.
const slabBytes = 64 << 10

// Fate is what Add would do with a packet, as far as the attempts already
// in the table are concerned.
type Fate uint8

// Fates, see Tracker.Fate.
const (
	// FateFresh: no attempt or held segment of the 4-tuple is live at the
	// packet's time; the packet would start afresh (or be held, or, for an
	// ICMP error, be ignored).
	FateFresh Fate = iota
	// FateNew: a live attempt would be emitted and the packet would start
	// the next attempt on the 4-tuple (Event.NewAttempt).
	FateNew
	// FateJoin: the packet would join the live attempt or the held
	// segments of its 4-tuple.
	FateJoin
)

// Fate tells what Add(p) would do to the 4-tuple's attempt, without
// changing anything: whether p continues what the Tracker holds or begins
// anew. Expiry counts as it would at p's time, except that a forward jump
// beyond the idle timeout leaves attempts standing (see Time).
func (t *Tracker) Fate(p *decode.Packet) Fate {
	seg := &p.Segment
	key, ok := t.PacketKey(p)
	if !ok {
		return FateFresh
	}
	ts := seg.Timestamp
	jump := t.seen && t.idle > 0 && ts > t.now && uint64(ts-t.now) > uint64(t.idle)
	if t.pending && ts >= t.pendTS-t.idle {
		jump = false // ts confirms the pending jump: the clock moves on
		ts = max(ts, t.pendTS)
	}
	clock := max(t.now, ts)
	if jump {
		clock = t.now
	}
	if t.heldCount[key] > 0 {
		for i := t.heldHead; i < len(t.held); i++ {
			if h := &t.held[i]; !h.done && h.key == key {
				if clock-h.at > t.window && p.Kind == decode.KindTCP && isBareSYN(seg) {
					return FateNew // released first, a midstream attempt a SYN ends
				}
				return FateJoin
			}
		}
	}
	i, e := t.probe(&key)
	if i >= 0 {
		e = t.scratch(i, false) // unlisted: the open list's delay
	}
	if e == nil || clock-e.expTS > t.delay(e) {
		return FateFresh
	}
	if p.Kind == decode.KindTCP && e.m.StartsNewAttempt(seg, seg.Src == e.client()) {
		return FateNew
	}
	return FateJoin
}

// Finish emits key's open attempt now, as it stands.
func (t *Tracker) Finish(key FlowKey) {
	if i, e := t.probe(&key); i >= 0 {
		t.deferCompact(i)
	} else if e != nil {
		t.finish(e)
	}
}

// scratch returns slot i's attempt rebuilt into a new entry outside the
// table, with Zeek's view if zeek and the Tracker keeps it: for reading
// what a compact attempt holds without promoting it.
func (t *Tracker) scratch(i int32, zeek bool) *entry {
	e := new(entry)
	if zeek && t.conn {
		z := new(entryZ)
		e = &z.entry
		e.bits = eZeek
	}
	t.fill(i, e)
	return e
}
