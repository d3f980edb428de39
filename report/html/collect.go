package html

import (
	"container/heap"
	"math"
	"net/netip"

	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Verdicts in report order (CONTRACT.md's summary order); the page indexes
// verdicts by their position here.
var verdicts = [numVerdicts]handshake.Verdict{handshake.Complete, handshake.HalfOpen, handshake.Refused, handshake.Malformed, handshake.Midstream}

const numVerdicts = 5

// Positions in verdicts.
const (
	vComplete = iota
	vHalfOpen
	vRefused
	vMalformed
	vMidstream
)

func verdictIndex(v handshake.Verdict) int {
	for i, rv := range verdicts {
		if rv == v {
			return i
		}
	}
	return vMidstream
}

// failed reports whether verdict index v counts as a failed attempt (as
// report.Stats.TopFailedServers counts them).
func failed(v int) bool { return v == vHalfOpen || v == vRefused || v == vMalformed }

// timeBins counts flows per verdict over capture time in nBins bins of a
// width that doubles (from 1 µs) whenever a flow falls outside their
// range, so memory is fixed whatever the capture's length. Bins are
// aligned to multiples of their width, so merging two makes one.
type timeBins struct {
	width  int64 // ns; 0 until the first add
	lo     int64 // start of bin 0, a multiple of width
	counts [nBins][numVerdicts]uint64
}

const nBins = 1024

// maxBinWidth keeps lo + nBins*width within int64.
const maxBinWidth = math.MaxInt64 / (4 * nBins)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func (t *timeBins) add(ts int64, v int) {
	if t.width == 0 {
		t.width = 1000
		t.lo = floorDiv(ts, t.width) * t.width
	}
	for !t.fits(ts) && t.width < maxBinWidth {
		t.grow(ts)
	}
	i := nBins - 1 // clamped when the width is at its maximum
	switch {
	case ts < t.lo:
		i = 0
	case t.fits(ts):
		i = int((uint64(ts) - uint64(t.lo)) / uint64(t.width))
	}
	t.counts[i][v]++
}

// fits reports whether ts falls in the bins' range. The difference is
// taken unsigned: ts ≥ lo, so it is exact even where it overflows int64.
func (t *timeBins) fits(ts int64) bool {
	return ts >= t.lo && (uint64(ts)-uint64(t.lo))/uint64(t.width) < nBins
}

// grow doubles the width until both the current range and ts fit.
func (t *timeBins) grow(ts int64) {
	oldLo, oldHi := t.lo, t.lo+nBins*t.width
	w := t.width
	var lo int64
	for {
		w *= 2
		lo = floorDiv(min(oldLo, ts), w) * w
		if w >= maxBinWidth || lo > math.MaxInt64-nBins*w {
			break // the far end of int64: clamp
		}
		if hi := lo + nBins*w; hi >= oldHi && ts < hi {
			break
		}
	}
	var counts [nBins][numVerdicts]uint64
	for i := range t.counts {
		j := (oldLo + int64(i)*t.width - lo) / w
		for v, n := range t.counts[i] {
			counts[min(max(j, 0), nBins-1)][v] += n
		}
	}
	t.counts, t.lo, t.width = counts, lo, w
}

// timeBin is one displayed bin.
type timeBin struct {
	start, end int64
	counts     [numVerdicts]uint64
}

// display merges the used bins into at most n of equal width.
func (t *timeBins) display(n int) []timeBin {
	first, last := -1, -1
	for i := range t.counts {
		for _, c := range t.counts[i] {
			if c > 0 {
				if first < 0 {
					first = i
				}
				last = i
				break
			}
		}
	}
	if first < 0 {
		return nil
	}
	used := last - first + 1
	k := (used + n - 1) / n
	out := make([]timeBin, 0, (used+k-1)/k)
	for i := first; i <= last; i += k {
		b := timeBin{start: t.lo + int64(i)*t.width, end: t.lo + int64(i+k)*t.width}
		for j := i; j < i+k && j < nBins; j++ {
			for v, c := range t.counts[j] {
				b.counts[v] += c
			}
		}
		out = append(out, b)
	}
	return out
}

// latBins is a fixed logarithmic grid of durations: bin 0 holds values
// below 1 µs, then latPerDecade bins per decade up to 1000 s, the last bin
// everything longer. A percentile read from it is the lower bound of its
// bin, at most 6% below the true value (as report.Histogram reads the lowest
// value of its bucket); charts draw drawPerDecade bins per decade.
type latBins [latN]uint32

const (
	latPerDecade  = 40
	drawPerDecade = 10
	latDecades    = 9 // 1 µs … 1000 s
	latN          = latPerDecade*latDecades + 2
)

// latIndex returns the bin of a duration in ns.
func latIndex(ns int64) int {
	if ns < 1000 {
		return 0
	}
	i := int(math.Floor(math.Log10(float64(ns)/1000)*latPerDecade+1e-9)) + 1
	return min(i, latN-1)
}

// latBound returns the lower bound in ns of bin i ≥ 1.
func latBound(i int) float64 {
	return 1000 * math.Pow(10, float64(i-1)/latPerDecade)
}

func (l *latBins) add(ns int64) {
	if i := latIndex(ns); l[i] < math.MaxUint32 {
		l[i]++
	}
}

// quantile returns the lower bound of the bin holding percentile p (by
// nearest rank), and false when empty.
func (l *latBins) quantile(p float64) (float64, bool) {
	var n uint64
	for _, c := range l {
		n += uint64(c)
	}
	if n == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i, c := range l {
		seen += uint64(c)
		if seen >= rank {
			if i == 0 {
				return 500, true
			}
			return latBound(i), true
		}
	}
	return 0, false
}

// drawBins folds l into the bins a chart draws: bin 0 below 1 µs, then
// drawPerDecade per decade; drawBound(i) is the lower bound of bin i ≥ 1.
func (l *latBins) drawBins() []uint64 {
	const k = latPerDecade / drawPerDecade
	out := make([]uint64, (latN-2)/k+2)
	for i, c := range l {
		j := 0
		if i > 0 {
			j = min((i-1)/k+1, len(out)-1)
		}
		out[j] += uint64(c)
	}
	return out
}

func drawBound(i int) float64 {
	return 1000 * math.Pow(10, float64(i-1)/drawPerDecade)
}

// hostStats counts one address's attempts.
type hostStats struct {
	attempts  uint64
	byVerdict [numVerdicts]uint64
	syn, ack  *latBins // nil beyond maxLatencyHosts
}

func (h *hostStats) failed() uint64 {
	return h.byVerdict[vHalfOpen] + h.byVerdict[vRefused] + h.byVerdict[vMalformed]
}

// hostTable counts attempts per address, for at most maxHosts addresses:
// flows of further addresses are counted in untracked only, so a capture of
// spoofed sources cannot grow it without bound.
type hostTable struct {
	m           map[netip.Addr]*hostStats
	withLatency bool
	latHosts    int
	untracked   uint64 // flows of addresses beyond maxHosts
}

const (
	maxHosts        = 1 << 16
	maxLatencyHosts = 1024
)

func newHostTable(withLatency bool) hostTable {
	return hostTable{m: make(map[netip.Addr]*hostStats), withLatency: withLatency}
}

func (t *hostTable) add(a netip.Addr, v int, f *reassembly.Flow) {
	h := t.m[a]
	if h == nil {
		if len(t.m) >= maxHosts {
			t.untracked++
			return
		}
		h = &hostStats{}
		if t.withLatency && t.latHosts < maxLatencyHosts {
			h.syn, h.ack = new(latBins), new(latBins)
			t.latHosts++
		}
		t.m[a] = h
	}
	h.attempts++
	h.byVerdict[v]++
	if h.syn != nil {
		if f.HasSYNToSYNACK {
			h.syn.add(f.SYNToSYNACK)
		}
		if f.HasSYNACKToACK {
			h.ack.add(f.SYNACKToACK)
		}
	}
}

// earliestRows keeps the pageSize earliest problem flows, for the flow
// table the page shows without JavaScript.
type earliestRows struct {
	h rowHeap
	n uint64 // order of arrival, to break ties
}

// pageSize is how many flows the table shows at once.
const pageSize = 100

// staticRow is a problem flow as the static table shows it.
type staticRow struct {
	ts, n          int64
	client, server netip.AddrPort
	verdict        handshake.Verdict
	anomalies      []handshake.Code
	syn, ack       int64
	hasSyn, hasAck bool
	reason         string
}

func (e *earliestRows) offer(f *reassembly.Flow) {
	e.n++
	r := staticRow{ts: f.FirstTS, n: int64(e.n)}
	if len(e.h) == pageSize {
		if !r.before(&e.h[0]) {
			return
		}
		heap.Pop(&e.h)
	}
	r.client, r.server, r.verdict = f.Client, f.Server, f.Verdict
	r.anomalies = append([]handshake.Code(nil), f.Anomalies...)
	r.syn, r.hasSyn, r.ack, r.hasAck = f.SYNToSYNACK, f.HasSYNToSYNACK, f.SYNACKToACK, f.HasSYNACKToACK
	r.reason = string(f.AppendReason(nil))
	heap.Push(&e.h, r)
}

func (r *staticRow) before(o *staticRow) bool {
	return r.ts < o.ts || (r.ts == o.ts && r.n < o.n)
}

// rowHeap is a max-heap by time: its root is the latest row kept.
type rowHeap []staticRow

func (h rowHeap) Len() int           { return len(h) }
func (h rowHeap) Less(i, j int) bool { return h[j].before(&h[i]) }
func (h rowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *rowHeap) Push(x any)        { *h = append(*h, x.(staticRow)) }
func (h *rowHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
