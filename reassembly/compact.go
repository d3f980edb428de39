package reassembly

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/decode"
)

// The compact tier: an attempt that so far saw only its client's SYN and
// retransmissions of it (a SYN flood, a scan, an unanswered connect) does
// not need a Machine yet. It lives in a fixed-size, pointer-free slot
// (cslot, 112 bytes) that keeps exactly what rebuilds its segments: the
// 4-tuple, the first SYN's fields, and the time, frame and TSval of each
// transmission. The first segment the slot cannot represent (a SYN-ACK, an
// RST, a SYN with other fields, an ICMP error, a fifth transmission) or
// anything that needs the Machine (emission, Snapshot, Fate) replays those
// segments, in the order they came, into a fresh Machine (and Zeek view):
// a promoted or emitted attempt is exactly what feeding them one by one
// would have built, since a Machine's state is a function of the segments
// fed to it.
//
// Only plain IPv4 traffic without tracing is compact; every other attempt
// starts as a full entry. Slots sit in chunks (a slab with a free list),
// found through an open-addressing index (index.go) that finds the full
// entries of plain IPv4 attempts too, and ordered for expiry on a list of
// their own that merges with the open list of full entries by (expTS,
// stamp): both lists are sorted that way, the stamp being the order of
// insertion, so the merged order is the one a single list would have.

// maxRetx is how many retransmissions a slot holds; the next promotes it.
const maxRetx = 3

// chunkBits sizes the slab's chunks (1024 slots).
const chunkBits = 10

// Bits of cslot.bits besides the transmission count (low 3 bits).
const cClientLo uint8 = 1 << 3 // the client is the key's lo endpoint

// cslot is one compact attempt. retx packs, per retransmission, its time
// after the first SYN in ns (40 bits: 18 minutes) and its frame after the
// first SYN's (24 bits).
type cslot struct {
	key        ckey
	prev, next int32 // expiry list, -1 at its ends; next links the free list
	isn        decode.Seq
	seq        uint64
	stamp      uint64
	firstTS    int64
	frame      uint64
	retx       [maxRetx]uint64
	tsval      [maxRetx + 1]uint32
	ipLen      uint16
	window     uint16
	mss        uint16
	flags      decode.Flags
	present    decode.OptionSet
	file       uint16
	ws         uint8
	checksum   decode.ChecksumState
	bits       uint8
}

// ckey is a plain IPv4 4-tuple in canonical order. Its addresses are
// uint32s, not [4]byte: Go returns a struct with arrays in memory, not in
// registers, and reading compactKey's result back with wider loads than
// the stores that wrote it defeats store-to-load forwarding, so that the
// load waits until the store buffer drains, behind the cache-missing
// stores of the segments before (with the by-pointer keys of Tracker.Add,
// 3.2-3.6 s → 2.6-2.7 s on the 2M SYN flood).
type ckey struct {
	lo, hi   uint32 // the addresses' 4 bytes, little-endian
	plo, phi uint16
}

// compactBytes is what a slot costs: the slot and its share of the index
// (an 8-byte cell at a load between 3/5 and 3/4: 10.7 to 13.3 bytes).
const compactBytes = int64(unsafe.Sizeof(cslot{})) + 12

func (k ckey) hash() uint64 {
	a := uint64(k.lo)<<32 | uint64(k.hi)
	return mix(a ^ mix(uint64(k.plo)<<16|uint64(k.phi)|1<<40))
}

// tag is the key's 32-bit hash in the index.
func (k ckey) tag() uint32 { return uint32(k.hash() >> 32) }

func (k ckey) flowKey() FlowKey {
	var lo, hi [4]byte
	binary.LittleEndian.PutUint32(lo[:], k.lo)
	binary.LittleEndian.PutUint32(hi[:], k.hi)
	return FlowKey{lo: netip.AddrPortFrom(netip.AddrFrom4(lo), k.plo), hi: netip.AddrPortFrom(netip.AddrFrom4(hi), k.phi)}
}

// compactKey returns key packed, ok only for plain IPv4 traffic.
func compactKey(key *FlowKey) (ckey, bool) {
	if key.tun != 0 || !key.lo.Addr().Is4() || !key.hi.Addr().Is4() {
		return ckey{}, false
	}
	lo, hi := key.lo.Addr().As4(), key.hi.Addr().As4()
	return ckey{lo: binary.LittleEndian.Uint32(lo[:]), hi: binary.LittleEndian.Uint32(hi[:]), plo: key.lo.Port(), phi: key.hi.Port()}, true
}

func (s *cslot) n() int { return int(s.bits & 7) }

func (s *cslot) client() netip.AddrPort {
	lo, hi := s.key.flowKey().Endpoints()
	if s.bits&cClientLo != 0 {
		return lo
	}
	return hi
}

