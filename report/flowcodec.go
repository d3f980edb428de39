package report

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// The flow codec: a compact, lossless binary encoding of reassembly.Flow
// that the sinks which must sort flows before writing them (JSON, the --all
// table) hold instead of the flows themselves. A typical flow takes 60-90
// bytes (varints, no field names) against ~900 as JSON and ~220 as a Go
// value with pointers.
//
// Every field of reassembly.Flow and handshake.Result is encoded: when you
// add one, add it to appendFlowRecord and decodeFlowRecord (in the same
// place of both); TestFlowCodecCoversEveryField fails until you do.

// appendFlowRecord appends f's encoding to dst.
func appendFlowRecord(dst []byte, f *reassembly.Flow) []byte {
	e := recEncoder{b: dst}
	e.addrPort(f.Client)
	e.addrPort(f.Server)
	e.int(f.FirstTS)
	e.int(f.LastTS - f.FirstTS)
	e.uint(f.Attempt)
	e.int(int64(f.File))
	e.uint(uint64(len(f.Anomalies)))
	for _, c := range f.Anomalies {
		e.uint(uint64(c))
	}
	r := &f.Result
	e.uint(uint64(len(r.Evidence)))
	for i := range r.Evidence {
		a := &r.Evidence[i]
		e.uint(uint64(a.Code))
		e.uint(a.Frame)
		e.int(int64(a.File))
		e.str(a.Field)
		e.uint(a.Seen)
		e.uint(a.Expected)
		e.bools(a.HasValues)
	}
	e.uint(uint64(r.ClientISN))
	e.uint(uint64(r.ServerISN))
	e.uint(r.SYNFrame)
	e.uint(r.SYNACKFrame)
	e.uint(r.ACKFrame)
	e.int(r.SYNToSYNACK)
	e.int(r.SYNACKToACK)
	e.uint(uint64(r.ClientPackets))
	e.uint(uint64(r.ServerPackets))
	e.options(r.ClientOptions)
	e.options(r.ServerOptions)
	e.uint(uint64(r.SYNRetransmits))
	e.uint(uint64(r.SYNACKRetransmits))
	e.uint(uint64(r.DuplicateACKs))
	e.b = append(e.b, byte(r.Verdict), byte(r.FastOpen), byte(r.Close), byte(r.ClientState), byte(r.ServerState))
	e.bools(r.HasClientISN, r.HasServerISN, r.HasSYNToSYNACK, r.HasSYNACKToACK, r.ECN, r.Flipped)
	e.tunnel(f.Tunnel)
	e.conn(&f.Conn, f.FirstTS)
	e.uint(uint64(len(f.ConnPrior)))
	for i := range f.ConnPrior {
		e.conn(&f.ConnPrior[i], f.FirstTS)
	}
	e.b = r.Tale.AppendBinary(e.b)
	return e.b
}

// conn writes a Zeek conn.log view; its time relative to the flow's.
func (e *recEncoder) conn(c *connstate.Summary, base int64) {
	e.b = append(e.b, byte(c.State), c.HistLen)
	e.b = append(e.b, c.History[:min(int(c.HistLen), len(c.History))]...)
	e.bools(c.OrigIsA, c.HasDuration)
	e.int(c.FirstTS - base)
	e.int(c.Duration)
	for _, v := range [...]uint64{c.OrigBytes, c.RespBytes, c.MissedBytes, c.OrigPkts, c.OrigIPBytes, c.RespPkts, c.RespIPBytes} {
		e.uint(v)
	}
}

