package partial

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// A flow block (section F) holds up to flowBlockSize flows in the order the
// analysis emitted them. To compress well it stores them sorted by
// attempt number (start order: times, frame and attempt numbers then
// differ little from one flow to the next), after the emission order, and
// each flow packed: times and frame numbers relative to others of the
// same flow, and times in microseconds with the nanoseconds apart (zero in
// a pcap of microsecond resolution). The emission order is stored
// relative to the order in which the tracker would expire the flows (see
// emitKey), which it nearly always is. A flow that is the first attempt
// of a head 4-tuple refers to the 4-tuple's first head packet instead of
// repeating the fields it shares with it (see headRef). See
// docs/partial.md.

// flowBlockSize is the most flows a block holds: the larger the block, the
// closer its sorted flows; memory holds one block of decoded flows.
const flowBlockSize = 16384

// flowBlock encodes blocks of flows; its buffers are reused.
type flowBlock struct {
	// open and closed are how long after its last segment the tracker
	// expires an attempt not closed, and a closed one (the idle timeout
	// and the close linger): they predict the emission order.
	open, closed int64
	sorted       []flowRecord
	order        []int // emission index of each sorted flow
	pred         []int // indices into sorted, in predicted emission order
	// maxAt is the largest head reference (headRef.at) read since the
	// flowBlock was made: read without a head checks it against none.
	maxAt int
}

// headRef is a head packet as a flow block refers to it: at is 1 + its
// index in the head (0: none), and the fields are those a flow shares
// with the first packet of its 4-tuple when that packet began it (the
// first SYN): the client and server, the client's ISN, the time and the
// frame. They are those of the packet as the head stores it, stub or
// not (stubHead keeps them of a 4-tuple's first packet).
type headRef struct {
	at       int
	src, dst netip.AddrPort
	seq      decode.Seq
	ts       int64
	frame    uint64
}

// refOf returns the headRef of head packet at (1 + its index).
func refOf(at int, s *decode.Segment) headRef {
	return headRef{at: at, src: s.Src, dst: s.Dst, seq: s.Seq, ts: s.Timestamp, frame: s.Frame}
}

// Bits of flowRecord.Same: the fields of a packed flow equal to its head
// packet's (headRef), cleared in the block.
const (
	sameClient   uint8 = 1 << iota // Flow.Client is the packet's source
	sameServer                     // Flow.Server is its destination
	sameISN                        // Flow.ClientISN is its sequence number
	sameFirstTS                    // Flow.FirstTS (with Nanos[0]) is its time
	sameSYNFrame                   // Flow.SYNFrame is its frame
)

// take clears the fields of the packed r that equal h's, marking them in
// r.Same; give restores them.
func (r *flowRecord) take(h *headRef) {
	f := &r.Flow
	us, ns := splitMicros(h.ts)
	r.Same = 0
	if f.Client == h.src {
		r.Same, f.Client = r.Same|sameClient, netip.AddrPort{}
	}
	if f.Server == h.dst {
		r.Same, f.Server = r.Same|sameServer, netip.AddrPort{}
	}
	if f.ClientISN == h.seq {
		r.Same, f.ClientISN = r.Same|sameISN, 0
	}
	if f.FirstTS == us && r.Nanos[0] == ns {
		r.Same, f.FirstTS, r.Nanos[0] = r.Same|sameFirstTS, 0, 0
	}
	if f.SYNFrame == h.frame {
		r.Same, f.SYNFrame = r.Same|sameSYNFrame, 0
	}
}

func (r *flowRecord) give(h *headRef) {
	f := &r.Flow
	if r.Same&sameClient != 0 {
		f.Client = h.src
	}
	if r.Same&sameServer != 0 {
		f.Server = h.dst
	}
	if r.Same&sameISN != 0 {
		f.ClientISN = h.seq
	}
	if r.Same&sameFirstTS != 0 {
		f.FirstTS, r.Nanos[0] = splitMicros(h.ts)
	}
	if r.Same&sameSYNFrame != 0 {
		f.SYNFrame = h.frame
	}
	r.Same, r.Head = 0, 0
}

// newFlowBlock returns a flowBlock for partials written with o.
func newFlowBlock(o Options) flowBlock {
	return flowBlock{open: int64(o.IdleTimeout), closed: int64(o.CloseLinger)}
}

