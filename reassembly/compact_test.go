package reassembly

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/decode"
)

// tierRun feeds pkts to a Tracker with the compact tier on or off and
// returns its flows, and after every packet its Fate of the next packet and
// Open, as text, and (every snapEvery packets) Snapshot, compared with
// reflect.DeepEqual (a Machine points to what it keeps out of line).
func tierRun(t testing.TB, opts Options, pkts []*decode.Packet, on bool, snapEvery int) (flows []*Flow, trail []any, slots int32) {
	t.Helper()
	tr := New(opts, func(f *Flow) { flows = append(flows, keep(f)) })
	tr.cmp.on = on
	for i, p := range pkts {
		q := *p
		trail = append(trail, fmt.Sprintf("fate %d open %d", tr.Fate(&q), tr.Open()))
		if snapEvery > 0 && i%snapEvery == 0 {
			trail = append(trail, *tr.Snapshot())
		}
		tr.Add(&q)
	}
	slots = tr.cmp.top
	tr.Flush()
	if tr.Open() != 0 || tr.cmp.n != 0 || tr.early.used != 0 {
		t.Fatalf("after Flush: %d open, %d slots, %d bytes in use", tr.Open(), tr.cmp.n, tr.early.used)
	}
	return flows, trail, slots
}

// checkTiers fails unless the compact tier changes nothing: the same
// flows, fates, open counts and snapshots as full entries only. It
// returns the flows and how many slots the compact tier used at most.
func checkTiers(t testing.TB, opts Options, pkts []*decode.Packet, snapEvery int) ([]*Flow, int32) {
	t.Helper()
	want, wantTrail, _ := tierRun(t, opts, pkts, false, snapEvery)
	got, gotTrail, slots := tierRun(t, opts, pkts, true, snapEvery)
	if len(got) != len(want) {
		t.Fatalf("%d flows with the compact tier, %d without", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("flow %d differs:\ncompact %+v\n   full %+v", i, got[i], want[i])
		}
	}
	for i := range wantTrail {
		if !reflect.DeepEqual(gotTrail[i], wantTrail[i]) {
			t.Fatalf("before packet %d:\ncompact %+v\n   full %+v", i, gotTrail[i], wantTrail[i])
		}
	}
	return got, slots
}

// synOpts returns a SYN with options as Linux sends them and TSval ts.
func synOpts(p *decode.Packet, ts uint32) *decode.Packet {
	p.Segment.Options = decode.Options{Present: decode.OptMSS | decode.OptWindowScale | decode.OptSACKPermitted | decode.OptTimestamps,
		MSS: 1460, WindowScale: 7, TSval: ts}
	p.Segment.Window = 64240
	p.Segment.IPLen = 60
	return p
}