// decodeFlowRecord decodes one record from b into f, reusing f's slices.
func decodeFlowRecord(b []byte, f *reassembly.Flow) error {
	d := recDecoder{b: b}
	// Reuse what a previous decode into f allocated.
	anomalies, evidence, tunnel := f.Anomalies[:0], f.Evidence[:0], f.Tunnel
	*f = reassembly.Flow{}
	f.Client = d.addrPort()
	f.Server = d.addrPort()
	f.FirstTS = d.int()
	f.LastTS = f.FirstTS + d.int()
	f.Attempt = d.uint()
	f.File = int(d.int())
	for n := d.count(); n > 0; n-- {
		anomalies = append(anomalies, handshake.Code(d.uint()))
	}
	if len(anomalies) > 0 {
		f.Anomalies = anomalies
	}
	r := &f.Result
	for n := d.count(); n > 0; n-- {
		var a handshake.Anomaly
		a.Code = handshake.Code(d.uint())
		a.Frame = d.uint()
		a.File = int(d.int())
		a.Field = d.str()
		a.Seen = d.uint()
		a.Expected = d.uint()
		d.bools(&a.HasValues)
		evidence = append(evidence, a)
	}
	if len(evidence) > 0 {
		r.Evidence = evidence
	}
	r.ClientISN = decode.Seq(d.uint())
	r.ServerISN = decode.Seq(d.uint())
	r.SYNFrame = d.uint()
	r.SYNACKFrame = d.uint()
	r.ACKFrame = d.uint()
	r.SYNToSYNACK = d.int()
	r.SYNACKToACK = d.int()
	r.ClientPackets = uint32(d.uint())
	r.ServerPackets = uint32(d.uint())
	r.ClientOptions = d.options()
	r.ServerOptions = d.options()
	r.SYNRetransmits = uint16(d.uint())
	r.SYNACKRetransmits = uint16(d.uint())
	r.DuplicateACKs = uint16(d.uint())
	r.Verdict = handshake.Verdict(d.byte())
	r.FastOpen = handshake.FastOpen(d.byte())
	r.Close = handshake.Close(d.byte())
	r.ClientState = handshake.State(d.byte())
	r.ServerState = handshake.State(d.byte())
	d.bools(&r.HasClientISN, &r.HasServerISN, &r.HasSYNToSYNACK, &r.HasSYNACKToACK, &r.ECN, &r.Flipped)
	f.Tunnel = d.tunnel(tunnel)
	d.conn(&f.Conn, f.FirstTS)
	if n := d.count(); n > 0 {
		f.ConnPrior = make([]connstate.Summary, n)
		for i := range f.ConnPrior {
			d.conn(&f.ConnPrior[i], f.FirstTS)
		}
	}
	if n, err := r.Tale.DecodeBinary(d.b); err != nil {
		d.fail()
	} else {
		d.b = d.b[n:]
	}
	if d.err != nil || len(d.b) != 0 {
		return errBadRecord
	}
	return nil
}

var errBadRecord = errors.New("corrupt flow record")

type recEncoder struct{ b []byte }

func (e *recEncoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *recEncoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }

