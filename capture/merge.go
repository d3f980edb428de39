package capture

import "io"

// Merger merges the records of several Files into one stream in timestamp
// order. It is a k-way merge over the pending record of each file, not a
// load-and-sort: it holds one record per file and copies no packet data.
// Ties are broken by the files' Open index, then by their position in the
// slice given to NewMerger. Each file's records keep their file order even
// where that file's timestamps go backwards: only the files' next records
// are compared.
//
// Create a Merger with NewMerger; the zero value merges nothing. A Merger
// is not safe for concurrent use, and while it runs its Files must not be
// read by anyone else.
type Merger struct {
	files   []*File
	heads   []Record // heads[i] is files[i]'s next record, valid while i is in heap
	heap    []int    // indices into files, ordered by less
	advance []int    // files whose next record must be read before the next pick
	ended   bool     // a lone file (no merging) has ended
}

// NewMerger returns a Merger over files. It does not close them.
func NewMerger(files []*File) *Merger {
	m := &Merger{
		files:   files,
		heads:   make([]Record, len(files)),
		heap:    make([]int, 0, len(files)),
		advance: make([]int, len(files)),
	}
	for i := range files {
		m.advance[i] = i
	}
	return m
}

// Next fills rec with the earliest pending record of all files. It returns
// nil, io.EOF when every file has ended, or a *FileError warning when one
// file is damaged: that file has ended, the others go on, so keep calling
// Next. rec.Data is valid until the next call to Next.
func (m *Merger) Next(rec *Record) error {
	if len(m.files) == 1 {
		// Nothing to merge: read straight into rec.
		if m.ended {
			return io.EOF
		}
		err := m.files[0].Next(rec)
		m.ended = err != nil
		return err
	}
	// Read the next record of the file that gave the last one (and, on the
	// first call, of every file). A warning returns at once; the files
	// still to advance stay in m.advance for the next call.
	for len(m.advance) > 0 {
		i := m.advance[len(m.advance)-1]
		m.advance = m.advance[:len(m.advance)-1]
		switch err := m.files[i].Next(&m.heads[i]); err {
		case nil:
			m.push(i)
		case io.EOF:
		default:
			return err
		}
	}
	if len(m.heap) == 0 {
		return io.EOF
	}
	i := m.pop()
	*rec = m.heads[i]
	m.advance = append(m.advance, i)
	return nil
}

// less orders files by their head record's timestamp, then Open index, then
// position.
func (m *Merger) less(i, j int) bool {
	a, b := &m.heads[i], &m.heads[j]
	if a.Timestamp != b.Timestamp {
		return a.Timestamp < b.Timestamp
	}
	if a.File != b.File {
		return a.File < b.File
	}
	return i < j
}

// push and pop keep m.heap a binary min-heap. They are written out, not
// container/heap, whose interface{} arguments would allocate.
func (m *Merger) push(i int) {
	h := append(m.heap, i)
	for c := len(h) - 1; c > 0; {
		p := (c - 1) / 2
		if !m.less(h[c], h[p]) {
			break
		}
		h[c], h[p] = h[p], h[c]
		c = p
	}
	m.heap = h
}

func (m *Merger) pop() int {
	h := m.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for p := 0; ; {
		c := 2*p + 1
		if c >= len(h) {
			break
		}
		if c+1 < len(h) && m.less(h[c+1], h[c]) {
			c++
		}
		if !m.less(h[c], h[p]) {
			break
		}
		h[p], h[c] = h[c], h[p]
		p = c
	}
	m.heap = h
	return top
}