// randomSYNs builds n attempts that begin with SYNs and retransmissions:
// the shapes a flood, a scan and ordinary connects give, and the
// segments that promote a compact attempt (a SYN-ACK echoing one of the
// SYNs, an RST, a SYN that differs, a fifth transmission, an ICMP error,
// a new ISN).
func randomSYNs(r *rand.Rand, n int) []*decode.Packet {
	var all []*decode.Packet
	for i := range n {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), uint16(1024+r.IntN(8)))
		b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(r.IntN(3))}), 80)
		if r.IntN(10) == 0 {
			a = netip.AddrPortFrom(netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1)), 40000)
			b = netip.MustParseAddrPort("[2001:db8::ffff]:443")
		}
		t := int64(r.IntN(2000)) * ms
		isn := r.Uint32()
		tsv := r.Uint32()
		var ps []*decode.Packet
		for k := range 1 + r.IntN(6) {
			p := synOpts(pkt(a, b, t, fSYN, isn, 0, 0), tsv+uint32(k)*1000)
			switch r.IntN(12) {
			case 0:
				p.Segment.Window = 29200 // a SYN that differs: promotes
			case 1:
				p.Segment.Options.TSval = tsv // the same TSval again
			case 2:
				p.Segment.Checksum = decode.ChecksumBad
			case 3:
				p.Segment.Options.Present &^= decode.OptTimestamps
			}
			ps = append(ps, p)
			t += int64(1+r.IntN(3000)) * ms
		}
		switch r.IntN(7) {
		case 0: // answered, echoing one of the SYNs
			sa := synOpts(pkt(b, a, t, fSYNACK, 7777, isn+1, 0), 99)
			sa.Segment.Options.TSecr = ps[r.IntN(len(ps))].Segment.Options.TSval
			ps = append(ps, sa, pkt(a, b, t+ms, fACK, isn+1, 7778, 0))
		case 1: // refused
			ps = append(ps, pkt(b, a, t, fRSTACK, 0, isn+1, 0))
		case 2: // an ICMP error quoting the SYN
			ps = append(ps, &decode.Packet{Kind: decode.KindICMPError, ICMP: decode.ICMPError{Type: 3, Code: 1, From: b.Addr()},
				Segment: decode.Segment{Timestamp: base + t, Src: a, Dst: b, Seq: decode.Seq(isn), Flags: fSYN}})
		case 3: // the client tries again with a new ISN
			ps = append(ps, synOpts(pkt(a, b, t, fSYN, isn+12345, 0, 0), tsv+50000))
		}
		all = append(all, ps...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Segment.Timestamp < all[j].Segment.Timestamp })
	for i, p := range all {
		p.Segment.Frame = uint64(i + 1)
	}
	return all
}

func TestCompactTierExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pkts := randomSYNs(r, 2000)
	for _, opts := range []Options{{}, {IdleTimeout: 3 * time.Second}, {IdleTimeout: 3 * time.Second, NoConnState: true}} {
		flows, slots := checkTiers(t, opts, pkts, 1499)
		if len(flows) < 2000 || slots < 100 {
			t.Errorf("%d flows, %d slots", len(flows), slots)
		}
	}
	// The interleaved 200-flow mix, where compact attempts are promoted
	// by every kind of segment.
	gens := mixGens(rand.New(rand.NewPCG(1, 2)))
	if _, slots := checkTiers(t, Options{IdleTimeout: 5 * time.Second}, interleave(gens), 37); slots == 0 {
		t.Error("no attempt of the mix was compact")
	}
}

// TestCompactSlotSize holds the slot to its budget: 112 bytes, 124 with
// its share of the index, under the 128 bytes a SYN-only attempt may
// cost.
func TestCompactSlotSize(t *testing.T) {
	if s := unsafe.Sizeof(cslot{}); s > 112 || compactBytes > 128 {
		t.Errorf("cslot is %d bytes, %d with the index", s, compactBytes)
	}
}

// TestCompactIndex checks the slot index against a Go map through a churn
// of allocations and releases, across many growths of a table whose size
// is not a power of two (homes wrap at its end), where backward-shift
// deletion by tag has the most to get wrong.
func TestCompactIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var c compact
	c.init(true)
	ref := map[ckey]int32{}
	key := func() ckey {
		n := r.IntN(30000)
		return ckey{lo: le4(10, 0, byte(n>>8), byte(n)), hi: le4(192, 0, 2, 1), plo: uint16(n % 7), phi: 80}
	}
	for i := range 300000 {
		k := key()
		got := slotOf(&c, k)
		want, ok := ref[k]
		if !ok {
			want = -1
		}
		if got != want {
			t.Fatalf("step %d: slot of %v = %d, want %d", i, k, got, want)
		}
		switch {
		case got < 0 && (i < 150000 || r.IntN(2) == 0):
			j := c.alloc(k)
			c.insert(j, uint64(i))
			ref[k] = j
		case got >= 0:
			c.release(got)
			delete(ref, k)
		}
		if c.n != len(ref) {
			t.Fatalf("step %d: %d slots, want %d", i, c.n, len(ref))
		}
		if i%10000 == 0 {
			for k, want := range ref {
				if got := slotOf(&c, k); got != want {
					t.Fatalf("step %d: slot of %v = %d, want %d", i, k, got, want)
				}
			}
		}
	}
	if len(c.index)&(len(c.index)-1) == 0 {
		t.Errorf("index of %d cells: the test should cover a size that is not a power of two", len(c.index))
	}
}

