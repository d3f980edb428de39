package reassembly

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// Early decisions: Options.MaxMemory bounds the attempt table. A SYN flood
// or a scan opens attempts at the attacker's rate, and each unanswered one
// stays until IdleTimeout; without a bound, memory would follow that rate.
//
// When a new attempt would take the table past its bound, the attempt
// least recently active on the capture clock (the one that would expire
// next: the older head of the open and closed lists, ties to the one
// created first) is decided early: emitted at once with what it has seen,
// its verdict judged as at expiry (a SYN-only attempt is half_open either
// way), carrying the informational anomaly decided_early whose frame is the
// segment that needed the room. The choice depends only on the input, so
// the same input and options give the same output.
//
// An early-decided attempt leaves a tombstone: its 4-tuple's hash and
// client ISN, until it would have expired (IdleTimeout after its last
// segment; CloseLinger once closed). A later segment of that 4-tuple is
// absorbed by the tombstone instead of starting a second, wrong attempt (a
// SYN retransmission would be a second half_open, a SYN-ACK a midstream):
// it is counted (EarlyStats.Absorbed) and extends the tombstone as it
// would have extended the attempt. A SYN with another ISN is a new attempt,
// as it would have been; it replaces the tombstone. An ICMP error quoting
// such a segment is ignored, as for any 4-tuple without an attempt.
//
// Attempts are charged what they cost: a compact SYN-only attempt
// compactBytes (compact.go), a full one attemptCost (more with Zeek's
// view). A new attempt decides as many of the least recently active ones
// early as its own cost needs; a compact attempt promoted to a full one
// takes its extra cost from the room the next new attempt makes.
//
// Tombstones are bounded too, by a quarter of MaxMemory (about 90 bytes of
// table each): past that, the oldest one is
// dropped (EarlyStats.TombstonesDropped), and a segment of its attempt
// arriving later is treated as new traffic. A 4-tuple is identified by a
// 64-bit hash: two 4-tuples sharing one (probability about n²/2⁶⁵ for n
// tombstones) would share the tombstone.

// DefaultMaxMemory is the bound the command uses unless told otherwise:
// about 910,000 open SYN-only attempts or 350,000 full ones (170,000 with
// Zeek's view), and 430,000 tombstones. With the soft memory limit the
// command sets from it, a default run on a SYN flood of any size and rate
// stays near 230 MiB of RSS, and the 7,300-a-second floods of
// scripts/bench (about 850,000 attempts open at once) fit without an
// early decision.
const DefaultMaxMemory = 144 << 20

// EarlyStats counts what the memory bound did.
type EarlyStats struct {
	// Decided is the number of attempts decided early.
	Decided uint64
	// Absorbed is the number of later segments of early-decided attempts
	// absorbed by their tombstones.
	Absorbed uint64
	// TombstonesDropped counts tombstones dropped at their bound.
	TombstonesDropped uint64
	// MaxAttempts is the most attempts the table held when one had to be
	// decided early (0 if none was): what MaxMemory held, compact and
	// full attempts together (compact.go).
	MaxAttempts int
}

// Memory costs by which MaxMemory is divided: an attempt is its entry plus
// its table slot (hash and pointer, at most half full after a growth), and
// its Zeek view unless Options.NoConnState (a compact attempt costs
// compactBytes); a tombstone its tombTable slot (at most 3/4 full, half
// after a growth) plus its queue record. BenchmarkAttemptMemory reports
// the live heap they actually take.
const (
	attemptBytes = int64(unsafe.Sizeof(entry{})) + 2*int64(8+8)
	zeekBytes    = int64(unsafe.Sizeof(zeekView{}))
	tombBytes    = 2*int64(unsafe.Sizeof(tombSlot{})) + int64(unsafe.Sizeof(tombRec{}))
)

// attemptCost is the memory one attempt costs, with or without its Zeek
// view.
func attemptCost(conn bool) int64 {
	if conn {
		return attemptBytes + zeekBytes
	}
	return attemptBytes
}

// tomb is what an early-decided attempt leaves behind.
type tomb struct {
	exp    int64  // capture time past which it is gone
	gen    uint32 // matches its live queue record
	isn    uint32 // client ISN, valid iff hasISN
	hasISN bool
	closed bool // the attempt was closed: later segments extend by CloseLinger
	live   bool // a used slot of tombTable
}

// tombRec is a queue record: tombstones in roughly the order they expire.
type tombRec struct {
	h   uint64
	exp int64
	gen uint32
}

// early is the Tracker's memory bound state.
type early struct {
	budget, used int64 // bytes for attempts (0: unlimited) and in use
	maxTombs     int
	tombs        tombTable
	queue        []tombRec
	qhead        int
	gen          uint32
	stats        EarlyStats
	by           *decode.Segment // set while decideEarly finishes an attempt
}

