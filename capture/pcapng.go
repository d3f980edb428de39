package capture

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"math/bits"
)

// ngMagic is the block type of a pcapng Section Header Block, the first
// bytes of every pcapng file. It reads the same in both byte orders.
var ngMagic = [4]byte{0x0a, 0x0d, 0x0d, 0x0a}

// pcapng block types (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0a0d0d0a // Section Header Block
	blockIDB = 1          // Interface Description Block
	blockPB  = 2          // Packet Block (obsolete)
	blockSPB = 3          // Simple Packet Block
	blockEPB = 6          // Enhanced Packet Block
)

// Option codes read from an Interface Description Block.
const (
	optEndOfOpt  = 0
	optTSResol   = 9  // if_tsresol: 1 byte
	optTSOffset  = 14 // if_tsoffset: int64 seconds
	ngMinBlock   = 12 // type, leading length, trailing length
	ngBlockHdr   = 8  // type, leading length
	defaultResol = 6  // microseconds, when an IDB has no if_tsresol
)

// ngInterface is what an Interface Description Block says about the packets
// of its interface.
type ngInterface struct {
	linkType uint32
	snaplen  uint32 // 0: no limit
	ts       tsConv
}

// tsConv converts an interface's 64-bit time stamps to nanoseconds since
// the epoch. Exactly one of mul, div and base2 applies.
type tsConv struct {
	mul   uint64 // ns per unit (power-of-10 resolutions of 1 ns or coarser)
	div   uint64 // units per ns (power-of-10 resolutions finer than 1 ns)
	base2 bool   // a 2^-shift s resolution: ns = ts*1e9 >> shift
	shift uint
	offNs int64 // if_tsoffset in nanoseconds
}

// maxInterfaces bounds the interfaces of one pcapng section: a capture
// has a few, and a crafted file of nothing but 20-byte interface blocks
// must not make the table they fill grow with its length.
const maxInterfaces = 1 << 16

// ngReader reads pcapng blocks from br. A block of at most br.Size() bytes
// is read in place in br's buffer (valid until the next read); a larger one
// is read into buf, which is reused.
type ngReader struct {
	br       *bufio.Reader
	order    binary.ByteOrder // of the current section
	sections int              // Section Header Blocks seen
	off      int64            // offset of the next block
	ifaces   []ngInterface    // of the current section, by interface ID
	buf      []byte
	lastTS   int64 // timestamp of the previous record, for SPBs
	meta     Metadata
}

func newNgReader(br *bufio.Reader) *ngReader {
	return &ngReader{br: br}
}

func (r *ngReader) next(rec *Record) error {
	for {
		off := r.off
		typ, body, err := r.readBlock()
		if err != nil {
			return err
		}
		switch typ {
		case blockSHB:
			if err := r.section(off, body); err != nil {
				return err
			}
		case blockIDB:
			if err := r.iface(off, body); err != nil {
				return err
			}
		case blockEPB, blockPB:
			return r.packet(off, typ, body, rec)
		case blockSPB:
			return r.simplePacket(off, body, rec)
		default:
			// NRB, ISB, DSB, custom and unknown blocks carry no packets.
		}
	}
}

// readBlock reads the block at r.off, checks its framing and returns its
// type and body (the bytes between the leading and trailing lengths).
func (r *ngReader) readBlock() (uint32, []byte, error) {
	off := r.off
	// 12 bytes: the smallest block, and enough for an SHB's byte-order magic.
	hdr, err := r.br.Peek(ngMinBlock)
	if len(hdr) < ngMinBlock {
		if len(hdr) == 0 && err == io.EOF {
			return 0, nil, io.EOF
		}
		return 0, nil, readErr(off, "block header", len(hdr), ngMinBlock, err)
	}
	if [4]byte(hdr[0:4]) == ngMagic {
		// A new section: its byte-order magic sets the order of all its
		// blocks, this one's lengths included.
		switch binary.LittleEndian.Uint32(hdr[8:12]) {
		case 0x1a2b3c4d:
			r.order = binary.LittleEndian
		case 0x4d3c2b1a:
			r.order = binary.BigEndian
		default:
			if r.sections == 0 {
				return 0, nil, errAt(off, ErrNotCapture, "pcapng section header with bad byte-order magic %02x", hdr[8:12])
			}
			return 0, nil, errAt(off, ErrBadRecord, "section header with bad byte-order magic %02x", hdr[8:12])
		}
	}
	typ := r.order.Uint32(hdr[0:4])
	n := r.order.Uint32(hdr[4:8])
	switch {
	case n < ngMinBlock || n%4 != 0:
		return 0, nil, errAt(off, ErrBadRecord, "block type %#x: total length %d is below 12 or not a multiple of 4", typ, n)
	case n > maxRecord:
		return 0, nil, errAt(off, ErrBadRecord, "block type %#x: total length %d is over the %d-byte limit", typ, n, maxRecord)
	}
	block, err := r.read(int(n))
	if err != nil {
		return 0, nil, readErr(off, "block", len(block), int(n), err)
	}
	r.off += int64(n)
	if trail := r.order.Uint32(block[n-4:]); trail != n {
		return 0, nil, errAt(off, ErrBadRecord, "block type %#x: total length %d at its start, %d at its end", typ, n, trail)
	}
	return typ, block[ngBlockHdr : n-4], nil
}

