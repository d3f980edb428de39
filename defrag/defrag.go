// Package defrag reassembles IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5)
// fragments into whole datagrams, between decode (which hands out each
// fragment as decode.KindFragment) and reassembly. It holds state across
// packets, so it is its own package: decode stays stateless.
//
// # Identity
//
// A datagram is identified as the RFCs say, plus the tunnel context the
// fragments came in: source, destination, identification and, for IPv4,
// the protocol. Fragments may arrive in any order and more than once.
//
// # Limits and time
//
// Time is capture time: a datagram not completed within Options.Timeout4
// (IPv4, default 30 s as Linux's net.ipv4.ipfrag_time) or Timeout6 (IPv6,
// default 60 s as net.ipv6.ip6frag_time and RFC 8200 §4.5) of its first
// fragment is given up. Buffered bytes are bounded by Options.MaxBytes
// (default 4 MiB, Linux's ipfrag_high_thresh), counting a fixed overhead per
// fragment so that empty fragments cost memory too: past it, the oldest
// datagrams are given up. A datagram of more than Options.MaxFragments
// fragments (default 256; a 64 KiB datagram over a 576-byte MTU needs
// 120) is given up, and a fragment reaching past 65535 bytes (the "ping of
// death") is refused. Given-up datagrams and refused fragments are counted
// (Stats), never decoded as partial segments.
//
// # Overlaps
//
// Where fragments overlap, the bytes captured first are kept (a later
// fragment only fills gaps), whatever the IP version: RFC 5722 tells IPv6
// hosts to drop such datagrams and hosts differ for IPv4, so no policy
// matches every receiver; hsanalyze keeps the datagram to judge the
// handshake and flags it. Overlapping bytes that differ, or a second last
// fragment that ends elsewhere, set Datagram.Overlap (the evasion of RFC
// 1858 §4 and of Ptacek and Newsham); exact duplicates do not. A TCP
// datagram whose first fragment does not hold the whole TCP header (RFC
// 1858 §3, tiny fragments) sets Datagram.Tiny.
//
// # Snap length
//
// A fragment cut by the snap length still counts with its on-wire length:
// the datagram completes, and its payload holds the captured bytes up to
// the first byte not captured, with Datagram.Wire the datagram's length on
// the wire, as decode expects of a cut packet.
package defrag

import (
	"net/netip"
	"slices"
	"time"

	"github.com/hsanalyze/hsanalyze/decode"
)

// Defaults of Options, used for a zero field.
const (
	DefaultTimeout4     = 30 * time.Second
	DefaultTimeout6     = 60 * time.Second
	DefaultMaxBytes     = 4 << 20
	DefaultMaxFragments = 256
)

// pieceOverhead is what one buffered fragment is charged beyond its bytes.
const pieceOverhead = 64

// maxDatagram is the largest payload offset + length a fragment may reach.
const maxDatagram = 65535

// Options tunes a Defragmenter. The zero Options uses the defaults.
type Options struct {
	// Timeout4 and Timeout6 give up an IPv4 or IPv6 datagram this long
	// after its first fragment (DefaultTimeout4, DefaultTimeout6 if 0).
	Timeout4, Timeout6 time.Duration
	// MaxBytes bounds the bytes buffered (DefaultMaxBytes if 0).
	MaxBytes int
	// MaxFragments bounds the fragments of one datagram
	// (DefaultMaxFragments if 0).
	MaxFragments int
}

// Stats counts what a Defragmenter did.
type Stats struct {
	// Fragments is the number of fragments added.
	Fragments uint64
	// Reassembled is the number of datagrams completed.
	Reassembled uint64
	// Incomplete is the number of datagrams given up: timed out, evicted
	// to stay within MaxBytes (Evicted of them), past MaxFragments, or
	// still incomplete at Flush.
	Incomplete uint64
	// Evicted counts the Incomplete datagrams given up for memory.
	Evicted uint64
	// IncompleteFragments is the number of fragments never part of a
	// completed datagram: those of the Incomplete datagrams and those
	// refused for reaching past 65535 bytes.
	IncompleteFragments uint64
	// Overlaps and Tiny count completed datagrams with Datagram.Overlap
	// and Datagram.Tiny set.
	Overlaps, Tiny uint64
}

// Datagram is a reassembled datagram. It is valid until the next call on
// the Defragmenter.
type Datagram struct {
	// First is the fragment at offset 0: addresses, protocol, version.
	First decode.Fragment
	// Tunnel is the tunnel context of the fragments.
	Tunnel *decode.Tunnel
	// Payload is what was captured of the datagram's payload (IPv6: its
	// fragmentable part), from its start; Wire is its length on the wire.
	Payload []byte
	Wire    int
	// Fragments is the number of fragments added for it, duplicates too.
	Fragments int
	// Overlap says overlapping fragments carried different bytes (the
	// first captured were kept) or disagreed on the end.
	Overlap bool
	// Tiny says the datagram is TCP and its first fragment does not hold
	// the whole TCP header (RFC 1858 §3).
	Tiny bool
}

