package reassembly

// The capture clock and its forward jumps (see the package documentation,
// Time).

// clock first decides a pending jump with ts (see Time), then moves the
// clock to ts, unless ts is itself a jump: it reports that instead.
func (t *Tracker) clock(ts int64) (jump bool) {
	if t.pending {
		t.pending = false
		if ts >= t.pendTS-t.idle {
			t.advance(t.pendTS)
			t.releaseWaiting()
		} else {
			t.releaseWaiting()
			t.refute()
		}
	}
	// ts-t.now in uint64 is exact once ts > t.now, even near the int64
	// limits (decode saturates absurd timestamps to them).
	if t.seen && t.idle > 0 && ts > t.now && uint64(ts-t.now) > uint64(t.idle) {
		return true
	}
	t.seen = true
	t.advance(ts)
	return false
}

// refute makes the pending outlier count as activity at the clock: its
// attempt or held segment is the only thing that can be ahead of it.
func (t *Tracker) refute() {
	t.unstamp(t.pendKey)
	if i := t.pendHeld; i >= 0 && !t.held[i].done {
		t.held[i].at = min(t.held[i].at, t.now)
	}
}

// unstamp moves the expiry time of key's attempt back to the clock where a
// refuted outlier put it ahead.
func (t *Tracker) unstamp(key FlowKey) {
	i, e := t.probe(&key)
	if i >= 0 && t.cmp.slot(i).lastTS() > t.now {
		e := t.promote(i)
		e.expTS = t.now
		t.place(e)
		return
	}
	if e != nil && e.expTS > t.now {
		e.expTS = t.now
		e.unlink()
		t.place(e)
	}
}

// releaseWaiting handles the pending outlier that waited for its jump to
// be decided.
func (t *Tracker) releaseWaiting() {
	if !t.hasWaiting {
		return
	}
	t.hasWaiting = false
	t.swap = t.waitSwap
	t.handle(&t.pendKey, &t.waiting)
	t.unref(t.pendKey)
}
