package partial

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/defrag"
	"github.com/hsanalyze/hsanalyze/internal/wire"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Magic is the first line of every partial.
const Magic = "hsanalyze-partial"

// Version is the format version this build writes and reads.
const Version = 3

// maxHeader bounds the JSON header line.
const maxHeader = 1 << 20

// Header is the partial's first JSON line: what it is and how it was made.
type Header struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// Layout fingerprints the encoding of the records (see internal/wire):
	// a partial is only read by a build that lays them out alike.
	Layout string `json:"layout"`
	// Tool is the version of hsanalyze that wrote the partial.
	Tool string `json:"tool"`
	// Options are the tracking options; merge refuses partials that differ.
	Options Options `json:"options"`
	// Files are the captures, as named on the command line.
	Files []string `json:"files"`
}

// Options are the settings that change what an analysis decides; partials
// can only be merged when theirs are equal.
type Options struct {
	IdleTimeout   time.Duration `json:"idle_timeout_ns"`
	CloseLinger   time.Duration `json:"close_linger_ns"`
	ReorderWindow time.Duration `json:"reorder_window_ns"`
	Checksums     bool          `json:"verify_checksums"`
	DedupWindow   time.Duration `json:"dedup_window_ns"`
	MaxMemory     int64         `json:"max_memory"`
}

// String names the options as command-line flags.
func (o Options) String() string {
	s := fmt.Sprintf("--idle-timeout %v --close-linger %v --reorder-window %v", o.IdleTimeout, o.CloseLinger, o.ReorderWindow)
	if o.Checksums {
		s += " --checksum"
	}
	return s + fmt.Sprintf(" --dedup-window %v --max-memory %d", o.DedupWindow, o.MaxMemory)
}

// Summary is what a part read, beside its flows.
type Summary struct {
	Packets, TCPPackets uint64
	Decoded             decode.Counters
	// FirstTS and LastTS bound the part's capture time; StartTS is the
	// timestamp of its first packet read (HasStart: one was read).
	FirstTS, LastTS, StartTS int64
	HasStart                 bool
	// TrackFirst is the timestamp of the first TCP segment or ICMP error
	// (HasTrack: one was seen): the start of the head window.
	TrackFirst int64
	HasTrack   bool
	// Flows is the number of flow records.
	Flows uint64
	// Early, Fragments, Reassembled and Duplicates are analyze.Summary's.
	Early       reassembly.EarlyStats
	Fragments   defrag.Stats
	Reassembled decode.Counters
	Duplicates  uint64
	// Warnings are the part-way damage warnings, as printed.
	Warnings []string
}

// flowRecord is one decided flow. HeadFirst marks the first attempt of a
// head 4-tuple: merge decides it again when an earlier part left an
// attempt of that 4-tuple open.
type flowRecord struct {
	HeadFirst bool
	// Same and Head refer to a head packet whose fields the flow shares
	// (see flowBlock.append; zero outside a block's encoding).
	Same uint8
	Head int32
	Flow reassembly.Flow
	// Nanos are the nanoseconds of the times that pack divides into
	// microseconds (zero outside a block's encoding).
	Nanos [5]uint16
}

// connKey identifies a connection's 4-tuple across trackers: the 4-tuple
// and its canonical tunnel context (reassembly's keys number contexts per
// Tracker), the latter as a string (empty for plain traffic) so that the
// key is small and cheap to hash.
type connKey struct {
	Tuple reassembly.FlowKey
	tun   string
}

