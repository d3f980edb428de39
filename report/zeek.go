package report

import (
	"crypto/sha1"
	"encoding/binary"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/internal/communityid"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// zeekField is one column of the conn.log: Zeek's, in Zeek's order (as
// base/protocols/conn/main.zeek declares Conn::Info), then hsanalyze's.
type zeekField struct{ name, typ string }

var zeekFields = []zeekField{
	{"ts", "time"}, {"uid", "string"},
	{"id.orig_h", "addr"}, {"id.orig_p", "port"}, {"id.resp_h", "addr"}, {"id.resp_p", "port"},
	{"proto", "enum"}, {"service", "string"}, {"duration", "interval"},
	{"orig_bytes", "count"}, {"resp_bytes", "count"}, {"conn_state", "string"},
	{"local_orig", "bool"}, {"local_resp", "bool"}, {"missed_bytes", "count"},
	{"history", "string"}, {"orig_pkts", "count"}, {"orig_ip_bytes", "count"},
	{"resp_pkts", "count"}, {"resp_ip_bytes", "count"}, {"tunnel_parents", "set[string]"},
	{"ip_proto", "count"},
	// hsanalyze's own.
	{"hs_verdict", "string"}, {"hs_anomalies", "set[string]"},
	{"hs_syn_to_synack_ms", "double"}, {"hs_synack_to_ack_ms", "double"},
	{"community_id", "string"},
}

// zeekValue is one field of a record: unset, a number or bool written as
// is, a string, or a set of anomaly names.
type zeekValue struct {
	kind zeekKind
	text []byte           // zeekNum: the literal; zeekStr: the string, unescaped
	set  []handshake.Code // zeekSet
}

type zeekKind uint8

const (
	zeekUnset zeekKind = iota
	zeekNum
	zeekStr
	zeekSet
)

// zeekRecord fills vals (len(zeekFields)) with f's conn.log record. Its
// numbers and strings are appended to scratch, which must not be reused
// until vals is written; its set aliases f.Anomalies. It allocates
// nothing once scratch has grown (TestZeekAllocs).
func zeekRecord(vals []zeekValue, scratch []byte, f *reassembly.Flow, c *connstate.Summary, seed uint16) []byte {
	orig, resp := f.Client, f.Server
	if !c.OrigIsA {
		orig, resp = resp, orig
	}
	r := zeekRecorder{vals: vals, b: scratch, start: len(scratch)}
	r.b = appendEpoch(r.b, c.FirstTS)
	r.end(zeekNum)
	r.b = appendZeekUID(r.b, f, c)
	r.end(zeekStr)
	r.addr(orig.Addr())
	r.count(uint64(orig.Port()))
	r.addr(resp.Addr())
	r.count(uint64(resp.Port()))
	r.str("tcp")
	r.unset() // service: hsanalyze identifies no application protocol
	if c.HasDuration {
		r.b = appendEpoch(r.b, c.Duration)
		r.end(zeekNum)
		r.count(c.OrigBytes)
		r.count(c.RespBytes)
	} else {
		r.unset()
		r.unset()
		r.unset()
	}
	r.str(c.State.String())
	r.unset() // local_orig, local_resp: Site::local_nets is not configured
	r.unset()
	r.count(c.MissedBytes)
	if c.HistLen > 0 {
		r.b = append(r.b, c.History[:c.HistLen]...)
		r.end(zeekStr)
	} else {
		r.unset()
	}
	r.count(c.OrigPkts)
	r.count(c.OrigIPBytes)
	r.count(c.RespPkts)
	r.count(c.RespIPBytes)
	r.unset() // tunnel_parents: no tunnel connections are logged
	r.count(6)
	r.str(f.Verdict.String())
	r.vals[r.i] = zeekValue{kind: zeekSet, set: f.Anomalies}
	r.i++
	r.millis(f.SYNToSYNACK, f.HasSYNToSYNACK)
	r.millis(f.SYNACKToACK, f.HasSYNACKToACK)
	r.b = communityid.Append(r.b, seed, communityid.TCP, f.Client, f.Server)
	r.end(zeekStr)
	return r.b
}

// zeekRecorder fills the values of one record in order, each appended to
// b from where the previous one ended.
type zeekRecorder struct {
	vals  []zeekValue
	b     []byte
	start int // where the value being appended began
	i     int // the value being appended
}

// end makes what was appended since the previous value value i, of kind.
func (r *zeekRecorder) end(kind zeekKind) {
	r.vals[r.i] = zeekValue{kind: kind, text: r.b[r.start:len(r.b):len(r.b)]}
	r.start = len(r.b)
	r.i++
}

func (r *zeekRecorder) unset() {
	r.vals[r.i] = zeekValue{}
	r.i++
}

func (r *zeekRecorder) str(s string) {
	r.b = append(r.b, s...)
	r.end(zeekStr)
}

func (r *zeekRecorder) count(n uint64) {
	r.b = appendUint(r.b, n)
	r.end(zeekNum)
}

// addr appends a as Zeek writes an address: IPv4-mapped as IPv4.
func (r *zeekRecorder) addr(a netip.Addr) {
	if a = a.Unmap(); a.IsValid() {
		r.b = a.AppendTo(r.b)
	} else {
		r.b = append(r.b, a.String()...)
	}
	r.end(zeekStr)
}

// millis appends a duration as milliseconds with microsecond precision
// (strconv's shortest 'f' form, as appendMillis writes it), or unset.
func (r *zeekRecorder) millis(ns int64, ok bool) {
	if !ok {
		r.unset()
		return
	}
	r.b = appendMillis(r.b, ns, true)
	r.end(zeekNum)
}

// appendEpoch appends ns as seconds with 6 decimals, rounded to the
// microsecond, as Zeek writes time and interval values.
func appendEpoch(dst []byte, ns int64) []byte {
	us := ns / 1000
	if r := ns % 1000; r >= 500 {
		us++
	} else if r <= -500 {
		us--
	}
	if us < 0 {
		dst = append(dst, '-')
		us = -us
	}
	dst = strconv.AppendInt(dst, us/1e6, 10)
	dst = append(dst, '.')
	frac := us % 1e6
	for d := int64(1e5); d > 0; d /= 10 {
		dst = append(dst, byte('0'+frac/d%10))
	}
	return dst
}

// appendZeekUID appends a uid in Zeek's form ("C" and base62) derived from the
// record's identity: the attempt's endpoints, ISNs, number and verdict,
// the record's first packet time, packet counts and history, and the
// attempt's last time, so reruns over the same input give the same uids.
func appendZeekUID(dst []byte, f *reassembly.Flow, c *connstate.Summary) []byte {
	var in [2*18 + 56 + connstate.HistoryCap]byte
	b := in[:0]
	for _, ap := range [2]netip.AddrPort{f.Client, f.Server} {
		a := ap.Addr().As16()
		b = append(b, a[:]...)
		b = binary.BigEndian.AppendUint16(b, ap.Port())
	}
	b = binary.BigEndian.AppendUint64(b, uint64(c.FirstTS))
	b = binary.BigEndian.AppendUint64(b, uint64(f.LastTS))
	b = binary.BigEndian.AppendUint32(b, uint32(f.ClientISN))
	b = binary.BigEndian.AppendUint32(b, uint32(f.ServerISN))
	b = binary.BigEndian.AppendUint64(b, f.Attempt)
	b = binary.BigEndian.AppendUint64(b, c.OrigPkts)
	b = binary.BigEndian.AppendUint64(b, c.RespPkts)
	b = append(b, byte(f.Verdict))
	b = append(b, c.History[:c.HistLen]...)
	sum := sha1.Sum(b)
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	dst = append(dst, 'C')
	for _, half := range [2]uint64{binary.BigEndian.Uint64(sum[0:8]), binary.BigEndian.Uint64(sum[8:16]) >> 16} {
		for n := half; n > 0; n /= 62 {
			dst = append(dst, digits[n%62])
		}
	}
	return dst
}

// appendZeekString appends s escaped as Zeek's ASCII writer does: bytes
// outside printable ASCII, the backslash, the separator (tab) and, inside
// a set, the set separator (comma) become \xHH; a value that reads as the
// unset or empty marker gets its first byte escaped.
func appendZeekString[T string | []byte](dst []byte, s T, inSet bool) []byte {
	if len(s) == 0 {
		return append(dst, "(empty)"...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		marker := i == 0 && (string(s) == "-" || string(s) == "(empty)")
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '\t' || inSet && c == ',' || marker {
			dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// zeekWriter writes Zeek's conn.log TSV. The header's #open and #close
// times are the capture's first and last packet times, not the wall clock,
// so that output depends only on the input.
type zeekWriter struct {
	w       io.Writer
	seed    uint16
	started bool
	buf     []byte
	scratch []byte
	vals    []zeekValue
}

func newZeek(w io.Writer, seed uint16) *zeekWriter {
	return &zeekWriter{w: w, seed: seed, vals: make([]zeekValue, len(zeekFields))}
}

// zeekTime formats a header time as Zeek does (%Y-%m-%d-%H-%M-%S, UTC).
func zeekTime(ns int64) string { return time.Unix(0, ns).UTC().Format("2006-01-02-15-04-05") }

// Start writes the header; ts is the capture's first packet time.
func (z *zeekWriter) Start(ts int64) {
	if z.started {
		return
	}
	z.started = true
	b := append(z.buf, "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t"...)
	b = append(b, zeekTime(ts)...)
	b = append(b, "\n#fields"...)
	for _, f := range zeekFields {
		b = append(append(b, '\t'), f.name...)
	}
	b = append(b, "\n#types"...)
	for _, f := range zeekFields {
		b = append(append(b, '\t'), f.typ...)
	}
	z.buf = append(b, '\n')
}

// zeekRecords calls fn with each conn.log record of f, in order.
func zeekRecords(f *reassembly.Flow, fn func(*connstate.Summary)) {
	for i := range f.ConnPrior {
		fn(&f.ConnPrior[i])
	}
	fn(&f.Conn)
}

func (z *zeekWriter) Flow(f *reassembly.Flow) error {
	z.Start(f.FirstTS)
	zeekRecords(f, func(c *connstate.Summary) { z.record(f, c) })
	if len(z.buf) < 64<<10 {
		return nil
	}
	return z.flush()
}

func (z *zeekWriter) record(f *reassembly.Flow, c *connstate.Summary) {
	z.scratch = zeekRecord(z.vals, z.scratch[:0], f, c, z.seed)
	for i, v := range z.vals {
		if i > 0 {
			z.buf = append(z.buf, '\t')
		}
		switch v.kind {
		case zeekUnset:
			z.buf = append(z.buf, '-')
		case zeekNum:
			z.buf = append(z.buf, v.text...)
		case zeekStr:
			z.buf = appendZeekString(z.buf, v.text, false)
		case zeekSet:
			if len(v.set) == 0 {
				z.buf = append(z.buf, "(empty)"...)
			}
			for j, c := range v.set {
				if j > 0 {
					z.buf = append(z.buf, ',')
				}
				z.buf = appendZeekString(z.buf, c.String(), true)
			}
		}
	}
	z.buf = append(z.buf, '\n')
}

func (z *zeekWriter) flush() error {
	_, err := z.w.Write(z.buf)
	z.buf = z.buf[:0]
	return err
}

func (z *zeekWriter) Close(c *Capture, _ *Stats) error {
	z.Start(c.FirstTS)
	z.buf = append(z.buf, "#close\t"...)
	z.buf = append(z.buf, zeekTime(c.LastTS)...)
	z.buf = append(z.buf, '\n')
	return z.flush()
}
