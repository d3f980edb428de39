package report

import (
	"cmp"
	"hash/maphash"
	"slices"
)

// heavy counts the most frequent keys of a stream in bounded memory: the
// Misra-Gries summary with at most cap keys. Every key seen more than
// n/(cap+1) times is kept; a kept key's count is at most dropped below its
// true count (exact while dropped is 0, that is while at most cap distinct
// keys were seen). A scan or a spoofed flood with millions of distinct
// addresses costs cap entries, not millions. The zero value is not usable:
// set cap.
//
// The keys are kept in an open-addressing table (linear probing, at most
// half full) rather than a Go map: in a spoofed flood every key is new, and
// a map then grew, was emptied by the decrement pass and grew again for
// every cap keys, ~300 ns a flow. The pass rebuilds the table from its
// survivors; the result does not depend on the table's order. Probing
// reads a tag per slot (part of the key's hash, 0 for an empty slot) from
// an array of its own, an eighth of the slots' size: a flood's new key
// then misses the cache on no slot, only writes one.
type heavy[K comparable] struct {
	cap       int
	n         int      // keys kept
	tags      []uint32 // per slot: 0 empty, else tagOf the key's hash
	slots     []heavySlot[K]
	spareTags []uint32 // the next table of a decrement pass
	spare     []heavySlot[K]
	seed      maphash.Seed
	dropped   uint64 // the largest undercount of any kept key
}

// heavySlot is a kept key with its count (valid iff its tag is not 0).
type heavySlot[K comparable] struct {
	key   K
	count uint64
}

func newHeavy[K comparable](capacity int) *heavy[K] {
	return &heavy[K]{cap: capacity}
}

// tagOf is the tag of a hash: never 0.
func tagOf(hash uint64) uint32 { return uint32(hash>>32) | 1 }

// find returns the index in slots of k, with true, or of the empty slot
// where it goes, with false; hash is k's.
func (h *heavy[K]) find(tags []uint32, slots []heavySlot[K], k K, hash uint64) (int, bool) {
	mask := uint64(len(slots) - 1)
	tag := tagOf(hash)
	for i := hash & mask; ; i = (i + 1) & mask {
		switch t := tags[i]; {
		case t == 0:
			return int(i), false
		case t == tag && slots[i].key == k:
			return int(i), true
		}
	}
}

func (h *heavy[K]) add(k K) { h.addN(k, 1) }

// addN counts n more occurrences of k, as n calls of add would.
func (h *heavy[K]) addN(k K, n uint64) {
	if n == 0 {
		return
	}
	if h.slots == nil {
		size := 8
		for size < 2*h.cap {
			size *= 2
		}
		h.seed = maphash.MakeSeed()
		h.slots, h.spare = make([]heavySlot[K], size), make([]heavySlot[K], size)
		h.tags, h.spareTags = make([]uint32, size), make([]uint32, size)
	}
	hash := maphash.Comparable(h.seed, k)
	for ; n > 0; n-- {
		i, ok := h.find(h.tags, h.slots, k, hash)
		if ok {
			h.slots[i].count += n
			return
		}
		if h.n < h.cap {
			h.tags[i], h.slots[i] = tagOf(hash), heavySlot[K]{k, n}
			h.n++
			return
		}
		h.decrement()
	}
}

// decrement is add's step for a new key when the summary is full: one
// decrement for every kept key and for the new one.
func (h *heavy[K]) decrement() {
	h.dropped++
	clear(h.spareTags)
	h.n = 0
	for i, t := range h.tags {
		if old := &h.slots[i]; t != 0 && old.count > 1 {
			hash := maphash.Comparable(h.seed, old.key)
			j, _ := h.find(h.spareTags, h.spare, old.key, hash)
			h.spareTags[j], h.spare[j] = t, heavySlot[K]{old.key, old.count - 1}
			h.n++
		}
	}
	h.slots, h.spare = h.spare, h.slots
	h.tags, h.spareTags = h.spareTags, h.tags
}

// exact reports whether the counts are the true ones.
func (h *heavy[K]) exact() bool { return h.dropped == 0 }

// top returns the n keys with the largest counts, ties broken by less.
// When the summary is not exact, only keys whose count is above the
// undercount are returned: the others may be noise.
func (h *heavy[K]) top(n int, less func(a, b K) int) []Counted[K] {
	out := make([]Counted[K], 0, h.n)
	for i, s := range h.slots {
		if h.tags[i] != 0 && s.count > h.dropped {
			out = append(out, Counted[K]{s.key, s.count})
		}
	}
	slices.SortFunc(out, func(a, b Counted[K]) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return less(a.Key, b.Key)
	})
	return out[:min(n, len(out))]
}