// keyOf returns the connKey of tuple in tunnel context tun (nil or the
// zero Tunnel for plain traffic; canonical or not).
func keyOf(tuple reassembly.FlowKey, tun *decode.Tunnel) connKey {
	k := connKey{Tuple: tuple.Tuple()}
	if tun.Len() == 0 {
		return k
	}
	canon, _ := tun.Canonical()
	b := []byte{byte(canon.Len())}
	for i := range canon.Len() {
		l := canon.Level(i)
		b = append(b, byte(l.Type), boolByte(l.HasID))
		b = binary.LittleEndian.AppendUint32(b, l.ID)
		for _, a := range []netip.Addr{l.Src, l.Dst} {
			ab, _ := a.MarshalBinary() // never fails
			b = append(b, byte(len(ab)))
			b = append(b, ab...)
		}
	}
	k.tun = string(b)
	return k
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func packetKey(p *decode.Packet) connKey {
	return keyOf(reassembly.KeyOf(p.Segment.Src, p.Segment.Dst), &p.Tunnel)
}

func flowKey(f *reassembly.Flow) connKey {
	return keyOf(reassembly.KeyOf(f.Client, f.Server), f.Tunnel)
}

// tupleKey is a connection's 4-tuple as a partial stores it: the tunnel
// context (canonical), rare, by pointer.
type tupleKey struct {
	Tuple  reassembly.FlowKey
	Tunnel *decode.Tunnel
}

func (k *tupleKey) key() connKey { return keyOf(k.Tuple, k.Tunnel) }

// newTupleKey returns the tupleKey of tuple in tunnel context tun.
func newTupleKey(tuple reassembly.FlowKey, tun *decode.Tunnel) tupleKey {
	k := tupleKey{Tuple: tuple.Tuple()}
	if tun.Len() > 0 {
		canon, _ := tun.Canonical()
		k.Tunnel = &canon
	}
	return k
}

// headPacket is a packet of a head 4-tuple, in capture order. Term marks
// the packet that began the 4-tuple's second attempt in this part; Cut, on
// a 4-tuple's first packet, says that its first attempt has more packets
// than the head holds (as the section K does for the others).
type headPacket struct {
	Term, Cut bool
	Packet    decode.Packet
	// Nanos are the nanoseconds of the packet's time that a head block
	// holds apart (zero outside a block's encoding; see appendHeadBlock).
	Nanos uint16
}

// tail is what the part leaves open at its end.
type tail struct {
	State reassembly.State
	// OpenFirst are the head 4-tuples whose first attempt (or held
	// segments) is in State.
	OpenFirst []tupleKey
}

// codecs encode the records; their layouts make up Header.Layout.
type codecs struct {
	flow *wire.Codec[flowRecord]
	tail *wire.Codec[tail] // the tail but its attempts
	// attempts encodes the tail's open attempts as a block (see
	// appendTail).
	attempts *wire.Codec[reassembly.Attempt]
	head     *wire.Codec[headPacket]
	keys     *wire.Codec[[]tupleKey]
	summary  *wire.Codec[Summary]
	layout   string
}

func newCodecs() (*codecs, error) {
	c := &codecs{}
	var err error
	if c.flow, err = wire.ForDict[flowRecord](); err != nil {
		return nil, err
	}
	if c.tail, err = wire.For[tail](); err != nil {
		return nil, err
	}
	if c.attempts, err = wire.ForDict[reassembly.Attempt](); err != nil {
		return nil, err
	}
	if c.head, err = wire.ForDict[headPacket](); err != nil {
		return nil, err
	}
	if c.keys, err = wire.For[[]tupleKey](); err != nil {
		return nil, err
	}
	if c.summary, err = wire.For[Summary](); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	for _, l := range []uint64{c.flow.Layout(), c.tail.Layout(), c.attempts.Layout(), c.head.Layout(), c.keys.Layout(), c.summary.Layout()} {
		binary.Write(h, binary.LittleEndian, l) // a hash never fails
	}
	c.layout = fmt.Sprintf("%016x", h.Sum64())
	return c, nil
}

// appendTail appends the encoding of t to dst: its open attempts as a
// block, in blocks of up to tailBlockSize (each a uvarint byte length,
// then the block; an empty one ends them), so that what attempts share
// (their small fields: states, flags, options) is coded by dictionary
// and their times relative to the attempt before; then the rest of t.
func (c *codecs) appendTail(dst []byte, t *tail) []byte {
	rest := *t
	rest.State.Attempts = nil
	var block []byte
	for a := t.State.Attempts; len(a) > 0; {
		n := min(len(a), tailBlockSize)
		block = c.attempts.AppendBlock(block[:0], a[:n])
		dst = binary.AppendUvarint(dst, uint64(len(block)))
		dst = append(dst, block...)
		a = a[n:]
	}
	dst = binary.AppendUvarint(dst, 0)
	return c.tail.Append(dst, &rest, nil)
}

// tailBlockSize is the most attempts in one block of a tail: a bound on
// what a corrupt length can make the reader allocate.
const tailBlockSize = 1 << 16

// readTail decodes a tail written by appendTail into t and returns the
// rest of src.
func (c *codecs) readTail(src []byte, t *tail) ([]byte, error) {
	var attempts []reassembly.Attempt
	for {
		n, k := binary.Uvarint(src)
		if k <= 0 || n > uint64(len(src)-k) {
			return src, errCorrupt
		}
		if n == 0 {
			src = src[k:]
			break
		}
		var rest []byte
		var err error
		if attempts, rest, err = c.attempts.ReadBlock(src[k:k+int(n)], attempts, tailBlockSize); err != nil || len(rest) != 0 {
			return src, fmt.Errorf("%w: attempts: %v", errCorrupt, err)
		}
		src = src[k+int(n):]
	}
	rest, err := c.tail.Read(src, t, nil)
	if err != nil {
		return src, err
	}
	if t.State.Attempts != nil {
		return src, fmt.Errorf("%w: attempts outside their blocks", errCorrupt)
	}
	t.State.Attempts = attempts
	return rest, nil
}

// Section tags of the body.
const (
	tagFlow    = 'F'
	tagTail    = 'T'
	tagHead    = 'H'
	tagKeys    = 'K'
	tagSummary = 'S'
	tagEnd     = 'E'
)

// encoder writes a partial: the header line, then a zstd stream of tagged
// records.
type encoder struct {
	c     *codecs
	zw    *zstd.Encoder
	buf   []byte
	flows []flowRecord // the block being filled
	refs  []headRef    // their head packets
	fb    flowBlock
	err   error
}

func newEncoder(w io.Writer, c *codecs, h *Header, level zstd.EncoderLevel) (*encoder, error) {
	h.Format, h.Version, h.Layout = Magic, Version, c.layout
	line, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(w, "%s\n%s\n", Magic, line); err != nil {
		return nil, err
	}
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(4<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	return &encoder{c: c, zw: zw, fb: newFlowBlock(h.Options)}, nil
}

// record writes one tagged, length-prefixed record.
func (e *encoder) record(tag byte, body []byte) {
	if e.err != nil {
		return
	}
	var hdr [binary.MaxVarintLen64 + 1]byte
	hdr[0] = tag
	n := binary.PutUvarint(hdr[1:], uint64(len(body)))
	if _, err := e.zw.Write(hdr[:1+n]); err != nil {
		e.err = err
		return
	}
	_, e.err = e.zw.Write(body)
}

// blockSize is how many head packets make one record: columns of this
// many values compress well and stay small in memory (flows:
// flowBlockSize).
const blockSize = 4096

// flow adds r to the block being filled; ref is the first head packet of
// its 4-tuple if r is its first attempt (ref.at 0: none).
func (e *encoder) flow(r *flowRecord, ref headRef) {
	e.flows = append(e.flows, *r)
	e.refs = append(e.refs, ref)
	if len(e.flows) == flowBlockSize {
		e.flushFlows()
	}
}

func (e *encoder) flushFlows() {
	if len(e.flows) == 0 {
		return
	}
	e.buf = e.fb.append(e.c, e.buf[:0], e.flows, e.refs)
	e.record(tagFlow, e.buf)
	clear(e.flows) // let the flows' evidence go
	e.flows, e.refs = e.flows[:0], e.refs[:0]
}

// finish writes the tail, the head (its blocks of packets already
// encoded, and the 4-tuples cut short) and the summary, and closes the
// stream.
func (e *encoder) finish(t *tail, head [][]byte, truncated []tupleKey, s *Summary) error {
	e.flushFlows()
	e.buf = e.c.appendTail(e.buf[:0], t)
	e.record(tagTail, e.buf)
	for _, b := range head {
		e.record(tagHead, b)
	}
	e.buf = e.c.keys.Append(e.buf[:0], &truncated, nil)
	e.record(tagKeys, e.buf)
	e.buf = e.c.summary.Append(e.buf[:0], s, nil)
	e.record(tagSummary, e.buf)
	e.record(tagEnd, nil)
	if e.err != nil {
		return e.err
	}
	return e.zw.Close()
}

// errCorrupt is wrapped by every error about a partial's content.
var errCorrupt = errors.New("not a valid partial")

// decoder reads a partial written by encoder.
type decoder struct {
	c   *codecs
	zr  *zstd.Decoder
	rd  *bufio.Reader
	buf []byte
	// pending is a record read ahead: tag and body.
	tag  byte
	body []byte
}

// readHeader reads the magic and header lines.
func readHeader(br *bufio.Reader) (*Header, error) {
	magic, err := br.ReadSlice('\n')
	if err != nil || string(bytes.TrimSuffix(magic, []byte("\n"))) != Magic {
		return nil, fmt.Errorf("%w: does not start with %q", errCorrupt, Magic)
	}
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull || len(line) > maxHeader {
			return nil, fmt.Errorf("%w: header line: %v", errCorrupt, err)
		}
	}
	var h Header
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errCorrupt, err)
	}
	if h.Format != Magic {
		return nil, fmt.Errorf("%w: header format %q", errCorrupt, h.Format)
	}
	return &h, nil
}

