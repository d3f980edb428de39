package defrag

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/decode"
)

var (
	src4 = netip.MustParseAddr("192.0.2.1")
	dst4 = netip.MustParseAddr("198.51.100.2")
	src6 = netip.MustParseAddr("2001:db8::1")
	dst6 = netip.MustParseAddr("2001:db8::2")
	sec  = int64(time.Second)
)

// payload is a 40-byte TCP SYN header (data offset 10) and 60 bytes of
// data: a 100-byte TCP segment to cut into fragments.
func payload() []byte {
	b := make([]byte, 100)
	for i := range b {
		b[i] = byte(i)
	}
	b[12] = 0xa0 // data offset 10 words
	return b
}

// frag is one fragment of p: bytes [off, end), with MF unless last.
type frag struct{ off, end int }

// add feeds the fragments of p (IPv4 unless v6) at times 0, 1 ms, ... and
// returns the datagram the last one completes, if any.
func add(d *Defragmenter, p []byte, v6 bool, id uint32, tun *decode.Tunnel, fs ...frag) *Datagram {
	var dg *Datagram
	src, dst := src4, dst4
	if v6 {
		src, dst = src6, dst6
	}
	for i, f := range fs {
		fr := decode.Fragment{V6: v6, Src: src, Dst: dst, ID: id, Proto: 6, Offset: f.off, Wire: f.end - f.off, More: f.end < len(p)}
		dg = d.Add(int64(i)*int64(time.Millisecond), &fr, tun, p[f.off:f.end])
		if dg != nil && i != len(fs)-1 {
			panic("completed early")
		}
	}
	return dg
}

func TestOrders(t *testing.T) {
	p := payload()
	cases := []struct {
		name string
		fs   []frag
	}{
		{"in-order", []frag{{0, 48}, {48, 96}, {96, 100}}},
		{"reverse", []frag{{96, 100}, {48, 96}, {0, 48}}},
		{"shuffled-with-duplicate", []frag{{48, 96}, {96, 100}, {48, 96}, {0, 48}}},
		{"overlap-same-bytes", []frag{{0, 56}, {48, 100}}},
	}
	for _, v6 := range []bool{false, true} {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				d := New(Options{})
				dg := add(d, p, v6, 7, &decode.Tunnel{}, tc.fs...)
				if dg == nil {
					t.Fatal("not completed")
				}
				if !bytes.Equal(dg.Payload, p) || dg.Wire != 100 || dg.Overlap || dg.Tiny || dg.Fragments != len(tc.fs) || dg.First.V6 != v6 {
					t.Errorf("datagram %+v", dg)
				}
				if d.Pending() != 0 || d.bytes != 0 {
					t.Errorf("%d pending, %d bytes after completion", d.Pending(), d.bytes)
				}
			})
		}
	}
}

func TestOverlapDifferentData(t *testing.T) {
	p := payload()
	evil := bytes.Clone(p)
	for i := 40; i < 60; i++ {
		evil[i] = 'X'
	}
	d := New(Options{})
	fr := func(off, end int, b []byte) *Datagram {
		f := decode.Fragment{Src: src4, Dst: dst4, ID: 1, Proto: 6, Offset: off, Wire: end - off, More: end < 100}
		return d.Add(0, &f, &decode.Tunnel{}, b[off:end])
	}
	fr(0, 48, p)
	fr(40, 64, evil) // overlaps [40, 48) with different bytes, fills [48, 64)
	dg := fr(56, 100, p)
	if dg == nil || !dg.Overlap {
		t.Fatalf("datagram %+v, want Overlap", dg)
	}
	want := bytes.Clone(p)
	copy(want[48:60], evil[48:60]) // the first bytes captured for [48, 64) were evil's
	if !bytes.Equal(dg.Payload, want) {
		t.Errorf("payload %x\nwant    %x (first captured wins)", dg.Payload, want)
	}
	if d.Stats().Overlaps != 1 {
		t.Errorf("stats %+v", d.Stats())
	}
}

