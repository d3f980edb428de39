package report

import "math/bits"

// Histogram counts durations in log-linear buckets, as HdrHistogram does:
// values below 2^subBits ns are exact; above, each power of two is split
// into 2^subBits buckets, so a percentile is off by less than 2^-subBits
// (0.8%) of its value. Its size is fixed, whatever the number of flows: the
// summary's memory does not grow with the capture. The zero value is ready
// to use.
type Histogram struct {
	counts   [64 << subBits]uint64
	n        uint64
	min, max int64
}

const subBits = 7

// bucket returns the bucket of v ≥ 0.
func bucket(v int64) int {
	u := uint64(v)
	if u < 1<<subBits {
		return int(u)
	}
	exp := bits.Len64(u) - subBits // ≥ 1
	return exp<<subBits | int(u>>uint(exp-1))&(1<<subBits-1)
}

// lowest returns the smallest value in bucket b.
func lowest(b int) int64 {
	exp, sub := b>>subBits, int64(b&(1<<subBits-1))
	if exp == 0 {
		return sub
	}
	return (1<<subBits | sub) << uint(exp-1)
}

// Add counts v (ns); a negative v counts as 0.
func (h *Histogram) Add(v int64) {
	v = max(v, 0)
	h.counts[bucket(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	h.n++
	h.max = max(h.max, v)
}

// Quantile returns the value at percentile p (0-100) by the nearest-rank
// method: the lowest value of its bucket, clamped to the exact minimum and
// maximum seen (so a single value, or the 100th percentile, is exact). It
// returns 0 for an empty Histogram.
func (h *Histogram) Quantile(p float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(p/100*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), h.n)
	if rank == h.n {
		return h.max
	}
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(lowest(b), h.min), h.max)
		}
	}
	return h.max
}

// Count returns the number of values counted.
func (h *Histogram) Count() uint64 { return h.n }

// Each calls fn for every non-empty bucket in increasing order with the
// bucket's range [lo, hi) and its count. The first and last bucket's range
// is clamped to the exact minimum and maximum (hi is then max+1).
func (h *Histogram) Each(fn func(lo, hi int64, n uint64)) {
	for b, c := range h.counts {
		if c == 0 {
			continue
		}
		lo, hi := lowest(b), lowest(b+1)
		if hi <= lo { // past the last bucket of int64
			hi = h.max + 1
		}
		fn(max(lo, h.min), min(hi, h.max+1), c)
	}
}