// key identifies a datagram: RFC 791 §3.2 (IPv4: source, destination,
// protocol, identification) and RFC 8200 §4.5 (IPv6: source, destination,
// identification), within a tunnel context.
type key struct {
	tun      decode.Tunnel
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4 only
	v6       bool
}

// piece is a run of the datagram: [off, off+wire) on the wire, data what
// was captured of its start.
type piece struct {
	off, wire int
	data      []byte
}

type datagram struct {
	key        key
	created    int64 // the clock at its first fragment
	deadline   int64
	pieces     []piece // sorted by off, not overlapping
	total      int     // payload length; -1 until the last fragment
	first      decode.Fragment
	hasFirst   bool
	firstWire  int // wire length of the fragment at offset 0
	firstData  []byte
	bytes      int // charged against MaxBytes
	frags      int
	overlap    bool
	prev, next *datagram // in the Defragmenter's list, oldest first
}

// Defragmenter reassembles fragments. Create it with New; it is not safe
// for concurrent use.
type Defragmenter struct {
	timeout4, timeout6 int64
	maxBytes, maxFrags int
	table              map[key]*datagram
	// lists[0] (IPv4) and lists[1] (IPv6) hold the datagrams in the order
	// of their first fragment around a sentinel: with one timeout per
	// list, the head (root.next) is the first to expire.
	lists [2]datagram
	now   int64
	bytes int
	stats Stats
	out   []byte
	dg    Datagram
}

// New returns a Defragmenter with the given options.
func New(opts Options) *Defragmenter {
	pick := func(v, def time.Duration) int64 {
		if v <= 0 {
			return int64(def)
		}
		return int64(v)
	}
	d := &Defragmenter{
		timeout4: pick(opts.Timeout4, DefaultTimeout4),
		timeout6: pick(opts.Timeout6, DefaultTimeout6),
		maxBytes: opts.MaxBytes,
		maxFrags: opts.MaxFragments,
		table:    make(map[key]*datagram),
	}
	if d.maxBytes <= 0 {
		d.maxBytes = DefaultMaxBytes
	}
	if d.maxFrags <= 0 {
		d.maxFrags = DefaultMaxFragments
	}
	for i := range d.lists {
		r := &d.lists[i]
		r.prev, r.next = r, r
	}
	return d
}

// list returns the sentinel of the list for an IPv6 (v6) or IPv4 datagram.
func (d *Defragmenter) list(v6 bool) *datagram {
	if v6 {
		return &d.lists[1]
	}
	return &d.lists[0]
}

// oldest returns the datagram whose first fragment came first, other than
// skip, or nil.
func (d *Defragmenter) oldest(skip *datagram) *datagram {
	var best *datagram
	for i := range d.lists {
		r := &d.lists[i]
		g := r.next
		if g == skip {
			g = g.next
		}
		if g != r && (best == nil || g.created < best.created) {
			best = g
		}
	}
	return best
}

// Stats returns the counts so far.
func (d *Defragmenter) Stats() Stats { return d.stats }

// Pending returns the number of datagrams waiting for fragments.
func (d *Defragmenter) Pending() int { return len(d.table) }

// Advance moves the capture clock to ts (it never moves back) and gives up
// the datagrams whose timeout passed.
func (d *Defragmenter) Advance(ts int64) {
	if ts <= d.now {
		return
	}
	d.now = ts
	for i := range d.lists {
		r := &d.lists[i]
		for r.next != r && r.next.deadline < d.now {
			d.giveUp(r.next)
		}
	}
}

// Flush gives up every datagram still waiting: call it at the end of the
// input.
func (d *Defragmenter) Flush() {
	for i := range d.lists {
		r := &d.lists[i]
		for r.next != r {
			d.giveUp(r.next)
		}
	}
}

// Add adds a fragment seen at capture time ts: f describes it, data is
// what was captured of its payload (copied; len(data) ≤ f.Wire), tun is
// its tunnel context. It returns the datagram it completes, or nil.
func (d *Defragmenter) Add(ts int64, f *decode.Fragment, tun *decode.Tunnel, data []byte) *Datagram {
	d.Advance(ts)
	d.stats.Fragments++
	if len(data) > f.Wire {
		data = data[:f.Wire]
	}
	if f.Offset+f.Wire > maxDatagram {
		d.stats.IncompleteFragments++
		return nil
	}
	k := key{tun: *tun, src: f.Src, dst: f.Dst, id: f.ID, v6: f.V6}
	if !f.V6 {
		k.proto = f.Proto
	}
	g := d.table[k]
	if g == nil {
		// Advance made d.now ≥ ts: a capture stepping back in time
		// does not shorten the timeout.
		g = &datagram{key: k, total: -1, created: d.now, deadline: d.now + d.timeout4}
		if f.V6 {
			g.deadline = d.now + d.timeout6
		}
		d.table[k] = g
		r := d.list(f.V6)
		g.prev, g.next = r.prev, r
		r.prev.next, r.prev = g, g
	}
	g.frags++
	if g.frags > d.maxFrags {
		d.giveUp(g)
		return nil
	}
	d.place(g, f, data)
	if !d.complete(g) {
		d.evict(g)
		return nil
	}
	dg := d.build(g)
	d.remove(g)
	d.stats.Reassembled++
	if dg.Overlap {
		d.stats.Overlaps++
	}
	if dg.Tiny {
		d.stats.Tiny++
	}
	return dg
}