func TestTinyFirstFragment(t *testing.T) {
	p := payload()
	d := New(Options{})
	// RFC 1858 §3: the first fragment holds 16 bytes, the flags are in
	// the second.
	if dg := add(d, p, false, 1, &decode.Tunnel{}, frag{0, 16}, frag{16, 100}); dg == nil || !dg.Tiny {
		t.Errorf("16-byte first fragment: %+v, want Tiny", dg)
	}
	// 24 bytes cover the fixed header but not the 40 of the data offset.
	if dg := add(d, p, false, 2, &decode.Tunnel{}, frag{0, 24}, frag{24, 100}); dg == nil || !dg.Tiny {
		t.Errorf("24-byte first fragment: %+v, want Tiny", dg)
	}
	if dg := add(d, p, false, 3, &decode.Tunnel{}, frag{0, 40}, frag{40, 100}); dg == nil || dg.Tiny {
		t.Errorf("40-byte first fragment: %+v, want not Tiny", dg)
	}
}

func TestTimeouts(t *testing.T) {
	p := payload()
	for _, tc := range []struct {
		v6      bool
		timeout int64
	}{{false, 30 * sec}, {true, 60 * sec}} {
		d := New(Options{})
		src, dst := src4, dst4
		if tc.v6 {
			src, dst = src6, dst6
		}
		f0 := decode.Fragment{V6: tc.v6, Src: src, Dst: dst, ID: 9, Proto: 6, Wire: 48, More: true}
		f1 := decode.Fragment{V6: tc.v6, Src: src, Dst: dst, ID: 9, Proto: 6, Offset: 48, Wire: 52}
		d.Add(0, &f0, &decode.Tunnel{}, p[:48])
		if dg := d.Add(tc.timeout, &f1, &decode.Tunnel{}, p[48:]); dg == nil {
			t.Errorf("v6=%v: the last fragment at exactly the timeout did not complete", tc.v6)
		}
		at := 2 * tc.timeout
		d.Add(at, &f0, &decode.Tunnel{}, p[:48])
		d.Advance(at + tc.timeout + 1)
		if dg := d.Add(at+tc.timeout+1, &f1, &decode.Tunnel{}, p[48:]); dg != nil {
			t.Errorf("v6=%v: completed past the timeout", tc.v6)
		}
		d.Flush()
		s := d.Stats()
		// The expired first fragment and the lone last one.
		if s.Incomplete != 2 || s.IncompleteFragments != 2 || s.Reassembled != 1 || d.Pending() != 0 {
			t.Errorf("v6=%v: stats %+v, pending %d", tc.v6, s, d.Pending())
		}
	}
}

func TestLimits(t *testing.T) {
	p := payload()
	// MaxBytes: each first fragment costs 48 + 64 bytes; 10 fit in 1200.
	d := New(Options{MaxBytes: 1200})
	for id := range uint32(20) {
		f := decode.Fragment{Src: src4, Dst: dst4, ID: id, Proto: 6, Wire: 48, More: true}
		d.Add(0, &f, &decode.Tunnel{}, p[:48])
	}
	if s := d.Stats(); d.Pending() != 10 || s.Evicted != 10 || d.bytes > 1200 {
		t.Errorf("pending %d, bytes %d, stats %+v", d.Pending(), d.bytes, s)
	}
	// The oldest were evicted: ID 19 completes, ID 0 does not.
	last := func(id uint32) *Datagram {
		f := decode.Fragment{Src: src4, Dst: dst4, ID: id, Proto: 6, Offset: 48, Wire: 52}
		return d.Add(0, &f, &decode.Tunnel{}, p[48:])
	}
	if last(19) == nil || last(0) != nil {
		t.Error("eviction did not take the oldest")
	}

	// MaxFragments.
	d = New(Options{MaxFragments: 4})
	for i := range 5 {
		f := decode.Fragment{Src: src4, Dst: dst4, ID: 1, Proto: 6, Offset: 8 * i, Wire: 8, More: true}
		d.Add(0, &f, &decode.Tunnel{}, p[8*i:8*i+8])
	}
	if s := d.Stats(); d.Pending() != 0 || s.Incomplete != 1 || s.IncompleteFragments != 5 {
		t.Errorf("past MaxFragments: pending %d, stats %+v", d.Pending(), s)
	}

	// A fragment past 65535 bytes is refused.
	f := decode.Fragment{Src: src4, Dst: dst4, ID: 2, Proto: 6, Offset: 65528, Wire: 100}
	if d.Add(0, &f, &decode.Tunnel{}, p); d.Pending() != 0 || d.Stats().IncompleteFragments != 6 {
		t.Errorf("ping of death buffered: %+v", d.Stats())
	}
}

