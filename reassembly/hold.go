package reassembly

import (
	"github.com/hsanalyze/hsanalyze/decode"
)

// The reorder window (Options.ReorderWindow): segments of a 4-tuple without
// an attempt that are not a bare SYN wait here, in case their SYN arrives
// late.

// held is a segment waiting in the reorder window.
type held struct {
	key  FlowKey
	swap uint8 // Tracker.swap of the segment
	seg  decode.Segment
	at   int64 // the reorder window runs from here: seg.Timestamp, except for a refuted outlier
	done bool
}

// compactHeld drops the released records at the front of held.
func (t *Tracker) compactHeld() { t.held, t.heldHead = compactQueue(t.held, t.heldHead) }

// compactQueue returns q without its consumed records q[:head], and the new
// head: emptied once all are consumed, else moved to the front when more
// than half (and over 1024) are, so that a queue used as a FIFO neither
// grows without bound nor copies on every call.
func compactQueue[T any](q []T, head int) ([]T, int) {
	switch {
	case head == len(q):
		return q[:0], 0
	case head > 1024 && head > len(q)/2:
		return q[:copy(q, q[head:])], 0
	}
	return q, head
}

// hold keeps seg, of 4-tuple key without an attempt, in the reorder window;
// with maxHeld segments waiting, the oldest one's 4-tuple is released first.
func (t *Tracker) hold(key FlowKey, seg *decode.Segment) {
	if len(t.held)-t.heldHead >= maxHeld {
		for t.heldHead < len(t.held) && t.held[t.heldHead].done {
			t.heldHead++
		}
		if t.heldHead < len(t.held) {
			t.release(t.held[t.heldHead].key)
		}
		if t.exists(key) { // the release started this 4-tuple's flow
			t.process(key, seg)
			return
		}
	}
	t.held = append(t.held, held{key: key, swap: t.swap, seg: *seg, at: seg.Timestamp})
	t.heldCount[key]++
	t.ref(key)
}

// release feeds every held segment of key, in capture order.
func (t *Tracker) release(key FlowKey) {
	n := t.heldCount[key]
	delete(t.heldCount, key)
	for i := t.heldHead; n > 0 && i < len(t.held); i++ {
		if h := &t.held[i]; !h.done && h.key == key {
			h.done = true
			n--
			t.swap = h.swap
			t.process(key, &h.seg)
			if h.at < h.seg.Timestamp { // a refuted outlier
				t.unstamp(key)
			}
			t.unref(key)
		}
	}
}

// resolve handles a SYN for a 4-tuple with held segments.
func (t *Tracker) resolve(key FlowKey, syn *decode.Segment) {
	var first *decode.Segment
	for i := t.heldHead; i < len(t.held); i++ {
		if h := &t.held[i]; !h.done && h.key == key {
			first = &h.seg
			break
		}
	}
	if !explains(syn, first) {
		t.release(key)
		t.process(key, syn)
		return
	}
	e := t.start(key, syn)
	e.m.NoteReordered(first)
	t.release(key)
}

// explains reports whether h is a reply to syn: a SYN-ACK to its sender
// acknowledging it, or its sender's next segment.
func explains(syn, h *decode.Segment) bool {
	if h == nil {
		return false
	}
	lo := syn.Seq.Add(1)
	n := uint32(syn.PayloadLen)
	switch {
	case h.Src == syn.Dst && h.Dst == syn.Src:
		return h.Flags&(decode.SYN|decode.ACK|decode.RST) == decode.SYN|decode.ACK && h.Ack.InRange(lo, n)
	case h.Src == syn.Src && h.Dst == syn.Dst:
		return h.Flags&(decode.SYN|decode.ACK) == decode.ACK && h.Seq.InRange(lo, n)
	}
	return false
}
