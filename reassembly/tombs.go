package reassembly

// tombTable is the set of tombstones (early.go), keyed by 4-tuple hash:
// open addressing with linear probing over fixed-size, pointer-free slots,
// so the garbage collector never scans it. Deletion shifts the following
// slots back instead of leaving a deleted mark, so the churn of a flood
// (a tombstone added and dropped for every attempt) never lengthens probe
// sequences, as it does in a Go map. It grows by doubling, at a load of
// 3/4; the tombstone bound keeps it from growing further.
type tombTable struct {
	slots []tombSlot
	n     int
}

type tombSlot struct {
	h uint64
	t tomb // t.live marks a used slot
}

func (tt *tombTable) len() int { return tt.n }

// get returns h's tombstone, or nil. It stays valid until the next put or
// del.
func (tt *tombTable) get(h uint64) *tomb {
	if tt.n == 0 {
		return nil
	}
	mask := uint64(len(tt.slots) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		s := &tt.slots[j]
		if !s.t.live {
			return nil
		}
		if s.h == h {
			return &s.t
		}
	}
}

// put sets h's tombstone to tb.
func (tt *tombTable) put(h uint64, tb tomb) {
	tb.live = true
	if cur := tt.get(h); cur != nil {
		*cur = tb
		return
	}
	if (tt.n+1)*4 > len(tt.slots)*3 {
		old := tt.slots
		tt.slots = make([]tombSlot, max(64, 2*len(old)))
		for i := range old {
			if old[i].t.live {
				tt.insert(old[i])
			}
		}
	}
	tt.insert(tombSlot{h: h, t: tb})
	tt.n++
}

func (tt *tombTable) insert(s tombSlot) {
	mask := uint64(len(tt.slots) - 1)
	j := s.h & mask
	for tt.slots[j].t.live {
		j = (j + 1) & mask
	}
	tt.slots[j] = s
}

// del removes h's tombstone, if any, by backward shift.
func (tt *tombTable) del(h uint64) {
	cur := tt.get(h)
	if cur == nil {
		return
	}
	mask := uint64(len(tt.slots) - 1)
	j := h & mask
	for &tt.slots[j].t != cur {
		j = (j + 1) & mask
	}
	tt.n--
	for {
		tt.slots[j] = tombSlot{}
		n := j
		for {
			n = (n + 1) & mask
			s := tt.slots[n]
			if !s.t.live {
				return
			}
			if movable(s.h&mask, j, n) {
				tt.slots[j] = s
				j = n
				break
			}
		}
	}
}

// movable reports whether, in a linear-probing table, the entry at slot n
// whose home slot is home may move back to a hole at slot j (backward-shift
// deletion): unless its home lies cyclically in (j, n].
func movable(home, j, n uint64) bool {
	return (n > j && (home <= j || home > n)) || (n < j && home <= j && home > n)
}
