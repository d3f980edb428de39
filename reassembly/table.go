package reassembly

import (
	"encoding/binary"
	"iter"
	"maps"
)

// table indexes the full entries the index (index.go) does not take, those
// of tunnelled and IPv6 traffic, by their FlowKey. A map keyed by FlowKey
// (72 bytes, two netip.AddrPort and the tunnel number) costs about 118
// bytes of slots per entry at the load a Go map runs at; keyed by the
// key's 64-bit hash it costs about 26, the entry keeping its key. The rare
// key whose hash an entry of another key already holds goes to spill, so
// a collision costs a second lookup, never a wrong entry.
type table struct {
	byHash map[uint64]*entry
	spill  map[FlowKey]*entry
}

func newTable() table {
	return table{byHash: make(map[uint64]*entry), spill: make(map[FlowKey]*entry)}
}

// Hash hashes k for in-memory tables (table here, package partial's head
// keys). Equal keys hash equal; keys that differ only in an IPv6 zone or
// as IPv4 against IPv4-mapped IPv6 collide, so a table must compare keys.
// It need not be stable across processes: nothing iterates a table in
// hash order for output.
func (k FlowKey) Hash() uint64 {
	a, b := k.lo.Addr().As16(), k.hi.Addr().As16()
	x := binary.LittleEndian.Uint64(a[:8]) ^ binary.LittleEndian.Uint64(b[8:])*0x9e3779b97f4a7c15
	y := binary.LittleEndian.Uint64(a[8:]) ^ binary.LittleEndian.Uint64(b[:8])*0xbf58476d1ce4e5b9
	return mix(x ^ mix(y^uint64(k.lo.Port())<<48^uint64(k.hi.Port())<<32^k.tun))
}

func (tb *table) get(k FlowKey) *entry { return tb.getHash(k.Hash(), k) }

func (tb *table) getHash(h uint64, k FlowKey) *entry {
	if e := tb.byHash[h]; e != nil && e.key == k {
		return e
	}
	if len(tb.spill) > 0 {
		return tb.spill[k]
	}
	return nil
}

// put adds e under e.key, replacing an entry of that key.
func (tb *table) put(e *entry) { tb.putHash(e.key.Hash(), e) }

func (tb *table) putHash(h uint64, e *entry) {
	if o := tb.byHash[h]; o != nil && o.key != e.key {
		tb.spill[e.key] = e
		return
	}
	tb.byHash[h] = e
	if len(tb.spill) > 0 {
		delete(tb.spill, e.key)
	}
}

// del removes k's entry, if any.
func (tb *table) del(k FlowKey) { tb.delHash(k.Hash(), k) }

func (tb *table) delHash(h uint64, k FlowKey) {
	if e := tb.byHash[h]; e != nil && e.key == k {
		delete(tb.byHash, h)
		return
	}
	if len(tb.spill) > 0 {
		delete(tb.spill, k)
	}
}

func (tb *table) len() int { return len(tb.byHash) + len(tb.spill) }

// all yields every entry, in no particular order.
func (tb *table) all() iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		for e := range maps.Values(tb.byHash) {
			if !yield(e) {
				return
			}
		}
		for e := range maps.Values(tb.spill) {
			if !yield(e) {
				return
			}
		}
	}
}
