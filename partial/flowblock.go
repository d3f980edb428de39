package partial

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

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
// emitKey), which it nearly always is. See docs/partial.md.

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
	keys := make([]int64, len(b.sorted))
	b.pred = b.pred[:0]
	for j := range b.sorted {
		keys[j] = b.emitKey(&b.sorted[j].Flow)
		b.pred = append(b.pred, j)
	}
	slices.SortFunc(b.pred, func(x, y int) int { return cmp.Or(cmp.Compare(keys[x], keys[y]), cmp.Compare(x, y)) })
}

// append appends the encoding of flows (in emission order) to dst: the
// emission order (a uvarint byte length, then for each flow in predicted
// order the zigzag varint difference of its emission index from the
// previous one's), then the block of packed flows in attempt order.
func (b *flowBlock) append(c *codecs, dst []byte, flows []flowRecord) []byte {
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
	for j := range b.sorted {
		b.sorted[j].pack()
	}
	dst = binary.AppendUvarint(dst, uint64(len(perm)))
	dst = append(dst, perm...)
	dst = c.flow.AppendBlock(dst, b.sorted)
	clear(b.sorted) // let the flows' evidence go
	return dst
}

// read decodes a block written by append into flows (reused), in emission
// order.
func (b *flowBlock) read(c *codecs, body []byte, flows []flowRecord) ([]flowRecord, error) {
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
	for j := range b.sorted {
		b.sorted[j].unpack()
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

// pack rewrites r's times and frames relative to others of the flow (see
// flowBlock); unpack undoes it.
func (r *flowRecord) pack() {
	f := &r.Flow
	f.Conn.Duration -= f.LastTS - f.FirstTS
	f.Conn.FirstTS -= f.FirstTS
	f.LastTS -= f.FirstTS
	f.SYNACKFrame = relFrame(f.SYNACKFrame, f.SYNFrame)
	f.ACKFrame = relFrame(f.ACKFrame, f.SYNFrame)
	f.Conn.OrigIPBytes -= f.Conn.OrigBytes
	f.Conn.RespIPBytes -= f.Conn.RespBytes
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
	f.Conn.RespIPBytes += f.Conn.RespBytes
	f.Conn.OrigIPBytes += f.Conn.OrigBytes
	f.ACKFrame = absFrame(f.ACKFrame, f.SYNFrame)
	f.SYNACKFrame = absFrame(f.SYNACKFrame, f.SYNFrame)
	f.LastTS += f.FirstTS
	f.Conn.FirstTS += f.FirstTS
	f.Conn.Duration += f.LastTS - f.FirstTS
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