func (t *Tracker) initEarly(maxMemory int64) {
	if maxMemory <= 0 {
		return
	}
	t.early.budget = max(1, maxMemory*3/4)
	t.early.maxTombs = int(max(1, maxMemory/4/tombBytes))
}

// Early returns what the memory bound did so far.
func (t *Tracker) Early() EarlyStats { return t.early.stats }

// makeRoom decides the least recently active attempts early until an
// attempt of cost bytes fits; seg is the segment that needs the room.
func (t *Tracker) makeRoom(seg *decode.Segment, cost int64) {
	for t.early.budget > 0 && t.early.used+cost > t.early.budget {
		o, c := t.oldestOpen(), t.closed.front()
		if !o.ok && c == nil {
			return
		}
		t.early.stats.MaxAttempts = max(t.early.stats.MaxAttempts, t.Open())
		t.early.by = seg
		if !o.ok || c != nil && (c.expTS < o.expTS || c.expTS == o.expTS && c.seq < o.seq) {
			t.finish(c)
		} else {
			t.finishOpen(o)
		}
		t.early.by = nil
	}
}

// earlyDecided is called by finish for an attempt decided early, of key,
// last active at expTS, with the client's ISN if hasISN, closed or not: it
// records the tombstone and returns the anomaly the Flow carries.
func (t *Tracker) earlyDecided(key FlowKey, expTS int64, isn decode.Seq, hasISN, closed bool) handshake.Anomaly {
	t.early.stats.Decided++
	tb := tomb{isn: uint32(isn), hasISN: hasISN, closed: closed}
	tb.exp = expTS + t.idle
	if tb.closed {
		tb.exp = expTS + t.linger
	}
	t.addTomb(hashKey(&key), tb)
	by := t.early.by
	return handshake.Anomaly{Code: handshake.DecidedEarly, Frame: by.Frame, File: by.File}
}

func (t *Tracker) addTomb(h uint64, tb tomb) {
	for t.early.tombs.len() >= t.early.maxTombs && t.early.qhead < len(t.early.queue) {
		q := t.early.queue[t.early.qhead]
		t.early.qhead++
		if cur := t.early.tombs.get(q.h); cur != nil && cur.gen == q.gen {
			t.early.tombs.del(q.h)
			t.early.stats.TombstonesDropped++
		}
	}
	t.early.gen++
	tb.gen = t.early.gen
	t.early.tombs.put(h, tb)
	t.early.queue = append(t.early.queue, tombRec{h: h, exp: tb.exp, gen: tb.gen})
}

// absorb reports whether seg, of a 4-tuple without an attempt, belongs to
// an early-decided attempt; it then counts it and extends the tombstone.
func (t *Tracker) absorb(key *FlowKey, seg *decode.Segment) bool {
	if t.early.tombs.len() == 0 {
		return false
	}
	h := hashKey(key)
	tb := t.early.tombs.get(h)
	if tb == nil {
		return false
	}
	if seg.Timestamp > tb.exp || isBareSYN(seg) && !(tb.hasISN && uint32(seg.Seq) == tb.isn) {
		// The attempt would have expired by then (a clock jump not yet
		// confirmed), or this SYN starts a new one: the tombstone goes,
		// its queue record stale.
		t.early.tombs.del(h)
		return false
	}
	t.early.stats.Absorbed++
	d := t.idle
	if tb.closed {
		d = t.linger
	}
	tb.exp = max(tb.exp, seg.Timestamp+d)
	return true
}

// expireTombs drops the tombstones whose attempts would have expired by
// now. A record whose tombstone was extended goes back in the queue.
func (t *Tracker) expireTombs() {
	e := &t.early
	for e.qhead < len(e.queue) {
		q := e.queue[e.qhead]
		if q.exp >= t.now {
			break
		}
		e.qhead++
		cur := e.tombs.get(q.h)
		switch {
		case cur == nil || cur.gen != q.gen:
		case cur.exp > q.exp:
			e.queue = append(e.queue, tombRec{h: q.h, exp: cur.exp, gen: cur.gen})
		default:
			e.tombs.del(q.h)
		}
	}
	e.queue, e.qhead = compactQueue(e.queue, e.qhead)
}

// hashKey is a deterministic 64-bit hash of a FlowKey (not maphash, whose
// seed is random per process).
func hashKey(k *FlowKey) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, ap := range [2]netip.AddrPort{k.lo, k.hi} {
		a := ap.Addr().As16()
		extra := uint64(ap.Port())
		if ap.Addr().Is4() {
			extra |= 1 << 16
		}
		h = mix(h ^ binary.BigEndian.Uint64(a[:8]))
		h = mix(h ^ binary.BigEndian.Uint64(a[8:]))
		h = mix(h ^ extra)
	}
	return mix(h ^ k.tun)
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
