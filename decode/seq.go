package decode

// Seq is a TCP sequence or acknowledgment number. Arithmetic and comparison
// are modulo 2^32 (RFC 9293 §3.4): never compare two Seq values with < on
// their raw uint32 form, use LessThan.
type Seq uint32

// Add returns s advanced by n, wrapping at 2^32.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Diff returns the signed distance from t to s (s - t) modulo 2^32,
// interpreted in the range [-2^31, 2^31).
func (s Seq) Diff(t Seq) int32 { return int32(uint32(s) - uint32(t)) }

// LessThan reports whether s comes before t in sequence space.
func (s Seq) LessThan(t Seq) bool { return s.Diff(t) < 0 }

// InRange reports whether s lies in [lo, lo+n] in sequence space, such as
// an acknowledgment of a SYN (lo = ISN+1) and up to n bytes of its data.
// n must stay below 2^31.
func (s Seq) InRange(lo Seq, n uint32) bool {
	d := s.Diff(lo)
	return d >= 0 && uint32(d) <= n
}
