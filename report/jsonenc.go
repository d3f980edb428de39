package report

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The flow encoders append JSON by hand: encoding/json's reflection costs
// more than the whole analysis of a flow, and the field order must stay
// fixed. FuzzFlowJSON checks the output parses back with encoding/json.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaping as encoding/json does
// (control characters, quotes, backslashes, invalid UTF-8 as U+FFFD).
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune([]byte(s[i:]))
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendKey appends "name": after a comma unless first.
func appendKey(dst []byte, name string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// appendTime appends ns (since the Unix epoch) as an RFC 3339 UTC string
// with nanoseconds, such as "2026-11-24T10:00:00.000001000Z".
func appendTime(dst []byte, ns int64) []byte {
	dst = append(dst, '"')
	dst = appendTime3339(dst, ns)
	return append(dst, '"')
}

// appendTime3339 appends ns (since the Unix epoch) as RFC 3339 in UTC
// with nine fractional digits, so that timestamps sort as strings and line
// up in columns: the bytes of time's "2006-01-02T15:04:05.000000000Z07:00"
// layout in UTC (TestAppendTime3339 compares them), without its layout
// parsing, which cost more than the rest of a flow's fields. Every int64
// is a year from 1677 to 2262, so the year has four digits.
func appendTime3339(dst []byte, ns int64) []byte {
	var c stampCache
	return c.append(dst, ns)
}

// stampCache writes RFC 3339 timestamps as appendTime3339 does, keeping
// the date and time of day of the last second it wrote: a flow's first_ts
// and last_ts, and consecutive flows, mostly share them (TestStampCache).
// The zero value is ready to use.
type stampCache struct {
	sec, day int64
	head     [20]byte // "2006-01-02T15:04:05." of sec
	ok       bool     // sec, day and head are set
}

func (c *stampCache) append(dst []byte, ns int64) []byte {
	sec, nsec := ns/1e9, ns%1e9
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	}
	if !c.ok || sec != c.sec {
		c.set(sec)
	}
	var b [30]byte
	copy(b[:], c.head[:])
	n := int(nsec)
	b[28] = byte('0' + n%10)
	n /= 10
	for i := 26; i >= 20; i -= 2 {
		put2(b[i:], n%100)
		n /= 100
	}
	b[29] = 'Z'
	return append(dst, b[:]...)
}

// set makes head that of sec.
func (c *stampCache) set(sec int64) {
	days, sod := sec/86400, sec%86400
	if sod < 0 {
		days, sod = days-1, sod+86400
	}
	b := &c.head
	if !c.ok || days != c.day {
		y, m, d := civil(days)
		put2(b[0:], int(y/100))
		put2(b[2:], int(y%100))
		b[4] = '-'
		put2(b[5:], m)
		b[7] = '-'
		put2(b[8:], d)
		b[10] = 'T'
		b[13], b[16], b[19] = ':', ':', '.'
	}
	put2(b[11:], int(sod/3600))
	put2(b[14:], int(sod/60%60))
	put2(b[17:], int(sod%60))
	c.sec, c.day, c.ok = sec, days, true
}

// civil returns the proleptic Gregorian date of days since 1970-01-01
// (H. Hinnant's civil_from_days).
func civil(days int64) (year int64, month, day int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], from March
	day = int(doy - (153*mp+2)/5 + 1)
	month = int(mp + 3)
	if month > 12 {
		month -= 12
	}
	year = yoe + era*400
	if month <= 2 {
		year++
	}
	return year, month, day
}

const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// put2 writes v (0-99) as two digits.
func put2(b []byte, v int) {
	b[0], b[1] = digitPairs[2*v], digitPairs[2*v+1]
}

// appendUint appends v in decimal, as strconv.AppendUint(dst, v, 10) does,
// two digits at a time and inlined for one digit: most of a flow's
// numbers are small.
func appendUint(dst []byte, v uint64) []byte {
	if v < 10 {
		return append(dst, byte('0'+v))
	}
	return appendUintLong(dst, v)
}

// appendUintLong appends the digits of v in place: it counts them first
// (decimalDigits), then writes them four at a time from the right (two
// quotients a step, independent of each other), then the rest, with no
// buffer to copy from.
func appendUintLong(dst []byte, v uint64) []byte {
	n := len(dst)
	i := decimalDigits(v)
	dst = slices.Grow(dst, i)[:n+i]
	b := dst[n : n+i]
	for v >= 10000 {
		q := v / 10000
		r := uint(v - q*10000)
		v = q
		i -= 4
		hi, lo := r/100, r%100
		b[i], b[i+1] = digitPairs[2*hi], digitPairs[2*hi+1]
		b[i+2], b[i+3] = digitPairs[2*lo], digitPairs[2*lo+1]
	}
	m := uint(v)
	if m >= 100 {
		q := m / 100
		i -= 2
		b[i], b[i+1] = digitPairs[2*(m-q*100)], digitPairs[2*(m-q*100)+1]
		m = q
	}
	if m >= 10 {
		b[0], b[1] = digitPairs[2*m], digitPairs[2*m+1]
	} else {
		b[0] = byte('0' + m)
	}
	return dst
}

// decimalDigits returns how many decimal digits v has: log10 of its
// power of two (1233/4096 is just above log10 2), one more where v
// reaches the next power of ten.
func decimalDigits(v uint64) int {
	t := bits.Len64(v|1) * 1233 >> 12
	if v < powersOf10[t] {
		return t
	}
	return t + 1
}

// powersOf10 are 10^0 to 10^19, the powers of ten in a uint64.
var powersOf10 = [...]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// appendMillis appends a duration in ns as milliseconds with microsecond
// precision, or null when absent: the shortest decimal that parses back
// to float64(ns)/1e6, as strconv's 'f', -1 formats it. Below 10^15 ns
// (11 days) that decimal is ns/10^6 exactly (at most 15 significant
// digits, which a float64 tells apart), written here by hand; beyond
// that strconv does it.
func appendMillis(dst []byte, ns int64, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	if ns <= -1e15 || ns >= 1e15 {
		return strconv.AppendFloat(dst, float64(ns)/1e6, 'f', -1, 64)
	}
	if ns < 0 {
		dst = append(dst, '-')
		ns = -ns
	}
	dst = appendUint(dst, uint64(ns/1e6))
	frac := int(ns % 1e6)
	if frac == 0 {
		return dst
	}
	var b [7]byte
	b[0] = '.'
	put2(b[1:], frac/10000)
	put2(b[3:], frac/100%100)
	put2(b[5:], frac%100)
	n := len(b)
	for b[n-1] == '0' {
		n--
	}
	return append(dst, b[:n]...)
}

// plainJSON reports whether appendString would write v unchanged between
// its quotes: printable ASCII without quotes or backslashes. It tests
// eight bytes at a time (TestPlainJSON compares it with a byte loop).
func plainJSON(v []byte) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	// hasZero: some byte of x is 0; less: some byte below 0x20 (exact as
	// a yes/no once no byte has its high bit set).
	hasZero := func(x uint64) bool { return (x-ones)&^x&highs != 0 }
	for len(v) >= 8 {
		x := binary.LittleEndian.Uint64(v)
		if x&highs != 0 || (x-ones*0x20)&^x&highs != 0 || hasZero(x^ones*'"') || hasZero(x^ones*'\\') {
			return false
		}
		v = v[8:]
	}
	for _, c := range v {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}