// read reads the next n bytes, in place in br's buffer when they fit.
func (r *ngReader) read(n int) ([]byte, error) {
	if n <= r.br.Size() {
		b, err := r.br.Peek(n)
		if len(b) < n {
			return b, err
		}
		r.br.Discard(n) // cannot fail: the n bytes are buffered
		return b, nil
	}
	var err error
	r.buf, err = readFull(r.br, r.buf, n)
	return r.buf, err
}

// section starts a new section from a Section Header Block's body: byte-order
// magic (4), major and minor version (2+2), section length (8), options.
func (r *ngReader) section(off int64, body []byte) error {
	r.sections++
	if len(body) < 16 {
		return errAt(off, ErrBadRecord, "section header block of %d bytes, below 28", len(body)+ngMinBlock)
	}
	if major, minor := r.order.Uint16(body[4:6]), r.order.Uint16(body[6:8]); major != 1 {
		return errAt(off, ErrUnsupportedVersion, "pcapng section version %d.%d unsupported (only 1.x is read)", major, minor)
	}
	if err := r.checkOptions(off, body[16:]); err != nil {
		return err
	}
	for opts := body[16:]; len(opts) > 0; {
		code, val, rest, _ := r.option(off, opts) // checked above
		if code == optEndOfOpt {
			break
		}
		if code == optComment {
			r.meta.add(&r.meta.Comments, metaText(val))
		}
		opts = rest
	}
	r.ifaces = r.ifaces[:0] // interface IDs start again in each section
	return nil
}

// iface adds an interface from an Interface Description Block's body: link
// type (2), reserved (2), snap length (4), options.
func (r *ngReader) iface(off int64, body []byte) error {
	if len(body) < 8 {
		return errAt(off, ErrBadRecord, "interface description block of %d bytes, below 20", len(body)+ngMinBlock)
	}
	if len(r.ifaces) >= maxInterfaces {
		return errAt(off, ErrBadRecord, "more than %d interfaces in one section", maxInterfaces)
	}
	in := ngInterface{
		linkType: uint32(r.order.Uint16(body[0:2])),
		snaplen:  r.order.Uint32(body[4:8]),
	}
	resol, offset := byte(defaultResol), int64(0)
	var name, desc string
	defer func() {
		if name != "" || desc != "" {
			if name != "" && desc != "" {
				name += " – "
			}
			r.meta.add(&r.meta.Interfaces, name+desc)
		}
	}()
	for opts := body[8:]; len(opts) > 0; {
		code, val, rest, err := r.option(off, opts)
		if err != nil {
			return err
		}
		switch {
		case code == optEndOfOpt:
			rest = nil
		case code == optTSResol && len(val) == 1:
			resol = val[0]
		case code == optTSOffset && len(val) == 8:
			offset = int64(r.order.Uint64(val))
		case code == optIfName:
			name = metaText(val)
		case code == optIfDescription:
			desc = metaText(val)
		case code == optComment:
			r.meta.add(&r.meta.Comments, metaText(val))
		case code == optTSResol || code == optTSOffset:
			return errAt(off, ErrBadRecord, "interface option %d has length %d", code, len(val))
		}
		opts = rest
	}
	ts, ok := newTSConv(resol, offset)
	if !ok {
		return errAt(off, ErrBadRecord, "interface %d: impossible if_tsresol %#x", len(r.ifaces), resol)
	}
	in.ts = ts
	r.ifaces = append(r.ifaces, in)
	return nil
}

// packet reads an Enhanced Packet Block's body: interface ID (4), time stamp
// high and low (4+4), captured and original length (4+4), data padded to 4
// bytes, options. An obsolete Packet Block has the same layout except that
// its interface ID is 2 bytes followed by a 2-byte drops count.
func (r *ngReader) packet(off int64, typ uint32, body []byte, rec *Record) error {
	if len(body) < 20 {
		return errAt(off, ErrBadRecord, "packet block of %d bytes, below 32", len(body)+ngMinBlock)
	}
	var id uint32
	if typ == blockPB {
		id = uint32(r.order.Uint16(body[0:2]))
	} else {
		id = r.order.Uint32(body[0:4])
	}
	if id >= uint32(len(r.ifaces)) {
		return errAt(off, ErrBadRecord, "packet on interface %d, but the section describes %d interfaces", id, len(r.ifaces))
	}
	ts := uint64(r.order.Uint32(body[4:8]))<<32 | uint64(r.order.Uint32(body[8:12]))
	caplen := r.order.Uint32(body[12:16])
	origLen := r.order.Uint32(body[16:20])
	room := uint32(len(body) - 20)
	if caplen > room {
		return errAt(off, ErrBadRecord, "captured length %d runs past its block (%d bytes of data)", caplen, room)
	}
	// room is a multiple of 4 (block lengths are), so the padded data fits.
	if err := r.checkOptions(off, body[20+(caplen+3)&^3:]); err != nil {
		return err
	}
	in := &r.ifaces[id]
	rec.Data = body[20 : 20+caplen]
	rec.Timestamp = in.ts.nanos(ts)
	rec.OrigLen = int(origLen)
	rec.LinkType = in.linkType
	rec.Interface = int(id)
	rec.Offset = off
	r.lastTS = rec.Timestamp
	return nil
}

