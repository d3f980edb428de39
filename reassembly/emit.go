package reassembly

import (
	"slices"

	"github.com/hsanalyze/hsanalyze/handshake"
)

// finish emits e's Flow and recycles e.
func (t *Tracker) finish(e *entry) {
	if e.listed() {
		e.unlink()
	}
	t.delEntry(e.key)
	t.early.used -= attemptCost(t.conn)
	r := e.m.Result()
	var early *handshake.Anomaly
	if t.early.by != nil {
		a := t.earlyDecided(e.key, e.expTS, r.ClientISN, r.HasClientISN, e.m.Closed())
		early = &a
	}
	f := &t.out
	flowOf(f, e, &r, t.ending, t.now, early, &t.kept)
	if e.key.tun != 0 {
		swap := e.swap
		if r.Flipped {
			swap ^= t.tunnelID[e.key.tun].t.Levels()
		}
		tun := t.tunnelID[e.key.tun].t.Orient(swap)
		f.Tunnel = &tun
		t.unref(e.key)
	}
	t.recycle(e)
	t.emit(f)
}

// flowOf sets f to e's attempt, whose Machine's result is r, as it ends
// with ending at now; early, if set, is its decided_early anomaly. The
// slices f gets come from kept.
func flowOf(f *Flow, e *entry, r *handshake.Result, ending handshake.Ending, now int64, early *handshake.Anomaly, kept *flowSlab) {
	client, server := e.key.lo, e.key.hi
	if e.bits&eClientLo == 0 {
		client, server = server, client
	}
	*f = Flow{Client: client, Server: server, FirstTS: e.m.FirstTS(), LastTS: e.m.LastTS(), Attempt: e.seq, File: int(e.file), Result: *r}
	if z := e.view(); z != nil {
		f.Conn, f.ConnPrior = z.conn.Summary(), z.prior
	}
	if ending != handshake.EndedNormally {
		// Still open when the input ended or was interrupted: the
		// reason says so, and how long after its last segment.
		f.EndAt(ending, now-e.m.LastTS())
	}
	if r.Flipped {
		f.Client, f.Server = f.Server, f.Client
		f.Conn.OrigIsA = !f.Conn.OrigIsA
		for i := range f.ConnPrior {
			f.ConnPrior[i].OrigIsA = !f.ConnPrior[i].OrigIsA
		}
	}
	if early != nil {
		ev := kept.anomalies(len(f.Evidence) + 1)
		copy(ev, f.Evidence)
		ev[len(ev)-1] = *early
		f.Evidence = ev
	}
	if len(f.Evidence) > 0 {
		f.Anomalies = kept.distinct(f.Evidence)
	}
}

// flowSlab hands out the Anomalies and the early-decided Evidence of
// emitted flows: pieces of chunks it allocates and never reuses, so that
// a copy of an emitted Flow (whose struct the Tracker reuses) stays valid
// as it was with slices of their own, for one allocation per many flows.
// A piece held by a copy keeps its chunk (at most a few KiB) alive.
type flowSlab struct {
	codes []handshake.Code
	anoms []handshake.Anomaly
}

// Chunk sizes of flowSlab, in elements.
const (
	slabCodes     = 1024
	slabAnomalies = 64
)

// anomalies returns a fresh slice of n anomalies, with no room to grow.
func (s *flowSlab) anomalies(n int) []handshake.Anomaly {
	if n > len(s.anoms) {
		if n > slabAnomalies/4 {
			return make([]handshake.Anomaly, n)
		}
		s.anoms = make([]handshake.Anomaly, slabAnomalies)
	}
	a := s.anoms[:n:n]
	s.anoms = s.anoms[n:]
	return a
}

// distinct returns the distinct codes of ev in order of first
// occurrence, as a fresh slice with no room to grow.
func (s *flowSlab) distinct(ev []handshake.Anomaly) []handshake.Code {
	var buf [8]handshake.Code
	codes := buf[:0]
	for i := range ev {
		if !slices.Contains(codes, ev[i].Code) {
			codes = append(codes, ev[i].Code)
		}
	}
	n := len(codes)
	if n > len(s.codes) {
		if n > slabCodes/4 {
			return slices.Clone(codes)
		}
		s.codes = make([]handshake.Code, slabCodes)
	}
	c := s.codes[:n:n]
	s.codes = s.codes[n:]
	copy(c, codes)
	return c
}
