package reassembly

import "github.com/hsanalyze/hsanalyze/handshake"

// Deferred is an attempt the Tracker decided while it was still compact
// (SYN-only, compact.go), handed to Options.Defer instead of being
// emitted: its slot and what deciding it added. Building its Flow replays
// the slot's SYNs through a Machine, most of what emitting such an
// attempt costs, so a Builder can do it on a goroutine other than the
// Tracker's (on a flood, a third of the tracking work). A Deferred holds
// no pointers: a copy is complete.
type Deferred struct {
	slot     cslot
	now      int64
	ending   handshake.Ending
	early    handshake.Anomaly // decided_early, if hasEarly
	hasEarly bool
}

// Builder builds the Flows of Deferred attempts; it is used by one
// goroutine at a time.
type Builder struct {
	conn bool // Zeek's view, as the Tracker keeps it (Options.NoConnState)
	e    entryZ
	out  Flow
	kept flowSlab
}

// NewBuilder returns a Builder for the Deferred attempts of a Tracker made
// with opts.
func NewBuilder(opts Options) *Builder { return &Builder{conn: !opts.NoConnState} }

// Flow returns d's attempt exactly as the Tracker would have emitted it.
// The Flow is valid until the next call; its slices stay valid.
func (b *Builder) Flow(d *Deferred) *Flow {
	m := b.e.m // its out-of-line memory, reused (Machine.Reset)
	m.Reset()
	b.e = entryZ{}
	e := &b.e.entry
	e.m = m
	if b.conn {
		e.bits = eZeek
	}
	d.slot.fill(e)
	r := e.m.Result()
	var early *handshake.Anomaly
	if d.hasEarly {
		early = &d.early
	}
	flowOf(&b.out, e, &r, d.ending, d.now, early, &b.kept)
	return &b.out
}

// deferCompact emits slot i's attempt, decided: it hands it to
// Options.Defer, or to the Tracker's own Builder without one. The
// tombstone of an early decision is recorded here, from the slot alone: a
// compact attempt has seen only bare SYNs with one sequence number, so
// its Machine has the client's ISN and is not closed.
func (t *Tracker) deferCompact(i int32) {
	s := t.cmp.slot(i)
	d := &t.deferred
	*d = Deferred{slot: *s, now: t.now, ending: t.ending}
	if t.early.by != nil {
		d.early, d.hasEarly = t.earlyDecided(s.key.flowKey(), s.lastTS(), s.isn, true, false), true
	}
	if !t.flushing {
		t.cmp.release(i)
	}
	t.early.used -= compactBytes
	t.deferFn(d)
}
