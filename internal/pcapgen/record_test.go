package pcapgen

import (
	"bytes"
	"net/netip"
	"testing"
	"time"
)

// testSegs covers both IP versions, options (padded and not), payloads,
// sub-microsecond timestamps and a bad checksum.
func testSegs() []Seg {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)
	c4, s4 := netip.MustParseAddrPort("10.1.2.3:40000"), netip.MustParseAddrPort("172.16.0.1:443")
	c6, s6 := netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2001:db8::2]:80")
	return []Seg{
		{Time: t0, Src: c4, Dst: s4, Seq: 1000, Flags: SYN, Options: Opts(MSS(1460), SACKPermitted(), Timestamps(1, 0), NOP(), WindowScale(7))},
		{Time: t0.Add(time.Millisecond), Src: s4, Dst: c4, Seq: 5000, Ack: 1001, Flags: SYN | ACK, Options: WindowScale(7)},
		{Time: t0.Add(2 * time.Millisecond), Src: c4, Dst: s4, Seq: 1001, Ack: 5001, Flags: PSH | ACK, Payload: bytes.Repeat([]byte("x"), 301), BadChecksum: true},
		{Time: t0.Add(3*time.Second + 7), Src: c6, Dst: s6, Seq: 1, Flags: SYN | ECE | CWR | NS, Window: 1024},
	}
}

func TestAppendRecordMatchesWriter(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var want bytes.Buffer
		w, err := NewWriter(&want, nano)
		if err != nil {
			t.Fatal(err)
		}
		got := AppendFileHeader(nil, nano)
		for _, s := range testSegs() {
			if err := w.Write(s); err != nil {
				t.Fatal(err)
			}
			if got, err = AppendRecord(got, s, nano); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("nano=%v: AppendRecord bytes differ from Writer's:\n got %x\nwant %x", nano, got, want.Bytes())
		}

		frame, err := AppendFrame(nil, testSegs()[0])
		if err != nil {
			t.Fatal(err)
		}
		raw := AppendRawRecord(AppendFileHeader(nil, nano), testSegs()[0].Time, frame, nano)
		if n := len(AppendFileHeader(nil, nano)) + RecordHeaderLen + len(frame); !bytes.Equal(raw, want.Bytes()[:n]) {
			t.Errorf("nano=%v: AppendRawRecord differs from the first record Writer wrote", nano)
		}
	}
}

func TestAppendRecordError(t *testing.T) {
	s := testSegs()[0]
	s.Dst = netip.MustParseAddrPort("[2001:db8::2]:80") // mixed IP versions
	dst := []byte("keep")
	got, err := AppendRecord(dst, s, false)
	if err == nil {
		t.Fatal("AppendRecord accepted mixed IP versions")
	}
	if string(got) != "keep" {
		t.Errorf("AppendRecord changed dst on error: %q", got)
	}
}

func TestAppendRecordNoAllocs(t *testing.T) {
	segs := testSegs()
	buf := make([]byte, 0, 1<<16)
	allocs := testing.AllocsPerRun(100, func() {
		b := buf[:0]
		for _, s := range segs {
			b, _ = AppendRecord(b, s, false)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendRecord: %v allocations per run, want 0", allocs)
	}
}

// BenchmarkWrite compares Writer with the AppendRecord bulk path for a
// typical small data segment.
func BenchmarkWrite(b *testing.B) {
	s := testSegs()[2]
	frame, _ := AppendFrame(nil, s)
	b.Run("Writer", func(b *testing.B) {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, false)
		b.ReportAllocs()
		b.SetBytes(int64(len(frame) + RecordHeaderLen))
		for b.Loop() {
			if buf.Len() > 1<<20 {
				buf.Reset()
			}
			if err := w.Write(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendRecord", func(b *testing.B) {
		buf := make([]byte, 0, 1<<20+4096)
		b.ReportAllocs()
		b.SetBytes(int64(len(frame) + RecordHeaderLen))
		for b.Loop() {
			if len(buf) > 1<<20 {
				buf = buf[:0]
			}
			var err error
			if buf, err = AppendRecord(buf, s, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}
