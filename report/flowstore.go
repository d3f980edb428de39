package report

import (
	"bufio"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// flowStore holds flows for a sink that writes them sorted by first_ts
// (ties in the order they arrived): JSON and the --all table. Each flow is
// kept as a flow record (flowcodec.go) of 60-90 bytes, framed by its
// length, in large blocks, plus a 16-byte index entry. Past spillBytes of
// records, the records held are sorted and written out as one run to an
// unlinked temporary file, in one sequential stream, and memory starts
// over; each then yields the runs merged, each read back sequentially
// through a buffer of its own. So memory stays bounded whatever the number
// of flows, and a capture with fewer than about 400,000 flows never
// touches the disk. The zero value is ready to use; close frees it.
//
// The blocks and the index are held outside the Go heap where the system
// allows (offheap_unix.go): they hold no pointers, and on the heap the
// collector's headroom (GOGC) would double what they cost in resident
// memory. The index has a fixed capacity, reserved once and resident
// only as it fills; the store spills when it is full too.
type flowStore struct {
	blocks []heldBytes // framed records, in arrival order
	index  []storedAt  // one per record in blocks; in indexMem
	bytes  int         // bytes in blocks
	n      uint64      // flows added

	indexMem heldBytes

	file *os.File // spilled runs, back to back
	bw   *bufio.Writer
	size int64
	runs []spillRun

	rec     []byte
	err     error // the first spill error: sticky
	spillAt int   // spillBytes if 0 (tests lower it)
}

// storedAt locates a framed record in the blocks. Ordered by (ts, blk,
// off), the index is in first_ts order with ties in arrival order.
type storedAt struct {
	ts       int64
	blk, off uint32
}

func (a storedAt) compare(b storedAt) int {
	return cmp.Or(cmp.Compare(a.ts, b.ts), cmp.Compare(a.blk, b.blk), cmp.Compare(a.off, b.off))
}

// heldBytes is memory of the store: mapped outside the Go heap, or
// (where that failed) a heap slice.
type heldBytes struct {
	b      []byte
	mapped bool
}

// hold returns n bytes of capacity, off the heap if it can.
func hold(n int) heldBytes {
	if b := mapBytes(n); b != nil {
		return heldBytes{b: b[:0], mapped: true}
	}
	return heldBytes{b: make([]byte, 0, n)}
}

func (h *heldBytes) free() {
	if h.mapped {
		unmapBytes(h.b)
	}
	*h = heldBytes{}
}

// storedAtSize is the size of an index entry.
const storedAtSize = int(unsafe.Sizeof(storedAt{}))

// indexCap is how many index entries fit before the store spills: one per
// 32 bytes of spillAt, more than records of the smallest size take (a
// framed record has two addresses, two times, the verdict and more).
func indexCap(spillAt int) int { return max(spillAt/32, 1024) }

// spillRun is a sorted run in the spill file: records framed as an 8-byte
// little-endian first_ts, a uvarint length and the record.
type spillRun struct {
	off, size int64
}

const (
	// storeBlock is the size of a record block; a larger record gets a
	// block of its own.
	storeBlock = 256 << 10
	// spillBytes is how many record bytes stay in memory before they are
	// spilled as a run.
	spillBytes = 32 << 20
	// runBuffer is the read buffer of each run while merging.
	runBuffer = 128 << 10
)

// add stores a copy of f.
func (s *flowStore) add(f *reassembly.Flow) error {
	if s.err != nil {
		return s.err
	}
	spillAt := cmp.Or(s.spillAt, spillBytes)
	if s.indexMem.b == nil {
		s.indexMem = hold(indexCap(spillAt) * storedAtSize)
		s.index = unsafe.Slice((*storedAt)(unsafe.Pointer(unsafe.SliceData(s.indexMem.b[:1]))), indexCap(spillAt))[:0]
	}
	if len(s.index) == cap(s.index) {
		if err := s.spill(); err != nil {
			s.err = fmt.Errorf("spill flows: %w", err)
			return s.err
		}
	}
	s.rec = appendFlowRecord(s.rec[:0], f)
	n := binary.MaxVarintLen64 + len(s.rec)
	last := len(s.blocks) - 1
	if last < 0 || cap(s.blocks[last].b)-len(s.blocks[last].b) < n {
		s.blocks = append(s.blocks, hold(max(storeBlock, n)))
		last++
	}
	blk := &s.blocks[last]
	s.index = append(s.index, storedAt{ts: f.FirstTS, blk: uint32(last), off: uint32(len(blk.b))})
	before := len(blk.b)
	blk.b = binary.AppendUvarint(blk.b, uint64(len(s.rec)))
	blk.b = append(blk.b, s.rec...) // within its capacity: it stays where it is
	s.bytes += len(blk.b) - before
	s.n++
	if s.bytes >= spillAt {
		if err := s.spill(); err != nil {
			s.err = fmt.Errorf("spill flows: %w", err)
		}
	}
	return s.err
}

// held returns the bytes the store holds outside the Go heap: what it
// wrote of its mapped blocks and index (the pages it made resident, to
// within a page each).
func (s *flowStore) held() int {
	n := 0
	for _, b := range s.blocks {
		if b.mapped {
			n += len(b.b)
		}
	}
	if s.indexMem.mapped {
		n += len(s.index) * storedAtSize
	}
	return n
}

// record returns the record at e.
func (s *flowStore) record(e storedAt) []byte {
	b := s.blocks[e.blk].b[e.off:]
	n, k := binary.Uvarint(b)
	return b[k : k+int(n)]
}

// sortMem sorts the records held in memory.
func (s *flowStore) sortMem() {
	slices.SortFunc(s.index, storedAt.compare)
}

// spill writes the records held as one sorted run and frees them.
func (s *flowStore) spill() error {
	if s.file == nil {
		f, err := os.CreateTemp("", "hsanalyze-flows-*")
		if err != nil {
			return err
		}
		os.Remove(f.Name()) // unlinked: gone when closed, even on a crash (POSIX)
		s.file, s.bw = f, bufio.NewWriterSize(f, 1<<20)
	}
	s.sortMem()
	run := spillRun{off: s.size}
	var hdr [8 + binary.MaxVarintLen64]byte
	for _, e := range s.index {
		rec := s.record(e)
		binary.LittleEndian.PutUint64(hdr[:], uint64(e.ts))
		h := binary.PutUvarint(hdr[8:], uint64(len(rec))) + 8
		if _, err := s.bw.Write(hdr[:h]); err != nil {
			return err
		}
		if _, err := s.bw.Write(rec); err != nil {
			return err
		}
		run.size += int64(h + len(rec))
	}
	if err := s.bw.Flush(); err != nil {
		return err
	}
	s.size += run.size
	s.runs = append(s.runs, run)
	// Keep the first block for reuse; free the rest.
	for i := 1; i < len(s.blocks); i++ {
		s.blocks[i].free()
	}
	s.blocks, s.index, s.bytes = s.blocks[:1], s.index[:0], 0
	s.blocks[0].b = s.blocks[0].b[:0]
	return nil
}

// each calls fn with every flow stored, sorted by first_ts, ties in the
// order they were added. f is only valid during the call. It stops at
// fn's first error and returns it.
func (s *flowStore) each(fn func(f *reassembly.Flow) error) error {
	var f reassembly.Flow
	return s.eachRecord(func(rec []byte) error {
		if err := decodeFlowRecord(rec, &f); err != nil {
			return err
		}
		return fn(&f)
	})
}

// eachRecord is each with the flow records (flowcodec.go) undecoded; rec
// is only valid during the call.
func (s *flowStore) eachRecord(fn func(rec []byte) error) error {
	if s.err != nil {
		return s.err
	}
	s.sortMem()
	if len(s.runs) == 0 {
		for _, e := range s.index {
			if err := fn(s.record(e)); err != nil {
				return err
			}
		}
		return nil
	}
	// Merge the runs and what is in memory: sources in arrival order, so
	// that ties go to the earlier source.
	m := make(mergeHeap, 0, len(s.runs)+1)
	for i, r := range s.runs {
		src := &mergeSource{order: i, r: bufio.NewReaderSize(io.NewSectionReader(s.file, r.off, r.size), runBuffer)}
		if err := src.next(); err != nil {
			return err
		}
		if src.ok {
			m = append(m, src)
		}
	}
	mem := &mergeSource{order: len(s.runs), mem: s}
	if err := mem.next(); err != nil {
		return err
	}
	if mem.ok {
		m = append(m, mem)
	}
	heap.Init(&m)
	for len(m) > 0 {
		src := m[0]
		if err := fn(src.rec); err != nil {
			return err
		}
		if err := src.next(); err != nil {
			return err
		}
		if src.ok {
			heap.Fix(&m, 0)
		} else {
			heap.Pop(&m)
		}
	}
	return nil
}

// close frees the memory and the spill file; the store is then empty.
func (s *flowStore) close() {
	for i := range s.blocks {
		s.blocks[i].free()
	}
	s.indexMem.free()
	s.blocks, s.index, s.bytes = nil, nil, 0
	if s.file != nil {
		name := s.file.Name()
		s.file.Close()
		os.Remove(name) // where the early unlink failed
		s.file = nil
	}
}

// mergeSource is one sorted run being merged, or the sorted memory.
type mergeSource struct {
	order int
	r     *bufio.Reader // a run
	mem   *flowStore    // or memory, from pos
	pos   int
	ts    int64
	rec   []byte
	ok    bool // ts and rec hold the next record
}

func (m *mergeSource) next() error {
	if m.mem != nil {
		m.ok = m.pos < len(m.mem.index)
		if m.ok {
			e := m.mem.index[m.pos]
			m.ts, m.rec = e.ts, m.mem.record(e)
			m.pos++
		}
		return nil
	}
	var ts [8]byte
	if _, err := io.ReadFull(m.r, ts[:]); err != nil {
		if err == io.EOF {
			m.ok = false
			return nil
		}
		return fmt.Errorf("read spilled flows: %w", err)
	}
	n, err := binary.ReadUvarint(m.r)
	if err == nil && n > 1<<30 {
		err = errBadRecord
	}
	if err != nil {
		return fmt.Errorf("read spilled flows: %w", err)
	}
	m.rec = slices.Grow(m.rec[:0], int(n))[:n]
	if _, err := io.ReadFull(m.r, m.rec); err != nil {
		return fmt.Errorf("read spilled flows: %w", err)
	}
	m.ts, m.ok = int64(binary.LittleEndian.Uint64(ts[:])), true
	return nil
}

// mergeHeap is a min-heap of sources by (ts, order).
type mergeHeap []*mergeSource

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	return h[i].ts < h[j].ts || h[i].ts == h[j].ts && h[i].order < h[j].order
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*mergeSource)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