func newDecoder(r io.Reader, c *codecs) (*Header, *decoder, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	h, err := readHeader(br)
	if err != nil {
		return nil, nil, err
	}
	if h.Version != Version {
		return nil, nil, fmt.Errorf("partial format version %d; this hsanalyze reads version %d (written by %s)", h.Version, Version, h.Tool)
	}
	if h.Layout != c.layout {
		return nil, nil, fmt.Errorf("written by %s, whose records are laid out differently from this build's (%s, not %s): write the partials and merge them with the same hsanalyze", h.Tool, h.Layout, c.layout)
	}
	// The decoder's window limit bounds its memory whatever the input.
	zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(4<<20), zstd.WithDecoderLowmem(true))
	if err != nil {
		return nil, nil, err
	}
	return h, &decoder{c: c, zr: zr, rd: bufio.NewReaderSize(zr, 64<<10)}, nil
}

// maxRecord bounds one record: a tail holds every open attempt, so it may
// be large, but never beyond this.
const maxRecord = 1 << 30

// next reads the next record into d.tag and d.body.
func (d *decoder) next() error {
	tag, err := d.rd.ReadByte()
	if err != nil {
		return d.truncated(err)
	}
	n, err := binary.ReadUvarint(d.rd)
	if err != nil {
		return d.truncated(err)
	}
	if n > maxRecord {
		return fmt.Errorf("%w: record of %d bytes", errCorrupt, n)
	}
	// Grow the buffer as bytes arrive, not by the length claimed.
	d.buf = d.buf[:0]
	for uint64(len(d.buf)) < n {
		chunk := min(n-uint64(len(d.buf)), 1<<20)
		start := len(d.buf)
		d.buf = append(d.buf, make([]byte, chunk)...)
		if _, err := io.ReadFull(d.rd, d.buf[start:]); err != nil {
			return d.truncated(err)
		}
	}
	d.tag, d.body = tag, d.buf
	return nil
}

