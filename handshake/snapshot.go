package handshake

import (
	"slices"

	"github.com/hsanalyze/hsanalyze/decode"
)

// DetachEvidence gives m its own copy of what it keeps out of line
// (evidence and the state only some attempts need). A Machine is a plain
// value and may be copied to carry an attempt's state elsewhere (see
// reassembly.State); the copies share that storage until one of them calls
// DetachEvidence, after which each may go on alone.
func (m *Machine) DetachEvidence() {
	if m.x == nil {
		return
	}
	x := *m.x
	x.ev = slices.Clip(slices.Clone(x.ev))
	if x.ring != nil {
		r := *x.ring
		x.ring = &r
	}
	if x.far != nil {
		f := *x.far
		x.far = &f
	}
	m.x = &x
}

// ShiftFiles adds delta to the file index of every anomaly raised so far:
// for an attempt whose segments came from files numbered in another list
// (the parts of a merged analysis).
func (m *Machine) ShiftFiles(delta int) {
	ev := m.evidence()
	for i := range ev {
		ev[i].File += delta
	}
}

// FirstTS returns the capture time of the first segment fed, 0 before
// any.
func (m *Machine) FirstTS() int64 { return m.firstTS }

// LastTS returns the latest capture time of the segments and ICMP errors
// fed, 0 before any.
func (m *Machine) LastTS() int64 { return m.getTime(tsLast) }

// StartsNewAttempt reports whether Step would answer seg with
// Event.NewAttempt (see Step for when), without changing m: whether seg
// continues this attempt or begins the next one on its 4-tuple.
func (m *Machine) StartsNewAttempt(seg *decode.Segment, fromClient bool) bool {
	return m.has(bStarted) && seg.Flags&(decode.SYN|decode.ACK) == decode.SYN &&
		m.startsNewAttempt(seg, m.direction(seg, fromClient))
}

// Reset makes m a Machine that has seen nothing, like the zero value, but
// keeps the out-of-line memory it allocated for what only some attempts
// need, to use it again: for a Machine that replays attempt after attempt
// (reassembly.Builder). The evidence raised so far is not reused: a Result
// taken before the Reset may still hold it.
func (m *Machine) Reset() {
	x := m.x
	*m = Machine{}
	if x == nil {
		return
	}
	ring, wide := x.ring, x.far
	*x = extra{}
	if ring != nil {
		*ring = [synTSRing - 1]synTS{}
		x.ring = ring
	}
	if wide != nil {
		*wide = far{}
		x.far = wide
	}
	m.x = x
}
