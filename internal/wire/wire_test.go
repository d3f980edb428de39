package wire

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

type inner struct {
	a  uint8
	B  int16
	ok bool
}

type sample struct {
	ts     int64
	frame  uint64
	n      int
	u32    uint32
	name   string
	addr   netip.Addr
	ap     netip.AddrPort
	arr    [3]inner
	list   []inner
	nested struct{ x, y int64 }
	ptr    *inner
	nilPtr *inner
}

func sampleValue() sample {
	return sample{
		ts: 1_764_000_000_123_456_789, frame: 42, n: -7, u32: 0xdeadbeef, name: "ack",
		addr: netip.MustParseAddr("2001:db8::1"), ap: netip.MustParseAddrPort("10.0.0.1:443"),
		arr:    [3]inner{{1, -2, true}, {}, {255, 32767, false}},
		list:   []inner{{9, -9, true}},
		nested: struct{ x, y int64 }{-1, 1 << 62},
		ptr:    &inner{7, 7, true},
	}
}

// TestRoundTrip encodes unexported fields of every supported kind, alone
// and relative to a previous value, and reads them back.
func TestRoundTrip(t *testing.T) {
	c, err := For[sample]()
	if err != nil {
		t.Fatal(err)
	}
	v := sampleValue()
	prev := v
	prev.ts -= 1000
	prev.frame -= 3
	for _, p := range []*sample{nil, &prev} {
		b := c.Append(nil, &v, p)
		var got sample
		rest, err := c.Read(b, &got, p)
		if err != nil || len(rest) != 0 {
			t.Fatalf("Read: %v, %d bytes left", err, len(rest))
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip (prev %v):\n got %+v\nwant %+v", p != nil, got, v)
		}
	}
	if small, full := len(c.Append(nil, &v, &prev)), len(c.Append(nil, &v, nil)); small >= full {
		t.Errorf("delta encoding is %d bytes, plain %d: deltas do not help", small, full)
	}
}

// TestCorrupt checks that every truncation of an encoding is an error, not
// a panic or a silent success.
func TestCorrupt(t *testing.T) {
	c, _ := For[sample]()
	v := sampleValue()
	b := c.Append(nil, &v, nil)
	for n := range len(b) {
		var got sample
		if _, err := c.Read(b[:n], &got, nil); !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated to %d of %d bytes: err %v", n, len(b), err)
		}
	}
	// A slice claiming more elements than there are bytes is refused
	// before anything is allocated.
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0x0f}
	type only struct{ s []inner }
	oc, _ := For[only]()
	var o only
	if _, err := oc.Read(huge, &o, nil); !errors.Is(err, ErrCorrupt) {
		t.Errorf("huge slice length: err %v", err)
	}
}

// TestLayout checks that the fingerprint follows field names and types,
// and that types wire cannot encode are refused.
func TestLayout(t *testing.T) {
	type a struct{ x, y int }
	type b struct{ x, z int }
	type c struct{ x int32 }
	ca, _ := For[a]()
	cb, _ := For[b]()
	cc, _ := For[c]()
	if ca.Layout() == cb.Layout() || ca.Layout() == cc.Layout() {
		t.Error("layouts of different types are equal")
	}
	type loop struct{ next *loop }
	if _, err := For[loop](); err == nil {
		t.Error("a type referring to itself was accepted")
	}
	if _, err := For[struct{ m map[int]int }](); err == nil {
		t.Error("a map field was accepted")
	}
}

// event is a slice element with 64-bit fields, which are written relative
// to the previous element's.
type event struct {
	at    int64
	frame uint64
	code  uint8
}

// TestSliceDeltas checks that a slice's elements round-trip, extreme
// differences included, and that close 64-bit values in consecutive
// elements take fewer bytes than their plain varints would.
func TestSliceDeltas(t *testing.T) {
	c, err := For[[]event]()
	if err != nil {
		t.Fatal(err)
	}
	near := make([]event, 100)
	for i := range near {
		near[i] = event{at: 1_764_000_000_000_000_000 + int64(i)*1000, frame: 1<<40 + uint64(i), code: uint8(i)}
	}
	far := []event{{at: -1 << 63, frame: 1<<64 - 1}, {at: 1<<63 - 1}, {at: 0, frame: 1 << 63}, {}}
	for _, v := range [][]event{nil, near, far} {
		b := c.Append(nil, &v, nil)
		var got []event
		rest, err := c.Read(b, &got, nil)
		if err != nil || len(rest) != 0 {
			t.Fatalf("Read: %v, %d bytes left", err, len(rest))
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, v)
		}
	}
	if n := len(c.Append(nil, &near, nil)); n > 100*4+20 {
		t.Errorf("100 close elements take %d bytes: not written relative to each other", n)
	}
}

// flagged has small fields that go together (a kind and its flags) beside
// a wide one, a slice and a pointer.
type flagged struct {
	kind  uint8
	ok    bool
	mss   uint16
	ts    int64
	list  []inner
	ptr   *inner
	hist  [4]byte
	score int32 // 32 bits: not small
}

// TestDictBlocks checks that a ForDict block round-trips both when it
// codes the small fields by dictionary (few distinct tuples) and when it
// falls back to columns (many), that the dictionary makes repetitive
// blocks smaller than For's, and that every truncation is an error.
func TestDictBlocks(t *testing.T) {
	plain, err := For[flagged]()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ForDict[flagged]()
	if err != nil {
		t.Fatal(err)
	}
	if c.Layout() == plain.Layout() {
		t.Error("ForDict's layout is For's: a reader could misread it")
	}
	few := make([]flagged, 1000)
	many := make([]flagged, 1000)
	for i := range few {
		k := i % 3
		few[i] = flagged{kind: uint8(k), ok: k == 1, mss: 1460 - uint16(k), ts: int64(i) * 1000, hist: [4]byte{'S', 'h', byte(k)}, score: int32(i)}
		if k == 2 {
			few[i].list = []inner{{a: 1, B: int16(i), ok: true}}
			few[i].ptr = &inner{a: uint8(i)}
		}
		many[i] = few[i]
		many[i].mss = uint16(i * 7)
	}
	for name, vs := range map[string][]flagged{"few": few, "many": many, "one": few[:1], "none": nil} {
		b := c.AppendBlock(nil, vs)
		got, rest, err := c.ReadBlock(b, nil, len(vs))
		if err != nil || len(rest) != 0 {
			t.Fatalf("%s: ReadBlock: %v, %d bytes left", name, err, len(rest))
		}
		if len(vs) > 0 && !reflect.DeepEqual(got, vs) {
			t.Errorf("%s: round trip differs", name)
		}
		for n := range len(b) {
			if _, _, err := c.ReadBlock(b[:n], nil, len(vs)); err == nil {
				t.Fatalf("%s: truncated to %d of %d bytes: no error", name, n, len(b))
			}
		}
	}
	if d, p := len(c.AppendBlock(nil, few)), len(plain.AppendBlock(nil, few)); d >= p {
		t.Errorf("few distinct tuples: %d bytes by dictionary, %d as columns", d, p)
	}
}
