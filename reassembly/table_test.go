package reassembly

import (
	"net/netip"
	"testing"
)

// TestTableSpill checks the table with keys whose hashes collide: each key
// finds its own entry whichever was added or removed first.
func TestTableSpill(t *testing.T) {
	keys := make([]FlowKey, 3)
	ents := make([]*entry, 3)
	for i := range keys {
		keys[i] = KeyOf(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), 40000), srv)
		ents[i] = &entry{key: keys[i]}
	}
	const h = 42 // every key's hash, as if they collided
	tb := newTable()
	for _, e := range ents {
		tb.putHash(h, e)
	}
	check := func(step string, want ...bool) {
		t.Helper()
		n := 0
		for i, k := range keys {
			got := tb.getHash(h, k)
			switch {
			case want[i] && got != ents[i]:
				t.Errorf("%s: key %d finds %v, want its entry", step, i, got)
			case !want[i] && got != nil:
				t.Errorf("%s: key %d finds %v, want none", step, i, got)
			}
			if want[i] {
				n++
			}
		}
		seen := 0
		for range tb.all() {
			seen++
		}
		if tb.len() != n || seen != n {
			t.Errorf("%s: len %d, all yields %d, want %d", step, tb.len(), seen, n)
		}
	}
	check("added", true, true, true)
	tb.delHash(h, keys[0]) // the one holding the hash
	check("first removed", false, true, true)
	tb.putHash(h, ents[0]) // takes the free hash slot
	check("first back", true, true, true)
	tb.delHash(h, keys[1]) // a spilled one
	check("second removed", true, false, true)
	tb.putHash(h, ents[2]) // replaces itself in spill
	check("third again", true, false, true)
	tb.delHash(h, keys[0])
	tb.putHash(h, ents[2]) // moves from spill to the hash slot
	check("third moved", false, false, true)
	if len(tb.spill) != 0 {
		t.Errorf("%d spilled after the move, want 0", len(tb.spill))
	}
}