func (d *decoder) truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: truncated", errCorrupt)
	}
	return fmt.Errorf("%w: %v", errCorrupt, err)
}

func (d *decoder) close() { d.zr.Close() }

// part is the content of a partial but its flows, which are streamed.
type part struct {
	header  *Header
	summary Summary
	tail    tail
	head    storedHead
}

// storedHead is a part's head as read: its blocks of packets still
// encoded (a decoded packet takes several times its encoding; merge walks
// them once, in order), and the 4-tuples cut short.
type storedHead struct {
	blocks    [][]byte
	Truncated []tupleKey
}

// headIndex finds a stored head's packets by index, for the flows that
// refer to them (headRef): it decodes the block holding the packet asked
// for and keeps the headRefs of the last headCacheBlocks blocks decoded.
// The flows of a flow block ask in increasing order, and the flow blocks
// (in emission order) of overlapping stretches of the head.
type headIndex struct {
	c      *codecs
	h      *storedHead
	starts []int             // the index of each block's first packet, then the count
	refs   map[int][]headRef // by block
	order  []int             // the blocks in refs, oldest first
	pkts   []headPacket      // scratch
}

// headCacheBlocks is how many head blocks' headRefs a headIndex keeps
// (some 400 KB each: 13 MB at most).
const headCacheBlocks = 32

