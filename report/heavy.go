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
// survivors; the result does not depend on the table's order.
type heavy[K comparable] struct {
	cap     int
	n       int // keys kept
	slots   []heavySlot[K]
	spare   []heavySlot[K] // the next table of a decrement pass
	seed    maphash.Seed
	dropped uint64 // the largest undercount of any kept key
}

// heavySlot is a kept key with its count; count 0 marks an empty slot.
type heavySlot[K comparable] struct {
	key   K
	count uint64
}

func newHeavy[K comparable](capacity int) *heavy[K] {
	return &heavy[K]{cap: capacity}
}

// find returns the slot of k in slots, or the empty slot where it goes.
func (h *heavy[K]) find(slots []heavySlot[K], k K) *heavySlot[K] {
	mask := uint64(len(slots) - 1)
	for i := maphash.Comparable(h.seed, k) & mask; ; i = (i + 1) & mask {
		if s := &slots[i]; s.count == 0 || s.key == k {
			return s
		}
	}
}

func (h *heavy[K]) add(k K) {
	if h.slots == nil {
		size := 8
		for size < 2*h.cap {
			size *= 2
		}
		h.seed = maphash.MakeSeed()
		h.slots, h.spare = make([]heavySlot[K], size), make([]heavySlot[K], size)
	}
	s := h.find(h.slots, k)
	if s.count > 0 || h.n < h.cap {
		if s.count == 0 {
			s.key = k
			h.n++
		}
		s.count++
		return
	}
	// Full and k is new: one decrement for every kept key and for k.
	h.dropped++
	clear(h.spare)
	h.n = 0
	for i := range h.slots {
		if old := &h.slots[i]; old.count > 1 {
			*h.find(h.spare, old.key) = heavySlot[K]{old.key, old.count - 1}
			h.n++
		}
	}
	h.slots, h.spare = h.spare, h.slots
}

// exact reports whether the counts are the true ones.
func (h *heavy[K]) exact() bool { return h.dropped == 0 }

// top returns the n keys with the largest counts, ties broken by less.
// When the summary is not exact, only keys whose count is above the
// undercount are returned: the others may be noise.
func (h *heavy[K]) top(n int, less func(a, b K) int) []Counted[K] {
	out := make([]Counted[K], 0, h.n)
	for _, s := range h.slots {
		if s.count > h.dropped {
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
