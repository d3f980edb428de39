package report

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/handshake"
)

func TestAppendTime3339(t *testing.T) {
	const layout = "2006-01-02T15:04:05.000000000Z07:00"
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(ns int64) {
		t.Helper()
		want := time.Unix(0, ns).UTC().AppendFormat(nil, layout)
		if got := appendTime3339(nil, ns); !bytes.Equal(got, want) {
			t.Fatalf("%d: %s, want %s", ns, got, want)
		}
	}
	for _, ns := range []int64{0, -1, 1, 1e9 - 1, -1e9, -1e9 - 1, 86400e9 - 1, -86400e9, math.MaxInt64, math.MinInt64, math.MinInt64 + 1,
		time.Date(2000, 2, 29, 23, 59, 59, 999999999, time.UTC).UnixNano(),
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		time.Date(1900, 2, 28, 12, 0, 0, 1, time.UTC).UnixNano(),
		time.Date(1700, 12, 31, 0, 0, 0, 0, time.UTC).UnixNano(),
	} {
		check(ns)
	}
	for range 200_000 {
		check(int64(rng.Uint64()))
		check(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).UnixNano() + rng.Int64N(400*86400e9))
	}
	// Every day boundary over four centuries either side of the epoch.
	for d := int64(-146097); d <= 2*146097; d++ {
		check(d*86400e9 - 1)
		check(d * 86400e9)
	}
}

func TestAppendMillis(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(ns int64) {
		t.Helper()
		want := strconv.AppendFloat(nil, float64(ns)/1e6, 'f', -1, 64)
		if got := appendMillis(nil, ns, true); !bytes.Equal(got, want) {
			t.Fatalf("%d: %s, want %s", ns, got, want)
		}
	}
	for _, ns := range []int64{0, 1, -1, 10, 100, 1000, 999_999, 1e6, 1e6 + 1, 1e15 - 1, -(1e15 - 1), 1e15, -1e15, math.MaxInt64, math.MinInt64, 1<<53 - 1, 1 << 53} {
		check(ns)
	}
	for range 300_000 {
		check(rng.Int64N(2e15) - 1e15)
		check(rng.Int64N(10e9)) // up to 10 s
		check(rng.Int64N(1e6) * 1000)
		check(int64(rng.Uint64()))
	}
	if got := string(appendMillis(nil, 5, false)); got != "null" {
		t.Errorf("absent: %s", got)
	}
}

// TestPlainNames checks that every name appendFlow writes as plain needs
// no JSON escaping and no CSV quoting, for every value of the enums, in
// range or not.
func TestPlainNames(t *testing.T) {
	for v := range 256 {
		for _, s := range []string{
			handshake.Verdict(v).String(), handshake.FastOpen(v).String(),
			handshake.Close(v).String(), handshake.State(v).String(),
			handshake.Code(v).String(),
		} {
			if got := string(appendString(nil, s)); got != `"`+s+`"` {
				t.Errorf("%q escapes as %s", s, got)
			}
			if got := string(appendCSVCell(nil, []byte(s))); got != s {
				t.Errorf("%q is quoted in CSV as %s", s, got)
			}
		}
	}
}

func TestAppendUint(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(v uint64) {
		t.Helper()
		if got, want := appendUint([]byte("x"), v), strconv.AppendUint([]byte("x"), v, 10); !bytes.Equal(got, want) {
			t.Fatalf("%d: %s, want %s", v, got, want)
		}
	}
	for v := range uint64(100_000) {
		check(v)
	}
	for p := uint64(1); p < math.MaxUint64/10; p *= 10 {
		check(p - 1)
		check(p)
		check(p + 1)
	}
	check(math.MaxUint64)
	for range 100_000 {
		check(rng.Uint64())
		check(rng.Uint64() >> rng.IntN(64))
	}
}

func TestAppendTableTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 100_000 {
		ns := int64(rng.Uint64())
		for _, layout := range []string{"15:04:05.000000", "2006-01-02 15:04:05.000000"} {
			want := time.Unix(0, ns).UTC().Format(layout)
			if got := string(appendTableTime(nil, ns, len(layout) > 15)); got != want {
				t.Fatalf("%d %q: %s, want %s", ns, layout, got, want)
			}
		}
	}
}

// TestStampCache writes runs of timestamps through one stampCache, as a
// flow's first_ts and last_ts and consecutive flows reach it (the same
// second, the same day, the next day, back in time), and compares each
// with a fresh appendTime3339.
func TestStampCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	var c stampCache
	ns := time.Date(2026, 11, 24, 23, 59, 58, 0, time.UTC).UnixNano()
	for range 1_000_000 {
		switch rng.IntN(6) {
		case 0:
			ns += rng.Int64N(1e6)
		case 1:
			ns += rng.Int64N(3e9)
		case 2:
			ns += rng.Int64N(2 * 86400e9)
		case 3:
			ns -= rng.Int64N(86400e9)
		case 4:
			ns = -rng.Int64N(3e9) // around the epoch, before it
		default:
			ns = int64(rng.Uint64())
		}
		if got, want := c.append([]byte("x"), ns), appendTime3339([]byte("x"), ns); !bytes.Equal(got, want) {
			t.Fatalf("%d: %s, want %s", ns, got, want)
		}
	}
}

// TestPlainJSON compares plainJSON with a byte loop, on strings of every
// length up to 40 with one byte of any value anywhere.
func TestPlainJSON(t *testing.T) {
	slow := func(v []byte) bool {
		for _, c := range v {
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				return false
			}
		}
		return true
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for n := range 41 {
		v := make([]byte, n)
		for i := range v {
			v[i] = byte(' ' + rng.IntN(2)) // space or !: plain
		}
		for i := range n {
			old := v[i]
			for c := range 256 {
				v[i] = byte(c)
				if got, want := plainJSON(v), slow(v); got != want {
					t.Fatalf("%q: %v, want %v", v, got, want)
				}
			}
			v[i] = old
		}
		if !plainJSON(v) || !slow(v) {
			t.Fatalf("%q not plain", v)
		}
	}
}

// BenchmarkAppendUint writes numbers of the sizes a flow has: ports,
// ISNs, frame numbers, counts.
func BenchmarkAppendUint(b *testing.B) {
	vals := []uint64{51234, 443, 2864434397, 1450744508, 4_001_234, 4_001_236, 3, 0, 1460, 7, 12, 65535}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for _, v := range vals {
			buf = appendUint(buf, v)
		}
	}
}