// emitKey predicts when the tracker emits f: when it expires, its last
// segment's time plus the close linger if it was closed, else the idle
// timeout. Only a prediction: flows it misplaces cost a few bytes.
func (b *flowBlock) emitKey(f *reassembly.Flow) int64 {
	if f.Close != handshake.NotClosed {
		return f.LastTS + b.closed
	}
	return f.LastTS + b.open
}

// predict sets b.pred to the indices of b.sorted (unpacked) ordered by
// emitKey, ties in attempt order.
func (b *flowBlock) predict() {
	type keyed struct {
		key int64
		j   int
	}
	keys := make([]keyed, len(b.sorted))
	for j := range b.sorted {
		keys[j] = keyed{b.emitKey(&b.sorted[j].Flow), j}
	}
	slices.SortFunc(keys, func(x, y keyed) int { return cmp.Or(cmp.Compare(x.key, y.key), cmp.Compare(x.j, y.j)) })
	b.pred = b.pred[:0]
	for _, k := range keys {
		b.pred = append(b.pred, k.j)
	}
}

// append appends the encoding of flows (in emission order) to dst: the
// emission order (a uvarint byte length, then for each flow in predicted
// order the zigzag varint difference of its emission index from the
// previous one's), then the block of packed flows in attempt order. refs,
// if not nil, are the flows' head packets (headRef.at 0: none): a flow
// sharing a field with its packet holds, in Head, the difference of the
// packet's at from that of the previous such flow of the block (0 before
// the first), and in Same the fields shared.
func (b *flowBlock) append(c *codecs, dst []byte, flows []flowRecord, refs []headRef) []byte {
	b.order = b.order[:0]
	for i := range flows {
		b.order = append(b.order, i)
	}
	slices.SortStableFunc(b.order, func(x, y int) int { return cmp.Compare(flows[x].Flow.Attempt, flows[y].Flow.Attempt) })
	b.sorted = b.sorted[:0]
	for _, i := range b.order {
		b.sorted = append(b.sorted, flows[i])
	}
	b.predict()
	var perm []byte
	prev := 0
	for _, j := range b.pred {
		i := b.order[j]
		perm = binary.AppendVarint(perm, int64(i-prev))
		prev = i
	}
	lastAt := 0
	for j := range b.sorted {
		r := &b.sorted[j]
		r.pack()
		if refs == nil || refs[b.order[j]].at == 0 {
			continue
		}
		h := &refs[b.order[j]]
		if r.take(h); r.Same != 0 {
			r.Head, lastAt = int32(h.at-lastAt), h.at
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(perm)))
	dst = append(dst, perm...)
	dst = c.flow.AppendBlock(dst, b.sorted)
	clear(b.sorted) // let the flows' evidence go
	return dst
}