// TestIndexTiers checks the index when it holds both tiers: compact slots
// and full entries are added, promoted in place, released and deleted at
// random against a Go map, through growths, and probe and the tier
// counts must agree with it at every step.
func TestIndexTiers(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var c compact
	c.init(true)
	type attempt struct {
		slot int32 // -1: a full entry
		e    *entry
	}
	ref := map[ckey]attempt{}
	nslots := 0
	for i := range 300000 {
		n := r.IntN(30000)
		k := ckey{lo: le4(10, 1, byte(n>>8), byte(n)), hi: le4(192, 0, 2, 7), plo: uint16(n % 5), phi: 443}
		key := k.flowKey()
		slot, e := c.probe(k, &key)
		want, ok := ref[k]
		switch {
		case !ok && (slot >= 0 || e != nil),
			ok && want.slot >= 0 && slot != want.slot,
			ok && want.slot < 0 && (slot >= 0 || e != want.e):
			t.Fatalf("step %d: probe(%v) = %d, %p; want %+v (present %v)", i, k, slot, e, want, ok)
		}
		switch {
		case !ok && (i < 150000 || r.IntN(2) == 0):
			if r.IntN(2) == 0 {
				j := c.alloc(k)
				c.insert(j, uint64(i))
				ref[k] = attempt{slot: j}
				nslots++
			} else {
				e := &entry{key: key}
				c.addEntry(k, e)
				ref[k] = attempt{slot: -1, e: e}
			}
		case ok && want.slot >= 0 && r.IntN(2) == 0:
			e := &entry{key: key}
			c.promote(want.slot, e)
			ref[k] = attempt{slot: -1, e: e}
			nslots--
		case ok && want.slot >= 0:
			c.release(want.slot)
			delete(ref, k)
			nslots--
		case ok:
			c.delEntry(k, &key)
			delete(ref, k)
		}
		if c.n != nslots || c.nfull != len(ref)-nslots {
			t.Fatalf("step %d: %d slots and %d entries, want %d and %d", i, c.n, c.nfull, nslots, len(ref)-nslots)
		}
	}
	var live int
	for _, e := range c.full {
		if e != nil {
			live++
		}
	}
	if live != c.nfull || len(c.full)-len(c.fullFree) != live {
		t.Errorf("%d live entries of %d, %d free; nfull %d", live, len(c.full), len(c.fullFree), c.nfull)
	}
}