// segment rebuilds transmission i (0: the first SYN).
func (s *cslot) segment(i int) decode.Segment {
	lo, hi := s.key.flowKey().Endpoints()
	src, dst := hi, lo
	if s.bits&cClientLo != 0 {
		src, dst = lo, hi
	}
	seg := decode.Segment{Timestamp: s.firstTS, Frame: s.frame, File: int(s.file), Src: src, Dst: dst, Seq: s.isn,
		Flags: s.flags, Window: s.window, IPLen: int(s.ipLen), Checksum: s.checksum,
		Options: decode.Options{Present: s.present, MSS: s.mss, WindowScale: s.ws, TSval: s.tsval[i]}}
	if i > 0 {
		r := s.retx[i-1]
		seg.Timestamp += int64(r >> 24)
		seg.Frame += r & (1<<24 - 1)
	}
	return seg
}

// lastTS is the time of the latest transmission; it is also the slot's
// expTS (an unstamped slot is promoted).
func (s *cslot) lastTS() int64 {
	ts := s.firstTS
	for i := range s.n() - 1 {
		ts = max(ts, s.firstTS+int64(s.retx[i]>>24))
	}
	return ts
}

// matches reports whether seg is the slot's transmission i rebuilt with
// seg's own time, frame and TSval: then the slot represents it exactly.
// Interface is not compared: neither the Machine nor connstate read it.
func (s *cslot) matches(seg *decode.Segment, i int) bool {
	want := s.segment(i)
	want.Timestamp, want.Frame, want.Options.TSval, want.Interface = seg.Timestamp, seg.Frame, seg.Options.TSval, seg.Interface
	return want == *seg
}

// compact is the Tracker's compact tier.
type compact struct {
	on         bool // Tracker without Trace (tests may turn it off)
	chunks     [][]cslot
	top        int32    // slots ever used
	free       int32    // head of the free list, -1 if empty
	n          int      // live slots
	index      []uint64 // cells (index.go)
	head, tail int32
	// The full entries of plain IPv4 attempts, found through the same
	// index (index.go); a nil element is free, on fullFree.
	full     []*entry
	fullFree []int32
	nfull    int
}

func (c *compact) init(on bool) {
	c.on, c.free, c.head, c.tail = on, -1, -1, -1
}

func (c *compact) slot(i int32) *cslot { return &c.chunks[i>>chunkBits][i&(1<<chunkBits-1)] }

// alloc returns a free slot for k, indexed, not yet listed.
func (c *compact) alloc(k ckey) int32 {
	c.reserve()
	i := c.free
	if i >= 0 {
		c.free = c.slot(i).next
	} else {
		i = c.top
		c.top++
		if int(i>>chunkBits) == len(c.chunks) {
			c.chunks = append(c.chunks, make([]cslot, 1<<chunkBits))
		}
	}
	*c.slot(i) = cslot{key: k}
	c.n++
	c.indexPut(cell(k.tag(), i))
	return i
}

// release unlists, unindexes and frees slot i.
func (c *compact) release(i int32) {
	s := c.slot(i)
	c.unlink(i)
	c.indexDelete(cell(s.key.tag(), i))
	s.next, s.bits = c.free, 0 // a free slot has no transmissions
	c.free = i
	c.n--
}

// reset frees every slot at once, keeping the chunks: for Flush, once it
// has emitted every attempt, so that the index holds only the slots'
// cells (Flush finished the full entries, which unindexed theirs;
// TestFlushReuse checks both tiers are empty after it).
func (c *compact) reset() {
	if c.n == 0 {
		return
	}
	clear(c.index)
	c.n, c.top, c.free, c.head, c.tail = 0, 0, -1, -1, -1
}

// bySeq returns the live slots packed as (seq - base) << 32 | slot number
// and sorted, that is in creation order, and base; ok is false when their
// seqs span 2³² or more. It reads the slab in order (a free slot has no
// transmissions), where walking the expiry list would miss the cache at
// nearly every slot of a large table.
func (c *compact) bySeq() (keys []uint64, base uint64, ok bool) {
	if c.n == 0 {
		return nil, 0, true
	}
	live := func(yield func(int32, *cslot) bool) {
		for i := int32(0); i < c.top; i++ {
			if s := c.slot(i); s.n() > 0 && !yield(i, s) {
				return
			}
		}
	}
	base, top := ^uint64(0), uint64(0)
	for _, s := range live {
		base, top = min(base, s.seq), max(top, s.seq)
	}
	if top-base >= 1<<32 {
		return nil, 0, false
	}
	keys = make([]uint64, 0, c.n)
	for i, s := range live {
		keys = append(keys, (s.seq-base)<<32|uint64(i))
	}
	slices.Sort(keys)
	return keys, base, true
}