func TestTunnelAndIDSeparate(t *testing.T) {
	p := payload()
	d := New(Options{})
	var vxlan decode.Tunnel
	vxlan.Push(decode.TunnelLevel{Type: decode.TunnelVXLAN, HasID: true, ID: 5, Src: src4, Dst: dst4})
	f0 := decode.Fragment{Src: src4, Dst: dst4, ID: 1, Proto: 6, Wire: 48, More: true}
	f1 := decode.Fragment{Src: src4, Dst: dst4, ID: 1, Proto: 6, Offset: 48, Wire: 52}
	d.Add(0, &f0, &vxlan, p[:48])
	if d.Add(0, &f1, &decode.Tunnel{}, p[48:]) != nil {
		t.Error("fragments of two tunnel contexts were joined")
	}
	f1.ID = 2
	if d.Add(0, &f1, &vxlan, p[48:]) != nil {
		t.Error("fragments of two IDs were joined")
	}
	f1.ID = 1
	if dg := d.Add(0, &f1, &vxlan, p[48:]); dg == nil || dg.Tunnel.String() != "vxlan=5" {
		t.Errorf("datagram %+v", dg)
	}
}

func TestSnapLengthCut(t *testing.T) {
	p := payload()
	d := New(Options{})
	f0 := decode.Fragment{Src: src4, Dst: dst4, ID: 1, Proto: 6, Wire: 48, More: true}
	f1 := decode.Fragment{Src: src4, Dst: dst4, ID: 1, Proto: 6, Offset: 48, Wire: 52}
	d.Add(0, &f0, &decode.Tunnel{}, p[:48])
	dg := d.Add(0, &f1, &decode.Tunnel{}, p[48:60]) // 40 bytes cut by the snap length
	if dg == nil || dg.Wire != 100 || !bytes.Equal(dg.Payload, p[:60]) {
		t.Errorf("datagram %+v", dg)
	}
}

// FuzzDefrag feeds arbitrary fragment sequences and checks the
// accounting: every fragment ends up reassembled, refused, given up or
// pending, and the buffered bytes stay within the limit.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{0, 0, 6, 1, 6, 6, 0, 12, 0, 2, 1, 2})
	f.Add([]byte{1, 0, 255, 255, 1, 0, 0, 0, 0, 0, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		// 64 fragments of up to 2 KiB already overflow MaxBytes many times
		// over; longer inputs add no behaviour, only minimisation time
		// (which -fuzztime does not bound).
		b = b[:min(len(b), 6*64)]
		d := New(Options{MaxBytes: 4096, MaxFragments: 8})
		data := make([]byte, 2048)
		var done uint64
		for ; len(b) >= 6; b = b[6:] {
			fr := decode.Fragment{
				V6: b[0]&1 != 0, Src: src4, Dst: dst4, ID: uint32(b[0] >> 4), Proto: 6,
				Offset: int(b[1]) * 8 * int(1+b[0]>>1&7), Wire: int(b[2]) + int(b[3]&7)<<8, More: b[3]&0x80 != 0,
			}
			n := min(fr.Wire, int(b[4])*8, len(data))
			if dg := d.Add(int64(b[5])*sec, &fr, &decode.Tunnel{}, data[:n]); dg != nil {
				done += uint64(dg.Fragments)
				if len(dg.Payload) > dg.Wire {
					t.Fatalf("payload %d > wire %d", len(dg.Payload), dg.Wire)
				}
			}
			if d.bytes > 4096 || d.bytes < 0 {
				t.Fatalf("%d bytes buffered", d.bytes)
			}
		}
		pending := 0
		for _, g := range d.table {
			pending += g.frags
		}
		s := d.Stats()
		if done+s.IncompleteFragments+uint64(pending) != s.Fragments {
			t.Fatalf("%d reassembled + %d incomplete + %d pending != %d added", done, s.IncompleteFragments, pending, s.Fragments)
		}
	})
}
