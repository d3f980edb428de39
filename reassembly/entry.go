package reassembly

import (
	"net/netip"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// entry is a table slot: one open attempt.
type entry struct {
	key FlowKey
	// expTS is when the entry was last active for expiry: the time of its
	// last segment (Machine.LastTS), except for a refuted outlier (see
	// Time). The lists are ordered by it.
	expTS int64
	seq   uint64 // creation order
	stamp uint64 // insertion order into its list (see compact.go)
	file  int32  // the first segment's File
	// swap orients the canonical tunnel context as the client sends
	// (decode.Tunnel.Orient).
	swap       uint8
	bits       uint8  // eClientLo, eClosed, eZeek
	prev, next *entry // its list (nil when on none); next also links the free list
	m          handshake.Machine
}

// Bits of entry.bits.
const (
	eClientLo uint8 = 1 << iota // the client is the key's lo endpoint (else hi)
	eClosed                     // on the closed list (valid while listed)
	eZeek                       // the entry is that of an entryZ
)

// entryZ is an entry with Zeek's view of its attempt beside it: what the
// Tracker allocates unless Options.NoConnState. Its entry has eZeek and
// reaches the view as the field after it (view), so that the view costs an
// entry no pointer, and an entry without one (NoConnState) nothing.
type entryZ struct {
	entry
	zeek zeekView
}

// view returns e's Zeek view, nil if it has none.
func (e *entry) view() *zeekView {
	if e.bits&eZeek == 0 {
		return nil
	}
	// e is the first field of an entryZ: eZeek is set only there.
	return &(*entryZ)(unsafe.Pointer(e)).zeek
}

// client returns the attempt's client: one of its key's endpoints.
func (e *entry) client() netip.AddrPort {
	if e.bits&eClientLo != 0 {
		return e.key.lo
	}
	return e.key.hi
}

// setClient makes c, one of e.key's endpoints, the client.
func (e *entry) setClient(c netip.AddrPort) {
	e.bits &^= eClientLo
	if c == e.key.lo {
		e.bits |= eClientLo
	}
}

// listed reports whether e is on the open or the closed list.
func (e *entry) listed() bool { return e.prev != nil }

// zeekView is Zeek's view of an attempt, kept beside its entry only when
// something reads it.
type zeekView struct {
	conn  connstate.Conn // side A is client
	prior []connstate.Summary
}

// maxZeekRecords bounds the conn.log records of one attempt; past it the
// last record takes in the rest.
const maxZeekRecords = 16

// zeekAdd feeds seg to the attempt's Zeek view, first closing the record
// of a connection Zeek would have removed before seg.
func (e *entry) zeekAdd(seg *decode.Segment) {
	z := e.view()
	if z == nil {
		return
	}
	if len(z.prior) < maxZeekRecords-1 && z.conn.Expired(seg.Timestamp) {
		z.prior = append(z.prior, z.conn.Summary())
		z.conn = connstate.Conn{}
	}
	z.conn.Add(seg, seg.Src == e.client())
}

// list is an intrusive doubly-linked list of entries ordered by expTS
// around the sentinel root.
type list struct {
	root   entry
	delay  int64 // how long after expTS an entry of this list expires
	closed bool  // the closed list: its entries have eClosed
}

func (l *list) init(delay int64, closed bool) {
	l.root.next, l.root.prev, l.delay, l.closed = &l.root, &l.root, delay, closed
}

func (l *list) front() *entry {
	if l.root.next == &l.root {
		return nil
	}
	return l.root.next
}

// insert adds e in expTS order. It is O(1) for the usual newest entry;
// segments released from the reorder window (or a capture whose clock steps
// back) are older than the clock and walk back past the few newer entries.
func (l *list) insert(e *entry) {
	at := l.root.prev
	for at != &l.root && at.expTS > e.expTS {
		at = at.prev
	}
	e.prev, e.next = at, at.next
	at.next.prev, at.next = e, e
	e.bits &^= eClosed
	if l.closed {
		e.bits |= eClosed
	}
}

func (e *entry) unlink() {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	e.bits &^= eClosed
}

// delay is how long after its expTS e expires: that of the list it is on
// (the open list's when on none).
func (t *Tracker) delay(e *entry) int64 {
	if e.listed() && e.bits&eClosed != 0 {
		return t.closed.delay
	}
	return t.open.delay
}
