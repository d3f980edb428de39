package report

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

func TestHeavy(t *testing.T) {
	t.Run("exact under capacity", func(t *testing.T) {
		h := newHeavy[int](4)
		for _, k := range []int{1, 2, 2, 3, 3, 3} {
			h.add(k)
		}
		top := h.top(2, cmp.Compare[int])
		if !h.exact() || len(top) != 2 || top[0] != (Counted[int]{3, 3}) || top[1] != (Counted[int]{2, 2}) {
			t.Errorf("top %v exact %v", top, h.exact())
		}
	})
	t.Run("heavy hitter in a flood of distinct keys", func(t *testing.T) {
		// One scanner (key 0) among a million spoofed sources seen once:
		// it is kept with a count short by at most n/(cap+1), and the
		// noise is not reported.
		h := newHeavy[int](64)
		n := 0
		for i := 1; i <= 1_000_000; i++ {
			h.add(i)
			n++
			if i%10 == 0 {
				h.add(0)
				n++
			}
		}
		top := h.top(5, cmp.Compare[int])
		if h.exact() || len(top) != 1 || top[0].Key != 0 || top[0].Count > 100_000 || top[0].Count < 100_000-uint64(n/65) {
			t.Errorf("top %v (exact %v), want key 0 with about 100000", top, h.exact())
		}
		if h.n > 64 {
			t.Errorf("%d keys kept, cap 64", h.n)
		}
	})
	t.Run("same as the map-based summary", func(t *testing.T) {
		// Streams of skewed keys, with and without overflow: the table
		// must give what a map with Misra-Gries' steps gives.
		rng := rand.New(rand.NewPCG(7, 8))
		for _, tc := range []struct{ cap, keys, n int }{{4, 3, 100}, {16, 40, 5000}, {64, 100_000, 200_000}, {256, 2000, 100_000}} {
			h := newHeavy[netip.Addr](tc.cap)
			ref := map[netip.Addr]uint64{}
			var dropped uint64
			for range tc.n {
				// Skewed: small key numbers are frequent.
				v := uint32(rng.IntN(tc.keys) * rng.IntN(tc.keys) / tc.keys)
				k := netip.AddrFrom4([4]byte{10, byte(v >> 16), byte(v >> 8), byte(v)})
				h.add(k)
				if _, ok := ref[k]; ok || len(ref) < tc.cap {
					ref[k]++
					continue
				}
				dropped++
				for key, c := range ref {
					if c == 1 {
						delete(ref, key)
					} else {
						ref[key] = c - 1
					}
				}
			}
			var want []Counted[netip.Addr]
			for k, c := range ref {
				if c > dropped {
					want = append(want, Counted[netip.Addr]{k, c})
				}
			}
			slices.SortFunc(want, func(a, b Counted[netip.Addr]) int {
				return cmp.Or(cmp.Compare(b.Count, a.Count), a.Key.Compare(b.Key))
			})
			got := h.top(len(ref)+1, netip.Addr.Compare)
			if h.dropped != dropped || h.n != len(ref) || !slices.Equal(got, want) {
				t.Errorf("cap %d: top %v dropped %d kept %d, want %v %d %d", tc.cap, got, h.dropped, h.n, want, dropped, len(ref))
			}
		}
	})
}

func BenchmarkHeavyFlood(b *testing.B) {
	// A spoofed flood: every client address is new.
	h := newHeavy[netip.Addr](4096)
	var i uint32
	b.ReportAllocs()
	for b.Loop() {
		i++
		h.add(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
}

func TestWrap(t *testing.T) {
	got := wrap("synack_wrong_ack: ack 3071968273, expected 3071968267 (frame 24)", 30)
	for _, l := range got {
		if displayWidth(l) > 30 {
			t.Errorf("line %q wider than 30", l)
		}
	}
	if len(got) != 3 || got[0] != "synack_wrong_ack: ack" {
		t.Errorf("wrap = %q", got)
	}
	if got := wrap("averyveryverylongwordwithoutspaces", 10); len(got) != 4 || got[0] != "averyveryv" {
		t.Errorf("long word: %q", got)
	}
}

func TestTinyHist(t *testing.T) {
	var h tinyHist
	for i := int64(1); i <= 1000; i++ {
		h.add(i * 1000) // 1 µs … 1 ms
	}
	for _, tc := range []struct {
		p    float64
		want int64
	}{{50, 500_000}, {95, 950_000}, {100, 1_000_000}, {0, 1000}} {
		got := h.quantile(tc.p)
		if got > tc.want || float64(got) < float64(tc.want)*0.875 {
			t.Errorf("p%v = %d, want within 12.5%% below %d", tc.p, got, tc.want)
		}
	}
	var one tinyHist
	one.add(100_000)
	if one.quantile(50) != 100_000 {
		t.Errorf("single value: %d", one.quantile(50))
	}
}

// TestHeavyAddN checks that addN(k, n) leaves the summary as n calls of
// add(k) would, in runs over a capacity much smaller than the keys.
func TestHeavyAddN(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	byN, byOne := newHeavy[int](16), newHeavy[int](16)
	for range 5000 {
		k, n := rng.IntN(100), uint64(rng.IntN(5))
		if rng.IntN(4) == 0 {
			k = 0 // a heavy key among the noise
		}
		byN.addN(k, n)
		for range n {
			byOne.add(k)
		}
	}
	got, want := byN.top(16, cmp.Compare[int]), byOne.top(16, cmp.Compare[int])
	if !slices.Equal(got, want) || byN.exact() != byOne.exact() || byN.dropped != byOne.dropped {
		t.Errorf("addN: top %v (dropped %d), add: %v (dropped %d)", got, byN.dropped, want, byOne.dropped)
	}
	if len(got) == 0 || got[0].Key != 0 {
		t.Errorf("the heavy key is not first: %v", got)
	}
}

// TestStatsServersBounded checks that a horizontal scan (every attempt to
// another server) costs the summary a bounded table, not one entry per
// server, and still finds the one server that most attempts failed on.
func TestStatsServersBounded(t *testing.T) {
	var s Stats
	f := &reassembly.Flow{Client: netip.MustParseAddrPort("192.0.2.1:40000")}
	f.Verdict = handshake.HalfOpen
	hot := netip.MustParseAddr("198.51.100.1")
	for i := range 200000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		if i%4 == 0 {
			a = hot
		}
		f.Server = netip.AddrPortFrom(a, 22)
		s.Add(f)
	}
	tops, exact := s.TopFailedServers(5)
	if exact || len(tops) != 1 || tops[0].Key != hot || tops[0].Count < 40000 || tops[0].Count > 50000 {
		t.Errorf("top failed servers %v exact %v; want %v with about 50000 (a lower bound)", tops, exact, hot)
	}
	if n := len(s.failedServers.slots); n > 2*8192 {
		t.Errorf("the per-server summary has %d slots for a 4096-key bound", n)
	}
}
