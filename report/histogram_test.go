package report

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistogramMatchesExact checks the histogram against exact nearest-rank
// percentiles of sorted values: within 2^-subBits, and exact maxima.
func TestHistogramMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 7, 100, 10007} {
		var h Histogram
		vals := make([]int64, n)
		for i := range vals {
			vals[i] = int64(rng.ExpFloat64() * 2e6) // around 2 ms
			if i%5 == 0 {
				vals[i] = rng.Int64N(100) // exact range
			}
			h.Add(vals[i])
		}
		slices.Sort(vals)
		for _, p := range []float64{0, 1, 50, 95, 99, 99.9, 100} {
			rank := int(p/100*float64(n) + 0.999999)
			want := vals[min(max(rank, 1), n)-1]
			got := h.Quantile(p)
			if got > want || float64(want-got) > float64(want)/(1<<subBits) {
				t.Errorf("n=%d p%v = %d, exact %d", n, p, got, want)
			}
		}
	}
}

func TestBucketBounds(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 1e9, 1 << 62, 1<<63 - 1} {
		b := bucket(v)
		next := lowest(b + 1) // overflows past the last bucket of int64
		if lo := lowest(b); lo > v || (next > 0 && next <= v) {
			t.Errorf("v=%d: bucket %d [%d, %d)", v, b, lo, lowest(b+1))
		}
	}
}