// simplePacket reads a Simple Packet Block's body: original length (4), then
// data. It belongs to interface 0; its captured length is the smallest of
// the original length, the interface's snap length and the data present.
func (r *ngReader) simplePacket(off int64, body []byte, rec *Record) error {
	if len(body) < 4 {
		return errAt(off, ErrBadRecord, "simple packet block of %d bytes, below 16", len(body)+ngMinBlock)
	}
	if len(r.ifaces) == 0 {
		return errAt(off, ErrBadRecord, "simple packet block, but the section describes no interface")
	}
	in := &r.ifaces[0]
	origLen := r.order.Uint32(body[0:4])
	caplen := min(origLen, uint32(len(body)-4))
	if in.snaplen != 0 {
		caplen = min(caplen, in.snaplen)
	}
	rec.Data = body[4 : 4+caplen]
	rec.Timestamp = r.lastTS // an SPB has no time stamp
	rec.OrigLen = int(origLen)
	rec.LinkType = in.linkType
	rec.Interface = 0
	rec.Offset = off
	return nil
}

// option splits the first option off opts: code (2), length (2), value
// padded to 4 bytes.
func (r *ngReader) option(off int64, opts []byte) (code uint16, val, rest []byte, err error) {
	if len(opts) < 4 {
		return 0, nil, nil, errAt(off, ErrBadRecord, "option header cut short by the end of its block")
	}
	code = r.order.Uint16(opts[0:2])
	n := int(r.order.Uint16(opts[2:4]))
	padded := (n + 3) &^ 3
	if padded > len(opts)-4 {
		return 0, nil, nil, errAt(off, ErrBadRecord, "option %d of length %d runs past its block", code, n)
	}
	return code, opts[4 : 4+n], opts[4+padded:], nil
}

// checkOptions checks that the options in opts stay within their block.
func (r *ngReader) checkOptions(off int64, opts []byte) error {
	for len(opts) > 0 {
		code, _, rest, err := r.option(off, opts)
		if err != nil {
			return err
		}
		if code == optEndOfOpt {
			return nil
		}
		opts = rest
	}
	return nil
}

// pow10 holds 10^0 to 10^19, all that fit in a uint64.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// newTSConv returns the conversion for if_tsresol resol (bit 7 clear: units
// of 10^-n s; set: 2^-n s, n in the low 7 bits) and if_tsoffset offset (in
// seconds). Like Wireshark, it refuses 10^-n for n > 19 and 2^-n for n > 63;
// ok is false for those.
func newTSConv(resol byte, offset int64) (c tsConv, ok bool) {
	n := uint(resol & 0x7f)
	switch {
	case resol&0x80 != 0:
		if n > 63 {
			return c, false
		}
		c.base2, c.shift = true, n
	case n > 19:
		return c, false
	case n <= 9:
		c.mul = pow10[9-n]
	default:
		c.div = pow10[n-9]
	}
	switch {
	case offset > math.MaxInt64/int64(1e9):
		c.offNs = math.MaxInt64
	case offset < math.MinInt64/int64(1e9):
		c.offNs = math.MinInt64
	default:
		c.offNs = offset * 1e9
	}
	return c, true
}

// nanos converts time stamp ts to nanoseconds since the epoch, clamped to
// the int64 range.
func (c *tsConv) nanos(ts uint64) int64 {
	var ns uint64
	var over bool
	switch {
	case c.base2:
		// ts*1e9 as 128 bits, shifted right: exact and cannot overflow
		// before the final check.
		hi, lo := bits.Mul64(ts, 1e9)
		if c.shift == 0 {
			ns, over = lo, hi != 0
		} else {
			ns, over = lo>>c.shift|hi<<(64-c.shift), hi>>c.shift != 0
		}
	case c.div != 0:
		ns = ts / c.div
	default:
		hi, lo := bits.Mul64(ts, c.mul)
		ns, over = lo, hi != 0
	}
	if over || ns > math.MaxInt64 {
		ns = math.MaxInt64
	}
	v := int64(ns)
	switch {
	case c.offNs > 0 && v > math.MaxInt64-c.offNs:
		return math.MaxInt64
	case c.offNs < 0 && v < math.MinInt64-c.offNs:
		return math.MinInt64
	}
	return v + c.offNs
}