// read decodes a block written by append into flows (reused), in emission
// order, taking the fields they share with head packets from head. With
// a nil head it only checks the block: those fields stay unset, and the
// largest reference is kept in b.maxAt for the caller to check.
func (b *flowBlock) read(c *codecs, body []byte, flows []flowRecord, head *headIndex) ([]flowRecord, error) {
	n, k := binary.Uvarint(body)
	if k <= 0 || n > uint64(len(body)-k) {
		return flows, errCorrupt
	}
	perm, rest := body[k:k+int(n)], body[k+int(n):]
	var err error
	b.sorted, rest, err = c.flow.ReadBlock(rest, b.sorted[:0], flowBlockSize)
	if err != nil || len(rest) != 0 || len(b.sorted) == 0 {
		return flows, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	lastAt := 0
	for j := range b.sorted {
		r := &b.sorted[j]
		if r.Same != 0 {
			at := lastAt + int(r.Head)
			if at <= 0 || r.Same >= sameSYNFrame<<1 {
				return flows[:0], fmt.Errorf("%w: head reference", errCorrupt)
			}
			lastAt, b.maxAt = at, max(b.maxAt, at)
			if head != nil {
				h, err := head.ref(at)
				if err != nil {
					return flows[:0], err
				}
				r.give(&h)
			}
		} else if r.Head != 0 {
			return flows[:0], fmt.Errorf("%w: head reference", errCorrupt)
		}
		r.unpack()
	}
	b.predict()
	flows = slices.Grow(flows[:0], len(b.sorted))[:len(b.sorted)]
	seen := make([]bool, len(b.sorted))
	prev := int64(0)
	for _, j := range b.pred {
		d, k := binary.Varint(perm)
		i := prev + d
		if k <= 0 || i < 0 || i >= int64(len(flows)) || seen[i] {
			return flows[:0], fmt.Errorf("%w: flow order", errCorrupt)
		}
		perm, prev, seen[i] = perm[k:], i, true
		flows[i] = b.sorted[j]
	}
	if len(perm) != 0 {
		return flows[:0], fmt.Errorf("%w: flow order", errCorrupt)
	}
	return flows, nil
}

// pack rewrites r's times, frames and counts relative to others of the
// flow (see flowBlock); unpack undoes it.
func (r *flowRecord) pack() {
	f := &r.Flow
	f.Conn.Duration -= f.LastTS - f.FirstTS
	f.Conn.FirstTS -= f.FirstTS
	f.LastTS -= f.FirstTS
	f.ACKFrame = relFrame(f.ACKFrame, f.SYNACKFrame)
	f.SYNACKFrame = relFrame(f.SYNACKFrame, f.SYNFrame)
	hdr := headerBytes(f)
	f.Conn.OrigIPBytes -= f.Conn.OrigBytes + hdr*f.Conn.OrigPkts
	f.Conn.RespIPBytes -= f.Conn.RespBytes + hdr*f.Conn.RespPkts
	orig, resp := sidePackets(f)
	f.Conn.OrigPkts -= orig
	f.Conn.RespPkts -= resp
	for i, p := range r.times() {
		*p, r.Nanos[i] = splitMicros(*p)
	}
}

func (r *flowRecord) unpack() {
	for i, p := range r.times() {
		*p = *p*1000 + int64(r.Nanos[i])
	}
	r.Nanos = [len(r.Nanos)]uint16{}
	f := &r.Flow
	orig, resp := sidePackets(f)
	f.Conn.RespPkts += resp
	f.Conn.OrigPkts += orig
	hdr := headerBytes(f)
	f.Conn.RespIPBytes += f.Conn.RespBytes + hdr*f.Conn.RespPkts
	f.Conn.OrigIPBytes += f.Conn.OrigBytes + hdr*f.Conn.OrigPkts
	f.SYNACKFrame = absFrame(f.SYNACKFrame, f.SYNFrame)
	f.ACKFrame = absFrame(f.ACKFrame, f.SYNACKFrame)
	f.LastTS += f.FirstTS
	f.Conn.FirstTS += f.FirstTS
	f.Conn.Duration += f.LastTS - f.FirstTS
}

// sidePackets returns the segments the handshake machine counted from
// Zeek's originator and responder: what Zeek counts too, as a rule.
func sidePackets(f *reassembly.Flow) (orig, resp uint64) {
	c, s := uint64(f.ClientPackets), uint64(f.ServerPackets)
	if f.Conn.OrigIsA {
		return c, s
	}
	return s, c
}

// headerBytes is what a packet's IP and TCP headers take as a rule: 20
// bytes of TCP, 12 of the timestamps option, and 20 of IPv4 or 40 of IPv6
// (by the client's address). Pack expects IP bytes of payload plus this a
// packet.
func headerBytes(f *reassembly.Flow) uint64 {
	if f.Client.Addr().Is4() {
		return 52
	}
	return 72
}

// times are the packed flow's times in nanoseconds that pack splits.
func (r *flowRecord) times() [5]*int64 {
	f := &r.Flow
	return [...]*int64{&f.FirstTS, &f.LastTS, &f.Conn.Duration, &f.SYNToSYNACK, &f.SYNACKToACK}
}

// splitMicros splits ns into microseconds and the nanoseconds left over.
func splitMicros(ns int64) (int64, uint16) {
	us, rem := ns/1000, ns%1000
	if rem < 0 {
		us, rem = us-1, rem+1000
	}
	return us, uint16(rem)
}

// relFrame returns frame relative to base, zigzag-encoded, with 0 (no
// frame) kept 0: the codes of frame 0 and of frame base swap places.
func relFrame(frame, base uint64) uint64 {
	switch frame {
	case 0:
		return 0
	case base:
		return zigzag(-base)
	}
	return zigzag(frame - base)
}

func absFrame(rel, base uint64) uint64 {
	switch rel {
	case 0:
		return 0
	case zigzag(-base):
		return base
	}
	z := rel
	return base + uint64(int64(z>>1)^-int64(z&1))
}

func zigzag(d uint64) uint64 { return d<<1 ^ uint64(int64(d)>>63) }