// TestFlushReuse checks that a Tracker stays usable after Flush, which
// frees its compact slots all at once: fed a flood with a few complete
// handshakes (full entries in the same index) again, later in capture
// time, it emits the flows a fresh Tracker does (attempt numbers go on
// from the first round), and its index finds nothing of the first round.
func TestFlushReuse(t *testing.T) {
	flood := floodPackets(3000)
	var input []*decode.Packet
	for i := range 5 {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, 0, byte(i)}), 40000)
		input = append(input, handshake3(c, srv, flood[0].Segment.Timestamp-int64(10-i)*sec, 1000, 5000)...)
	}
	input = append(input, flood...)
	// later is the input 1000 s on and 300 times slower: attempts then
	// expire while it is read, and retransmissions start new attempts.
	later := func() []*decode.Packet {
		var ps []*decode.Packet
		t0 := input[0].Segment.Timestamp
		for _, p := range input {
			q := *p
			q.Segment.Timestamp = t0 + 1000*sec + (q.Segment.Timestamp-t0)*300
			ps = append(ps, &q)
		}
		return ps
	}
	run := func(tr *Tracker, ps []*decode.Packet) {
		for _, p := range ps {
			tr.Add(p)
		}
		tr.Flush()
	}
	var got, want []*Flow
	tr := New(Options{NoConnState: true}, func(f *Flow) { got = append(got, keep(f)) })
	for _, p := range input {
		tr.Add(p)
	}
	if tr.cmp.n == 0 || tr.cmp.nfull == 0 {
		t.Fatalf("before Flush: %d slots and %d entries open; the test wants both", tr.cmp.n, tr.cmp.nfull)
	}
	tr.Flush()
	first := uint64(len(got))
	if tr.Open() != 0 || tr.cmp.n != 0 || tr.cmp.nfull != 0 || tr.cmp.head >= 0 || tr.cmp.tail >= 0 {
		t.Fatalf("after Flush: %d open, %d slots (list %d-%d), %d entries", tr.Open(), tr.cmp.n, tr.cmp.head, tr.cmp.tail, tr.cmp.nfull)
	}
	for j, v := range tr.cmp.index {
		if v != 0 {
			t.Fatalf("after Flush index cell %d is %#x", j, v)
		}
	}
	for _, p := range input {
		k, _ := compactKey(new(KeyOf(p.Segment.Src, p.Segment.Dst)))
		key := k.flowKey()
		if i, e := tr.cmp.probe(k, &key); i >= 0 || e != nil {
			t.Fatalf("after Flush the index still finds %v (slot %d, entry %p)", k, i, e)
		}
	}
	got = got[:0]
	again := later()
	run(tr, again)
	fresh := New(Options{NoConnState: true}, func(f *Flow) { want = append(want, keep(f)) })
	run(fresh, again)
	if len(got) != len(want) {
		t.Fatalf("after a Flush: %d flows, a fresh Tracker %d", len(got), len(want))
	}
	for i := range want {
		got[i].Attempt -= first
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("flow %d after a Flush differs from a fresh Tracker's:\n%+v\n%+v", i, got[i], want[i])
		}
	}
}

// slotOf returns k's compact slot in c, or -1.
func slotOf(c *compact, k ckey) int32 {
	key := k.flowKey()
	i, _ := c.probe(k, &key)
	return i
}

// TestFlushOrder checks the order Flush emits open attempts in (bySeq)
// against sorting them all by seq: slots (some freed by expiry and
// promotion, which must not be read as live), full entries of both
// tiers, and seqs too far apart to pack.
func TestFlushOrder(t *testing.T) {
	pkts := randomSYNs(rand.New(rand.NewPCG(9, 10)), 3000)
	tr := New(Options{IdleTimeout: 500 * time.Millisecond}, func(*Flow) {})
	for _, p := range pkts[:len(pkts)/2] {
		q := *p
		tr.Add(&q)
	}
	want := func() []openAttempt {
		var all []openAttempt
		for e := range tr.allEntries {
			all = append(all, openAttempt{e: e, seq: e.seq})
		}
		for i := tr.cmp.head; i >= 0; i = tr.cmp.slot(i).next {
			all = append(all, openAttempt{i: i, seq: tr.cmp.slot(i).seq})
		}
		sort.Slice(all, func(a, b int) bool { return all[a].seq < all[b].seq })
		return all
	}
	if tr.cmp.n < 50 || tr.entries() < 50 || tr.cmp.top < int32(tr.cmp.n)+50 {
		t.Fatalf("%d slots (%d ever used), %d entries: the test wants more of each", tr.cmp.n, tr.cmp.top, tr.entries())
	}
	if got, w := tr.bySeq(), want(); !reflect.DeepEqual(got, w) {
		t.Fatalf("bySeq gives %d attempts, want %d, or another order", len(got), len(w))
	}
	tr.cmp.slot(tr.cmp.tail).seq += 1 << 33 // past what the keys can pack
	if got, w := tr.bySeq(), want(); !reflect.DeepEqual(got, w) {
		t.Fatalf("with seqs 2^33 apart bySeq gives %d attempts, want %d, or another order", len(got), len(w))
	}
}

// le4 packs an IPv4 address as ckey holds it.
func le4(a, b, c, d byte) uint32 { return binary.LittleEndian.Uint32([]byte{a, b, c, d}) }
