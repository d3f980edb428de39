package capture

import (
	"bytes"
	"encoding/binary"
	"time"
)

// DefaultDedupWindow bounds how far apart in capture time two identical
// frames may be (strictly less) and still count as one frame captured
// twice. A SPAN port mirroring
// both directions of a link, or two taps merged, delivers the second copy
// microseconds after the first (the switch's forwarding delay plus the
// frame's serialisation on the mirror port); a retransmission of the same
// segment comes a retransmission timeout later, 200 ms at the least on
// Linux and 1 s by RFC 6298 §2.4, and usually differs in IP ID or TCP
// timestamps anyway.
const DefaultDedupWindow = time.Millisecond

// dedupSlots bounds the frames a Dedup remembers: a copy is recognised when
// fewer than dedupSlots frames came between it and its original.
const dedupSlots = 32

// dedupMaxLen is the longest frame a Dedup compares: wire frames, jumbo
// ones included (9216 bytes), fit; a longer record (a TSO/GRO super-frame
// of a host capture, which no SPAN port produces) is never a duplicate.
// Memory stays below dedupSlots × dedupMaxLen = 512 KiB, whatever the
// capture.
const dedupMaxLen = 16 << 10

// dedupSlot remembers one frame; its fingerprint is in Dedup.fps.
type dedupSlot struct {
	ts       int64
	origLen  int
	linkType uint32
	data     []byte // a copy of the captured bytes; reused
}

// fingerprint mixes the length, the first 64 bytes and the last 8 of a
// frame: the link, IP and TCP header fields that tell frames of one flow
// (IP ID, checksum, sequence numbers) or of a flood (addresses, ports)
// apart. Equal frames have equal fingerprints; it only spares the scan
// most byte comparisons, which then decide. Each word is multiplied by a
// constant of its own and the products summed, so that the multiplies do
// not wait for each other as in a chained hash (FNV's), then the sum is
// mixed so that its top byte (Dedup.held) depends on every word.
func fingerprint(b []byte) uint64 {
	h := uint64(len(b)) * 0x9e3779b97f4a7c15
	for i := range min(len(b), 64) / 8 {
		h += binary.LittleEndian.Uint64(b[8*i:]) * fingerprintMul[i]
	}
	if len(b) >= 8 {
		h += binary.LittleEndian.Uint64(b[len(b)-8:]) * 0x8ebc6af09c88c6e3
	} else {
		for _, c := range b {
			h = (h ^ uint64(c)) * 0x100000001b3
		}
	}
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	return h ^ h>>32
}

// fingerprintMul holds fingerprint's odd constants, one per word (read only).
var fingerprintMul = [8]uint64{
	0xff51afd7ed558ccd, 0xc4ceb9fe1a85ec53, 0x87c37b91114253d5, 0x4cf5ad432745937f,
	0x52dce729da3ed8b5, 0x38495ab5d1b7c3e9, 0xa0761d6478bd642f, 0xe7037ed1a0b428db,
}

// Dedup recognises exact duplicate frames: a record whose captured bytes,
// original length and link type equal those of one of the last 32 frames
// it kept, captured less than its window before or after it. The first copy
// is kept and the later ones are duplicates; a duplicate is not kept (a
// third copy matches the first). The bytes are compared in full, so the
// answer depends only on the input. The interface is not compared: the
// same frame seen on two interfaces of one pcapng, or in two merged files,
// is one frame.
//
// Frames should come in timestamp order (as a Merger yields them); a copy
// stamped up to the window before its original (a capture reordered by a
// multi-queue NIC) is recognised too. The zero Dedup is not usable; create
// one with NewDedup. It is not safe for concurrent use.
type Dedup struct {
	window int64
	n      int // slots written, saturating at dedupSlots
	next   int // slot written next
	// fps[i] is fingerprint(slots[i].data): scanned alone, four cache
	// lines rather than all slots, since nearly every frame matches none.
	fps [dedupSlots]uint64
	// held counts the remembered fingerprints by their top byte, so that
	// a frame whose byte no remembered frame shares (at least seven in
	// eight, as 32 fingerprints fill at most 32 of the 256) skips the
	// scan of fps.
	held  [256]uint8
	slots [dedupSlots]dedupSlot
}

// NewDedup returns a Dedup that treats identical frames less than window
// apart as one; a window of zero or less disables it (Duplicate always
// reports false).
func NewDedup(window time.Duration) *Dedup {
	return &Dedup{window: int64(window)}
}

// Duplicate reports whether rec is an exact duplicate of a frame seen
// shortly before; if not, it remembers a copy of rec's bytes (up to 16 KiB
// frames; longer ones are never duplicates). It does not keep rec.Data.
// Once its slots have grown to the frame sizes of the capture it does not
// allocate.
func (d *Dedup) Duplicate(rec *Record) bool {
	data := rec.Data
	if d.window <= 0 || len(data) > dedupMaxLen {
		return false
	}
	fp := fingerprint(data)
	if d.held[fp>>56] != 0 {
		for i, f := range d.fps[:d.n] {
			if f != fp {
				continue
			}
			s := &d.slots[i]
			if len(s.data) == len(data) && s.origLen == rec.OrigLen && s.linkType == rec.LinkType &&
				within(rec.Timestamp, s.ts, d.window) && bytes.Equal(s.data, data) {
				return true
			}
		}
	}
	if d.n == dedupSlots {
		d.held[d.fps[d.next]>>56]--
	}
	d.held[fp>>56]++
	d.fps[d.next] = fp
	s := &d.slots[d.next]
	s.ts, s.origLen, s.linkType = rec.Timestamp, rec.OrigLen, rec.LinkType
	s.data = append(s.data[:0], data...)
	d.next = (d.next + 1) % dedupSlots
	d.n = min(d.n+1, dedupSlots)
	return false
}

// within reports whether a and b are less than w apart, without overflow.
func within(a, b, w int64) bool {
	if a < b {
		a, b = b, a
	}
	return uint64(a)-uint64(b) < uint64(w)
}
