package capture

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"
)

func TestDedup(t *testing.T) {
	frame := func(n int, mark byte) []byte {
		b := bytes.Repeat([]byte{0xab}, n)
		b[n-1] = mark
		return b
	}
	rec := func(ts int64, data []byte) *Record {
		return &Record{Timestamp: ts, Data: data, OrigLen: len(data), LinkType: 1}
	}
	const us = int64(time.Microsecond)
	short, long := frame(60, 1), frame(1514, 1)
	tests := []struct {
		name   string
		reason string
		recs   []*Record
		want   []bool
	}{
		{"span_copy", "a SPAN port mirroring both directions delivers the same frame twice, µs apart",
			[]*Record{rec(0, short), rec(3*us, short)}, []bool{false, true}},
		{"span_copy_long", "a full-size frame and its copy",
			[]*Record{rec(0, long), rec(3*us, long)}, []bool{false, true}},
		{"third_copy", "a third copy matches the first, which was kept",
			[]*Record{rec(0, short), rec(us, short), rec(2*us, short)}, []bool{false, true, true}},
		{"copy_stamped_earlier", "a multi-queue NIC may stamp the copy a little before the original",
			[]*Record{rec(10*us, short), rec(8*us, short)}, []bool{false, true}},
		{"retransmission", "an identical segment a retransmission timeout later is a new frame (RFC 6298 §2.4)",
			[]*Record{rec(0, short), rec(200*int64(time.Millisecond), short)}, []bool{false, false}},
		{"header_differs", "one byte of header differs: two frames",
			[]*Record{rec(0, frame(60, 1)), rec(us, frame(60, 2))}, []bool{false, false}},
		{"tail_differs", "the last byte of a full-size frame differs: two frames",
			[]*Record{rec(0, frame(1514, 1)), rec(us, frame(1514, 2))}, []bool{false, false}},
		{"snaplen_differs", "the same frame cut at another snap length is not the same bytes",
			[]*Record{rec(0, long), {Timestamp: us, Data: long[:96], OrigLen: len(long), LinkType: 1}}, []bool{false, false}},
		{"giant_frame", "a 64 KiB TSO super-frame is no wire frame a SPAN port copies, and is not kept",
			[]*Record{rec(0, frame(64<<10, 1)), rec(us, frame(64<<10, 1))}, []bool{false, false}},
		{"link_type_differs", "the same bytes on another link type are another frame",
			[]*Record{rec(0, short), {Timestamp: us, Data: short, OrigLen: len(short), LinkType: 113}}, []bool{false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reason == "" {
				panic("reason must be provided")
			}
			d := NewDedup(DefaultDedupWindow)
			for i, r := range tt.recs {
				if got := d.Duplicate(r); got != tt.want[i] {
					t.Errorf("record %d: Duplicate = %v, want %v (%s)", i, got, tt.want[i], tt.reason)
				}
			}
		})
	}
}

// TestDedupBounded: a copy is recognised only while fewer than dedupSlots
// frames came between it and its original, and memory stays fixed.
func TestDedupBounded(t *testing.T) {
	d := NewDedup(time.Second)
	orig := &Record{Data: []byte("original frame"), OrigLen: 14}
	d.Duplicate(orig)
	for i := range dedupSlots - 1 {
		d.Duplicate(&Record{Timestamp: int64(i), Data: []byte{byte(i), 1, 2, 3}, OrigLen: 4})
	}
	if !d.Duplicate(orig) {
		t.Error("copy after 31 other frames not recognised")
	}
	d.Duplicate(&Record{Data: []byte("one more"), OrigLen: 8})
	if d.Duplicate(orig) {
		t.Error("copy after 32 other frames recognised: the window is not bounded")
	}
}

// TestDedupModel compares Dedup with a plain model (the last dedupSlots
// kept frames, compared in full) over many rotations of its slots, on
// frames drawn from a small set so that copies, near and far, are common.
// It checks the bookkeeping that lets most frames skip the scan
// (Dedup.held) after every frame.
func TestDedupModel(t *testing.T) {
	type kept struct {
		ts   int64
		data []byte
	}
	rng := rand.New(rand.NewPCG(1, 2))
	frames := make([][]byte, 40)
	for i := range frames {
		frames[i] = make([]byte, []int{7, 40, 60, 74, 1514}[i%5])
		for j := range frames[i] {
			frames[i][j] = byte(rng.IntN(3)) // few distinct bytes: shared prefixes
		}
	}
	d := NewDedup(time.Millisecond)
	var model []kept
	ts := int64(0)
	for i := range 20000 {
		ts += rng.Int64N(int64(100 * time.Microsecond))
		data := frames[rng.IntN(len(frames))]
		want := false
		for _, k := range model {
			if within(ts, k.ts, int64(time.Millisecond)) && bytes.Equal(k.data, data) {
				want = true
				break
			}
		}
		if !want {
			if model = append(model, kept{ts, data}); len(model) > dedupSlots {
				model = model[1:]
			}
		}
		if got := d.Duplicate(&Record{Timestamp: ts, Data: data, OrigLen: len(data)}); got != want {
			t.Fatalf("frame %d: Duplicate = %v, the model says %v", i, got, want)
		}
		var held [256]uint8
		for _, fp := range d.fps[:d.n] {
			held[fp>>56]++
		}
		if held != d.held {
			t.Fatalf("frame %d: held does not count the kept fingerprints", i)
		}
	}
}

func TestDedupDisabled(t *testing.T) {
	d := NewDedup(0)
	r := &Record{Data: []byte{1, 2, 3}, OrigLen: 3}
	if d.Duplicate(r) || d.Duplicate(r) {
		t.Error("a disabled Dedup reported a duplicate")
	}
}

func TestDedupNoAllocs(t *testing.T) {
	d := NewDedup(DefaultDedupWindow)
	data := bytes.Repeat([]byte{7}, 1514)
	var ts int64
	for range dedupSlots { // grow the slots once
		ts += 1000
		data[100]++
		d.Duplicate(&Record{Timestamp: ts, Data: data, OrigLen: len(data)})
	}
	if n := testing.AllocsPerRun(1000, func() {
		ts += 1000
		data[100]++
		d.Duplicate(&Record{Timestamp: ts, Data: data, OrigLen: len(data)})
	}); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

func BenchmarkDedup(b *testing.B) {
	for _, n := range []int{60, 1514} {
		b.Run(map[int]string{60: "syn", 1514: "full"}[n], func(b *testing.B) {
			d := NewDedup(DefaultDedupWindow)
			data := bytes.Repeat([]byte{7}, n)
			rec := Record{Data: data, OrigLen: n}
			b.ReportAllocs()
			b.SetBytes(int64(n))
			i := 0
			for b.Loop() {
				i++
				rec.Timestamp = int64(i) * 1000
				data[20] = byte(i)
				d.Duplicate(&rec)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