func (c *compact) unlink(i int32) {
	s := c.slot(i)
	if s.prev >= 0 {
		c.slot(s.prev).next = s.next
	} else {
		c.head = s.next
	}
	if s.next >= 0 {
		c.slot(s.next).prev = s.prev
	} else {
		c.tail = s.prev
	}
	s.prev, s.next = -1, -1
}

// insert lists slot i in (expTS, stamp) order, as list.insert does.
func (c *compact) insert(i int32, stamp uint64) {
	s := c.slot(i)
	s.stamp = stamp
	exp := s.lastTS()
	at := c.tail
	for at >= 0 && c.slot(at).lastTS() > exp {
		at = c.slot(at).prev
	}
	s.prev = at
	if at >= 0 {
		s.next = c.slot(at).next
		c.slot(at).next = i
	} else {
		s.next = c.head
		c.head = i
	}
	if s.next >= 0 {
		c.slot(s.next).prev = i
	} else {
		c.tail = i
	}
}

// startCompact starts key's attempt with seg in a slot if it can be one.
func (t *Tracker) startCompact(key *FlowKey, seg *decode.Segment) bool {
	if !t.cmp.on || seg.Flags&(decode.SYN|decode.ACK|decode.FIN|decode.RST) != decode.SYN || seg.Src == seg.Dst ||
		seg.File < 0 || seg.File > 0xffff || seg.IPLen < 0 || seg.IPLen > 0xffff {
		return false
	}
	k, ok := compactKey(key)
	if !ok {
		return false
	}
	s := cslot{key: k, firstTS: seg.Timestamp, frame: seg.Frame, isn: seg.Seq, ipLen: uint16(seg.IPLen), window: seg.Window,
		mss: seg.Options.MSS, flags: seg.Flags, present: seg.Options.Present, file: uint16(seg.File), ws: seg.Options.WindowScale,
		checksum: seg.Checksum, bits: 1}
	s.tsval[0] = seg.Options.TSval
	if key.lo == seg.Src {
		s.bits |= cClientLo
	}
	if !s.matches(seg, 0) {
		return false
	}
	t.makeRoom(seg, compactBytes)
	i := t.cmp.alloc(k)
	t.seq++
	s.seq = t.seq
	*t.cmp.slot(i) = s
	t.cmp.insert(i, t.nextStamp())
	t.early.used += compactBytes
	return true
}

// retransmit records seg in slot i if it is a retransmission the slot can
// represent, and moves the slot to its place as touch does.
func (t *Tracker) retransmit(i int32, seg *decode.Segment) bool {
	s := t.cmp.slot(i)
	n := s.n()
	if n > maxRetx {
		return false
	}
	dt, df := seg.Timestamp-s.firstTS, seg.Frame-s.frame
	if dt < 0 || dt >= 1<<40 || seg.Frame < s.frame || df >= 1<<24 {
		return false
	}
	s.retx[n-1] = uint64(dt)<<24 | df
	if !s.matches(seg, n) {
		return false
	}
	s.tsval[n] = seg.Options.TSval
	s.bits++
	t.cmp.unlink(i)
	t.cmp.insert(i, t.nextStamp())
	return true
}

// fill rebuilds into e (fresh, unlisted) the attempt of slot i by
// replaying its segments, with Zeek's view if e has one.
func (t *Tracker) fill(i int32, e *entry) { t.cmp.slot(i).fill(e) }

// fill rebuilds the slot's attempt in e, replaying its SYNs.
func (s *cslot) fill(e *entry) {
	e.key = s.key.flowKey()
	e.setClient(s.client())
	e.expTS = s.lastTS() // as the Machine's LastTS after the replay
	e.seq, e.stamp, e.file = s.seq, s.stamp, int32(s.file)
	for j := range s.n() {
		seg := s.segment(j)
		e.m.Step(&seg, true)
		e.zeekAdd(&seg)
	}
}

// promote turns slot i into a full entry in the table, unlisted: the
// caller feeds it a segment (which places it) or places it.
func (t *Tracker) promote(i int32) *entry {
	e := t.newEntry()
	t.fill(i, e)
	t.cmp.promote(i, e)
	t.early.used += attemptCost(t.conn) - compactBytes
	return e
}

// lookup returns key's attempt as a full entry, promoting a compact one,
// or nil.
func (t *Tracker) lookup(key FlowKey) *entry {
	i, e := t.probe(&key)
	if i >= 0 {
		return t.promote(i)
	}
	return e
}

// exists reports whether key has an open attempt, in either tier.
func (t *Tracker) exists(key FlowKey) bool {
	i, e := t.probe(&key)
	return i >= 0 || e != nil
}

// nextStamp numbers insertions into the expiry lists.
func (t *Tracker) nextStamp() uint64 {
	t.stamp++
	return t.stamp
}
