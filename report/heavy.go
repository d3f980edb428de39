package report

import (
	"cmp"
	"slices"
)

// heavy counts the most frequent keys of a stream in bounded memory: the
// Misra-Gries summary with at most cap keys. Every key seen more than
// n/(cap+1) times is kept; a kept key's count is at most dropped below its
// true count (exact while dropped is 0, that is while at most cap distinct
// keys were seen). A scan or a spoofed flood with millions of distinct
// addresses costs cap entries, not millions. The zero value is not usable:
// set cap.
type heavy[K comparable] struct {
	cap     int
	counts  map[K]uint64
	dropped uint64 // the largest undercount of any kept key
}

func newHeavy[K comparable](capacity int) *heavy[K] {
	return &heavy[K]{cap: capacity}
}

func (h *heavy[K]) add(k K) {
	if h.counts == nil {
		h.counts = make(map[K]uint64)
	}
	if _, ok := h.counts[k]; ok || len(h.counts) < h.cap {
		h.counts[k]++
		return
	}
	// Full and k is new: one decrement for every kept key and for k.
	h.dropped++
	for key, c := range h.counts {
		if c == 1 {
			delete(h.counts, key)
		} else {
			h.counts[key] = c - 1
		}
	}
}

// exact reports whether the counts are the true ones.
func (h *heavy[K]) exact() bool { return h.dropped == 0 }

// top returns the n keys with the largest counts, ties broken by less.
// When the summary is not exact, only keys whose count is above the
// undercount are returned: the others may be noise.
func (h *heavy[K]) top(n int, less func(a, b K) int) []Counted[K] {
	out := make([]Counted[K], 0, len(h.counts))
	for k, c := range h.counts {
		if c > h.dropped {
			out = append(out, Counted[K]{k, c})
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
