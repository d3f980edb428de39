package handshake

import (
	"reflect"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
)

// TestOutOfLine checks the values the Machine keeps in 32 bits inline and
// out of line past that (getWide, getTime): frames of a file past 4 billion
// packets, durations over 4.29 s, times far from the first segment's, on
// either side, and the SYN timestamp ring beyond its inline slot.
func TestOutOfLine(t *testing.T) {
	const big = 1<<32 + 7 // a frame number past 32 bits
	base := int64(1_700_000_000) * 1e9
	segs := []decode.Segment{
		{Timestamp: base, Frame: big, Src: cli4, Dst: srv4, Flags: fSYN, Seq: 1000, Options: ts(1, 0)},
		{Timestamp: base + 3e9, Frame: big + 1, Src: cli4, Dst: srv4, Flags: fSYN, Seq: 1000, Options: ts(2, 0)},
		{Timestamp: base + 9e9, Frame: big + 2, Src: cli4, Dst: srv4, Flags: fSYN, Seq: 1000, Options: ts(3, 0)},
		// Echoes the second SYN: 7 s after it.
		{Timestamp: base + 10e9, Frame: 2, Src: srv4, Dst: cli4, Flags: fSYNACK, Seq: 5000, Ack: 1001, Options: ts(9, 2)},
		{Timestamp: base + 16e9, Frame: 3, Src: cli4, Dst: srv4, Flags: fACK, Seq: 1001, Ack: 5001},
	}
	var m Machine
	for i := range segs {
		m.Step(&segs[i], segs[i].Src == cli4)
	}
	r := m.Result()
	if r.Verdict != Complete || len(r.Evidence) != 0 {
		t.Fatalf("%v %v, want complete without anomalies", r.Verdict, r.Evidence)
	}
	got := []int64{int64(r.SYNFrame), int64(r.SYNACKFrame), int64(r.ACKFrame), r.SYNToSYNACK, r.SYNACKToACK,
		m.FirstTS(), m.LastTS(), int64(r.SYNRetransmits)}
	want := []int64{big, 2, 3, 7e9, 6e9, base, base + 16e9, 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("frames, durations, times, retransmissions %v, want %v", got, want)
	}
	if r.Tale.synSpan != 9e6 || r.Tale.ackSpan != 0 {
		t.Errorf("SYN span %d µs, SYN-ACK span %d µs; want 9000000 and 0", r.Tale.synSpan, r.Tale.ackSpan)
	}
	if m.x == nil || m.x.ring != nil || m.x.far == nil {
		t.Errorf("out of line %+v: want the ring released after the SYN-ACK and the far values kept", m.x)
	}

	// A time before the first segment's (a reordered capture) is kept too.
	var back Machine
	back.Step(&segs[0], true)
	back.setTime(tsLastSynAck, base-5)
	if got := back.getTime(tsLastSynAck); got != base-5 {
		t.Errorf("time before the first segment's read back as %d, want %d", got, base-5)
	}
}

// TestDetachEvidence checks that two copies of a Machine go on alone once
// one of them detached what it keeps out of line.
func TestDetachEvidence(t *testing.T) {
	segs := []decode.Segment{
		{Src: cli4, Dst: srv4, Flags: fSYN, Seq: 1000, Options: ts(1, 0)},
		{Timestamp: 1e9, Src: cli4, Dst: srv4, Flags: fSYN, Seq: 1000, Options: ts(2, 0)},
		{Timestamp: 2e9, Src: srv4, Dst: cli4, Flags: fSYNACK, Seq: 5000, Ack: 1009}, // synack_wrong_ack
	}
	var a Machine
	for i := range segs[:2] {
		a.Step(&segs[i], segs[i].Src == cli4)
	}
	a.Step(&segs[2], false)
	b := a
	b.DetachEvidence()
	want := a.Result()
	more := decode.Segment{Timestamp: 3e9, Src: srv4, Dst: cli4, Flags: fSYNACK, Seq: 6000, Ack: 1001}
	b.Step(&more, false) // synack_changed_seq, synack_changed_ack
	if got := a.Result(); !reflect.DeepEqual(got, want) {
		t.Errorf("stepping the detached copy changed the original:\n%+v\nwant\n%+v", got, want)
	}
	if len(b.Result().Evidence) <= len(want.Evidence) {
		t.Errorf("the copy raised nothing: %v", b.Result().Evidence)
	}
}