func (e *recEncoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

// bools packs up to 8 flags into one byte.
func (e *recEncoder) bools(bs ...bool) {
	var v byte
	for i, b := range bs {
		if b {
			v |= 1 << i
		}
	}
	e.b = append(e.b, v)
}

// Address kinds of addrPort.
const (
	addrInvalid byte = iota
	addr4
	addr6
	addr6Zone
)

func (e *recEncoder) addrPort(ap netip.AddrPort) {
	a := ap.Addr()
	switch {
	case !a.IsValid():
		e.b = append(e.b, addrInvalid)
	case a.Is4():
		v := a.As4()
		e.b = append(append(e.b, addr4), v[:]...)
	case a.Zone() != "":
		v := a.As16()
		e.b = append(append(e.b, addr6Zone), v[:]...)
		e.str(a.Zone())
	default:
		v := a.As16()
		e.b = append(append(e.b, addr6), v[:]...)
	}
	e.b = binary.BigEndian.AppendUint16(e.b, ap.Port())
}

// tunnel writes the number of levels (0 for plain traffic), then each
// level's type, ID flag, ID and outer addresses.
func (e *recEncoder) tunnel(t *decode.Tunnel) {
	e.uint(uint64(t.Len()))
	for i := range t.Len() {
		l := t.Level(i)
		e.b = append(e.b, byte(l.Type))
		e.bools(l.HasID)
		e.uint(uint64(l.ID))
		e.addrPort(netip.AddrPortFrom(l.Src, 0))
		e.addrPort(netip.AddrPortFrom(l.Dst, 0))
	}
}

func (e *recEncoder) options(o handshake.SynOptions) {
	e.uint(uint64(o.Present))
	e.uint(uint64(o.MSS))
	e.b = append(e.b, o.WindowScale, o.CookieLen)
}

// recDecoder reads what recEncoder wrote; the first error sticks and
// yields zero values from then on.
type recDecoder struct {
	b   []byte
	err error
}

func (d *recDecoder) fail() { d.err, d.b = errBadRecord, nil }

func (d *recDecoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *recDecoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length, which cannot exceed the bytes left.
func (d *recDecoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *recDecoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// take returns the next n bytes; past the end (an error), n zero bytes.
func (d *recDecoder) take(n int) []byte {
	if n > len(d.b) {
		d.fail()
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

// evidenceFields are the Anomaly.Field values, returned without allocating.
var evidenceFields = []string{"", handshake.FieldAck, handshake.FieldSeq, handshake.FieldFlags,
	handshake.FieldTSecr, handshake.FieldWindowScale, handshake.FieldMSS, handshake.FieldOptions}

func (d *recDecoder) str() string {
	b := d.take(d.count())
	for _, s := range evidenceFields {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

func (d *recDecoder) bools(bs ...*bool) {
	v := d.byte()
	for i, b := range bs {
		*b = v&(1<<i) != 0
	}
}

// tunnel reads what recEncoder.tunnel wrote: nil for plain traffic.
// tunnel decodes a tunnel context into reuse when it is not nil.
func (d *recDecoder) tunnel(reuse *decode.Tunnel) *decode.Tunnel {
	n := d.uint()
	if n == 0 {
		return nil
	}
	if n > decode.MaxNesting {
		d.fail()
		return nil
	}
	t := reuse
	if t == nil {
		t = new(decode.Tunnel)
	}
	*t = decode.Tunnel{}
	for range n {
		var l decode.TunnelLevel
		l.Type = decode.TunnelType(d.byte())
		d.bools(&l.HasID)
		l.ID = uint32(d.uint())
		l.Src = d.addrPort().Addr()
		l.Dst = d.addrPort().Addr()
		t.Push(l)
	}
	return t
}

func (d *recDecoder) conn(c *connstate.Summary, base int64) {
	c.State = connstate.State(d.byte())
	c.HistLen = d.byte()
	if int(c.HistLen) > len(c.History) {
		d.fail()
		c.HistLen = 0
	}
	copy(c.History[:], d.take(int(c.HistLen)))
	d.bools(&c.OrigIsA, &c.HasDuration)
	c.FirstTS = base + d.int()
	c.Duration = d.int()
	for _, v := range [...]*uint64{&c.OrigBytes, &c.RespBytes, &c.MissedBytes, &c.OrigPkts, &c.OrigIPBytes, &c.RespPkts, &c.RespIPBytes} {
		*v = d.uint()
	}
}

func (d *recDecoder) addrPort() netip.AddrPort {
	var a netip.Addr
	switch d.byte() {
	case addrInvalid:
	case addr4:
		a = netip.AddrFrom4([4]byte(d.take(4)))
	case addr6:
		a = netip.AddrFrom16([16]byte(d.take(16)))
	case addr6Zone:
		a = netip.AddrFrom16([16]byte(d.take(16))).WithZone(d.str())
	default:
		d.fail()
	}
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(d.take(2)))
}

func (d *recDecoder) options() handshake.SynOptions {
	var o handshake.SynOptions
	o.Present = decode.OptionSet(d.uint())
	o.MSS = uint16(d.uint())
	o.WindowScale = d.byte()
	o.CookieLen = d.byte()
	return o
}
