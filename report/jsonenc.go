package report

import (
	"strconv"
	"time"
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
	dst = time.Unix(0, ns).UTC().AppendFormat(dst, rfc3339Nanos)
	return append(dst, '"')
}

// rfc3339Nanos always prints nine fractional digits, so that timestamps
// sort as strings and line up in columns.
const rfc3339Nanos = "2006-01-02T15:04:05.000000000Z07:00"

// appendMillis appends a duration in ns as milliseconds with microsecond
// precision, or null when absent.
func appendMillis(dst []byte, ns int64, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, float64(ns)/1e6, 'f', -1, 64)
}

// appendOptUint appends v, or null when absent.
func appendOptUint(dst []byte, v uint64, ok bool) []byte {
	if !ok {
		return append(dst, "null"...)
	}
	return strconv.AppendUint(dst, v, 10)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}
