package reassembly

import (
	"math/rand/v2"
	"testing"
)

// TestTombTable checks the tombstone table against a Go map through a
// churn of puts and deletes whose hashes crowd into few home slots
// (long probe runs that wrap around the table's end), where backward-shift
// deletion has the most to get wrong.
func TestTombTable(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var tt tombTable
	ref := map[uint64]tomb{}
	for i := range 200000 {
		h := uint64(r.IntN(2))<<50 ^ mix(uint64(r.IntN(20000))) // pairs share their home
		if r.IntN(4) == 0 {
			h = uint64(r.IntN(2))<<50 | 1<<40 - 1 - uint64(r.IntN(50)) // homes at the table's end
		}
		switch r.IntN(3) {
		case 0, 1:
			tb := tomb{exp: int64(i), gen: uint32(i), live: true}
			tt.put(h, tb)
			ref[h] = tb
		default:
			tt.del(h)
			delete(ref, h)
		}
		if i%5000 == 0 || i == 199999 {
			if tt.len() != len(ref) {
				t.Fatalf("step %d: %d tombstones, want %d", i, tt.len(), len(ref))
			}
			for k, want := range ref {
				if got := tt.get(k); got == nil || *got != want {
					t.Fatalf("step %d: tombstone %x is %+v, want %+v", i, k, got, want)
				}
			}
		}
		if got := tt.get(h ^ 1<<63); got != nil {
			t.Fatalf("step %d: tombstone of an absent hash: %+v", i, got)
		}
	}
}