func newHeadIndex(c *codecs, h *storedHead) (*headIndex, error) {
	x := &headIndex{c: c, h: h, refs: make(map[int][]headRef), starts: make([]int, 0, len(h.blocks)+1)}
	n := 0
	for _, b := range h.blocks {
		k, err := blockLen(b, blockSize)
		if err != nil {
			return nil, fmt.Errorf("%w: head packets after the %dth", errCorrupt, n)
		}
		x.starts = append(x.starts, n)
		n += int(k)
	}
	x.starts = append(x.starts, n)
	return x, nil
}

// ref returns the headRef of the packet at (1 + its index).
func (x *headIndex) ref(at int) (headRef, error) {
	i := at - 1
	if i < 0 || i >= x.starts[len(x.starts)-1] {
		return headRef{}, fmt.Errorf("%w: a flow refers to head packet %d of %d", errCorrupt, at, x.starts[len(x.starts)-1])
	}
	// The block whose start is the last one not after i.
	b := sort.Search(len(x.starts)-1, func(k int) bool { return x.starts[k+1] > i })
	refs, ok := x.refs[b]
	if !ok {
		var err error
		if x.pkts, _, err = x.c.readHeadBlock(x.h.blocks[b], x.pkts[:0]); err != nil {
			return headRef{}, fmt.Errorf("%w: head packets: %v", errCorrupt, err)
		}
		if len(x.order) == headCacheBlocks {
			refs = x.refs[x.order[0]][:0] // reused
			delete(x.refs, x.order[0])
			x.order = x.order[1:]
		}
		refs = x.keep(b, x.pkts, refs)
	}
	return refs[i-x.starts[b]], nil
}