// place merges a fragment into g: it fills gaps only (first captured
// wins) and notes differing overlaps.
func (d *Defragmenter) place(g *datagram, f *decode.Fragment, data []byte) {
	off, end := f.Offset, f.Offset+f.Wire
	if !f.More {
		switch {
		case g.total < 0:
			g.total = end
		case g.total != end:
			g.overlap = true // a second last fragment ending elsewhere
		}
	}
	if g.total >= 0 && end > g.total {
		g.overlap = true // data past the end
	}
	if off == 0 && !g.hasFirst {
		g.first, g.hasFirst, g.firstWire = *f, true, f.Wire
	}
	cur := off
	var gaps [][2]int
	for _, p := range g.pieces {
		pEnd := p.off + p.wire
		if pEnd <= cur || p.off >= end {
			continue
		}
		if p.off > cur {
			gaps = append(gaps, [2]int{cur, p.off})
		}
		// Compare the bytes both captured in the overlap.
		lo, hi := max(cur, p.off), min(end, pEnd, p.off+len(p.data), off+len(data))
		for i := lo; i < hi; i++ {
			if data[i-off] != p.data[i-p.off] {
				g.overlap = true
				break
			}
		}
		cur = max(cur, pEnd)
	}
	if cur < end {
		gaps = append(gaps, [2]int{cur, end})
	}
	for _, gp := range gaps {
		var b []byte
		if lo, hi := gp[0]-off, min(gp[1]-off, len(data)); lo < hi {
			b = slices.Clone(data[lo:hi])
		}
		g.pieces = append(g.pieces, piece{off: gp[0], wire: gp[1] - gp[0], data: b})
		g.bytes += len(b) + pieceOverhead
		d.bytes += len(b) + pieceOverhead
	}
	if len(gaps) > 0 {
		slices.SortFunc(g.pieces, func(a, b piece) int { return a.off - b.off })
	}
	if off == 0 && g.firstData == nil && len(g.pieces) > 0 && g.pieces[0].off == 0 {
		g.firstData = g.pieces[0].data
	}
}

// complete reports whether g's pieces cover its whole payload.
func (d *Defragmenter) complete(g *datagram) bool {
	if g.total < 0 || !g.hasFirst {
		return false
	}
	at := 0
	for _, p := range g.pieces {
		if p.off > at {
			return false
		}
		at = max(at, p.off+p.wire)
	}
	return at >= g.total
}

// build assembles g's payload into d.out.
func (d *Defragmenter) build(g *datagram) *Datagram {
	d.out = d.out[:0]
	captured := true
	for _, p := range g.pieces {
		if p.off >= g.total {
			break
		}
		if !captured {
			break
		}
		n := min(len(p.data), g.total-p.off)
		d.out = append(d.out, p.data[:n]...)
		captured = len(p.data) == p.wire
	}
	d.dg = Datagram{
		First: g.first, Tunnel: &g.key.tun, Payload: d.out, Wire: g.total,
		Fragments: g.frags, Overlap: g.overlap, Tiny: tiny(g),
	}
	return &d.dg
}

// tiny reports whether g is TCP and its first fragment does not hold the
// whole TCP header: 20 bytes, or the data offset if the first fragment
// shows it.
func tiny(g *datagram) bool {
	if g.first.Proto != 6 {
		return false
	}
	hdr := 20
	if len(g.firstData) > 12 {
		hdr = max(hdr, int(g.firstData[12]>>4)*4)
	}
	return g.firstWire < hdr
}

// evict gives up the oldest datagrams other than keep while over MaxBytes,
// then keep itself if still over.
func (d *Defragmenter) evict(keep *datagram) {
	for d.bytes > d.maxBytes {
		g := d.oldest(keep)
		if g == nil {
			g = keep
		}
		d.stats.Evicted++
		d.giveUp(g)
		if g == keep {
			return
		}
	}
}

// giveUp drops an incomplete datagram and counts it.
func (d *Defragmenter) giveUp(g *datagram) {
	d.stats.Incomplete++
	d.stats.IncompleteFragments += uint64(g.frags)
	d.remove(g)
}

func (d *Defragmenter) remove(g *datagram) {
	delete(d.table, g.key)
	g.prev.next, g.next.prev = g.next, g.prev
	g.prev, g.next = nil, nil
	d.bytes -= g.bytes
}
