package reassembly

// The index finds the attempts of plain IPv4 4-tuples, in both tiers: a
// compact slot (compact.go) or a full entry (compact.full). Each used cell
// holds the attempt's tag (32 bits of its key's hash, which also place its
// home cell) above its number plus one (0: an empty cell), with fullBit
// set for a full entry. One probe answers for both tiers, and turning a
// slot into an entry rewrites its cell in place. A probe compares tags
// without touching the slots, so looking up a key that is absent (every
// new SYN of a flood) reads a run of adjacent cells, not a slot per cell,
// and a deletion finds the home of each cell it shifts from the tag
// alone. The home of tag t in n cells is t*n >> 32, so n need not be a
// power of two: the index grows by a quarter at a load of 3/4, which keeps
// it between 3/5 and 3/4 full (10.7 to 13.3 bytes per attempt) where
// doubling would let it fall to 3/8 (21.3 bytes). Other keys' full entries
// are in Tracker.table.

// fullBit marks a cell of a full entry.
const fullBit = 1 << 31

func cell(tag uint32, i int32) uint64 { return uint64(tag)<<32 | uint64(uint32(i+1)) }

func fullCell(tag uint32, i int32) uint64 { return uint64(tag)<<32 | uint64(uint32(i+1)|fullBit) }

func cellSlot(v uint64) int32 { return int32(uint32(v)) - 1 }

func cellFull(v uint64) (i int32, ok bool) {
	return int32(uint32(v)&^fullBit) - 1, uint32(v)&fullBit != 0
}

func cellTag(v uint64) uint32 { return uint32(v >> 32) }

func (c *compact) home(tag uint32) int { return int(uint64(tag) * uint64(len(c.index)) >> 32) }

func (c *compact) after(j int) int {
	if j++; j == len(c.index) {
		return 0
	}
	return j
}

// locate returns where k's cell is (key is k unpacked), or -1.
func (c *compact) locate(k ckey, key *FlowKey) int {
	if c.n+c.nfull == 0 {
		return -1
	}
	tag := k.tag()
	for j := c.home(tag); ; j = c.after(j) {
		v := c.index[j]
		if v == 0 {
			return -1
		}
		if cellTag(v) != tag {
			continue
		}
		if i, full := cellFull(v); full && c.full[i].key == *key || !full && c.slot(cellSlot(v)).key == k {
			return j
		}
	}
}

// probe returns k's attempt: its slot (else -1) or its full entry (else
// nil); key is k unpacked.
func (c *compact) probe(k ckey, key *FlowKey) (int32, *entry) {
	j := c.locate(k, key)
	if j < 0 {
		return -1, nil
	}
	if i, full := cellFull(c.index[j]); full {
		return -1, c.full[i]
	}
	return cellSlot(c.index[j]), nil
}

// reserve grows the index if one more cell would pass its load.
func (c *compact) reserve() {
	if (c.n+c.nfull+1)*4 > len(c.index)*3 {
		old := c.index
		c.index = make([]uint64, max(1024, len(old)+len(old)/4))
		for _, v := range old {
			if v != 0 {
				c.indexPut(v)
			}
		}
	}
}

// indexPut stores cell v at the first free cell from its home.
func (c *compact) indexPut(v uint64) {
	j := c.home(cellTag(v))
	for c.index[j] != 0 {
		j = c.after(j)
	}
	c.index[j] = v
}

// indexAt returns where cell want is.
func (c *compact) indexAt(want uint64) int {
	j := c.home(cellTag(want))
	for c.index[j] != want {
		j = c.after(j)
	}
	return j
}

// indexDelete removes cell want by backward shift, so that probe
// sequences never cross deleted marks.
func (c *compact) indexDelete(want uint64) { c.indexDeleteAt(c.indexAt(want)) }

// indexDeleteAt removes the cell at j by backward shift.
func (c *compact) indexDeleteAt(j int) {
	for {
		c.index[j] = 0
		n := j
		for {
			n = c.after(n)
			v := c.index[n]
			if v == 0 {
				return
			}
			if movable(uint64(c.home(cellTag(v))), uint64(j), uint64(n)) {
				c.index[j] = v
				j = n
				break
			}
		}
	}
}

// addEntry indexes e, of packed key k, which has no attempt yet.
func (c *compact) addEntry(k ckey, e *entry) {
	c.reserve()
	c.indexPut(fullCell(k.tag(), c.takeFull(e)))
}

// takeFull stores e in a free element of full and returns its number.
func (c *compact) takeFull(e *entry) int32 {
	c.nfull++
	if n := len(c.fullFree); n > 0 {
		i := c.fullFree[n-1]
		c.fullFree = c.fullFree[:n-1]
		c.full[i] = e
		return i
	}
	c.full = append(c.full, e)
	return int32(len(c.full) - 1)
}

// delEntry unindexes the full entry of k (key unpacked), if any.
func (c *compact) delEntry(k ckey, key *FlowKey) {
	j := c.locate(k, key)
	if j < 0 {
		return
	}
	i, full := cellFull(c.index[j])
	if !full {
		return
	}
	c.indexDeleteAt(j)
	c.full[i] = nil
	c.fullFree = append(c.fullFree, i)
	c.nfull--
}

// promote turns slot i into full entry e: its cell now refers to e, and
// the slot is unlisted and freed.
func (c *compact) promote(i int32, e *entry) {
	s := c.slot(i)
	tag := s.key.tag()
	j := c.indexAt(cell(tag, i))
	c.unlink(i)
	s.next, s.bits = c.free, 0 // a free slot has no transmissions
	c.free = i
	c.n--
	c.index[j] = fullCell(tag, c.takeFull(e))
}

// probe returns key's attempt: its compact slot (else -1) or its full
// entry (else nil).
func (t *Tracker) probe(key *FlowKey) (int32, *entry) {
	if k, ok := compactKey(key); ok {
		return t.cmp.probe(k, key)
	}
	return -1, t.table.get(*key)
}

// putEntry adds e, a full entry, under e.key, which has no attempt.
func (t *Tracker) putEntry(e *entry) {
	if k, ok := compactKey(&e.key); ok {
		t.cmp.addEntry(k, e)
		return
	}
	t.table.put(e)
}

// delEntry removes key's full entry, if any.
func (t *Tracker) delEntry(key FlowKey) {
	if k, ok := compactKey(&key); ok {
		t.cmp.delEntry(k, &key)
		return
	}
	t.table.del(key)
}

// entries returns how many full entries there are.
func (t *Tracker) entries() int { return t.table.len() + t.cmp.nfull }

// allEntries yields every full entry, in no particular order.
func (t *Tracker) allEntries(yield func(*entry) bool) {
	for e := range t.table.all() {
		if !yield(e) {
			return
		}
	}
	for _, e := range t.cmp.full {
		if e != nil && !yield(e) {
			return
		}
	}
}