// each decodes the head's packets in order, one block at a time, passing
// each to fn; it stops at fn's first error. It keeps the headRefs of the
// blocks it decodes while it has room, for the flows read next.
func (x *headIndex) each(fn func(*headPacket) error) error {
	var block []headPacket
	for b, raw := range x.h.blocks {
		var err error
		if block, _, err = x.c.readHeadBlock(raw, block[:0]); err != nil {
			return fmt.Errorf("%w: head packets: %v", errCorrupt, err)
		}
		if _, ok := x.refs[b]; !ok && len(x.order) < headCacheBlocks {
			x.keep(b, block, nil)
		}
		for i := range block {
			if err := fn(&block[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// keep adds the headRefs of block b, decoded as pkts, to the cache,
// appending them to refs (reused).
func (x *headIndex) keep(b int, pkts []headPacket, refs []headRef) []headRef {
	for k := range pkts {
		refs = append(refs, refOf(x.starts[b]+k+1, &pkts[k].Packet.Segment))
	}
	x.refs[b], x.order = refs, append(x.order, b)
	return refs
}

// readMode says what readAll decodes.
type readMode uint8

const (
	// readCheck decodes every record, to find a corrupt partial before
	// anything is merged; it keeps the summary only.
	readCheck readMode = iota
	// readBoundary keeps the tail and the head; flows are only counted.
	readBoundary
	// readFlows passes the flows to readAll's callback and skips the tail
	// and the head.
	readFlows
	// readPlan keeps the summary only, like readCheck, but decodes only
	// what the plan needs: the flows, the tail and the head are counted
	// and their framing checked, not decoded (see OpenPlan).
	readPlan
)

// readAll reads the whole partial as mode says, passing every block of
// flow records to blockFn in readFlows (which returns the slice to read the
// next block into: the same one, or another if it keeps the block), and
// returns the rest. index finds the partial's head packets (as
// readBoundary read them), which the flows of readFlows refer to.
func (d *decoder) readAll(h *Header, mode readMode, blockFn func([]flowRecord) []flowRecord, index *headIndex) (*part, error) {
	p := &part{header: h}
	if mode == readFlows && index == nil {
		return nil, errors.New("partial: reading flows without their head")
	}
	var block []flowRecord
	fb := newFlowBlock(h.Options)
	var err error
	for {
		if err = d.next(); err != nil {
			return nil, err
		}
		if d.tag != tagFlow {
			break
		}
		if mode != readCheck && mode != readFlows {
			n, err := flowBlockLen(d.body)
			if err != nil {
				return nil, fmt.Errorf("%w: flows after the %dth", errCorrupt, p.summary.Flows)
			}
			p.summary.Flows += n
			continue
		}
		if block, err = fb.read(d.c, d.body, block, index); err != nil {
			return nil, fmt.Errorf("%w: flows after the %dth", errCorrupt, p.summary.Flows)
		}
		p.summary.Flows += uint64(len(block))
		if blockFn != nil {
			block = blockFn(block)
		}
	}
	if d.tag != tagTail {
		return nil, fmt.Errorf("%w: section %q where the tail belongs", errCorrupt, d.tag)
	}
	if mode == readCheck || mode == readBoundary {
		if err := d.exact(d.c.readTail(d.body, &p.tail)); err != nil {
			return nil, fmt.Errorf("%w: tail: %v", errCorrupt, err)
		}
		if mode == readCheck {
			p.tail = tail{}
		}
	}
	var heads []headPacket
	headN := 0 // head packets read (readCheck)
	for n := 0; ; {
		if err = d.next(); err != nil {
			return nil, err
		}
		if d.tag != tagHead {
			break
		}
		switch mode {
		case readCheck:
			var rest []byte
			heads, rest, err = d.c.readHeadBlock(d.body, heads[:0])
			if err != nil || len(rest) != 0 || len(heads) == 0 {
				return nil, fmt.Errorf("%w: head packets after the %dth", errCorrupt, n)
			}
			n += len(heads)
			headN = n
		case readBoundary, readPlan:
			if k, err := blockLen(d.body, blockSize); err != nil || k == 0 {
				return nil, fmt.Errorf("%w: head packets after the %dth", errCorrupt, n)
			}
			if mode == readBoundary {
				p.head.blocks = append(p.head.blocks, slices.Clone(d.body))
			}
		}
	}
	if d.tag != tagKeys {
		return nil, fmt.Errorf("%w: section %q where the head ends", errCorrupt, d.tag)
	}
	if mode == readCheck && fb.maxAt > headN {
		return nil, fmt.Errorf("%w: a flow refers to head packet %d of %d", errCorrupt, fb.maxAt, headN)
	}
	if mode == readCheck || mode == readBoundary {
		if err := d.exact(d.c.keys.Read(d.body, &p.head.Truncated, nil)); err != nil {
			return nil, fmt.Errorf("%w: head: %v", errCorrupt, err)
		}
	}
	if err = d.next(); err != nil {
		return nil, err
	}
	flows := p.summary.Flows
	if d.tag != tagSummary || d.exact(d.c.summary.Read(d.body, &p.summary, nil)) != nil {
		return nil, fmt.Errorf("%w: summary", errCorrupt)
	}
	if p.summary.Flows != flows {
		return nil, fmt.Errorf("%w: %d flow records, the summary says %d", errCorrupt, flows, p.summary.Flows)
	}
	if err = d.next(); err != nil {
		return nil, err
	}
	if d.tag != tagEnd || len(d.body) != 0 {
		return nil, fmt.Errorf("%w: no end marker", errCorrupt)
	}
	if _, err := d.rd.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the end marker", errCorrupt)
	}
	return p, nil
}

// flowBlockLen returns the number of flows a flow block says it holds.
func flowBlockLen(body []byte) (uint64, error) {
	n, k := binary.Uvarint(body)
	if k <= 0 || n > uint64(len(body)-k) {
		return 0, errCorrupt
	}
	return blockLen(body[k+int(n):], flowBlockSize)
}

// blockLen returns the number of values a block says it holds, at most
// max.
func blockLen(body []byte, max uint64) (uint64, error) {
	n, k := binary.Uvarint(body)
	if k <= 0 || n > max {
		return 0, errCorrupt
	}
	return n, nil
}

// exact checks that a record decoded without error and without leftovers.
func (d *decoder) exact(rest []byte, err error) error {
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d bytes left over", len(rest))
	}
	return nil
}
