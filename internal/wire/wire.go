// Package wire encodes Go values of plain data types (booleans, integers,
// strings, arrays, slices, pointers, structs of those, and netip
// addresses) to a
// compact binary form and back, field by field, unexported fields included.
//
// It exists so that partial results can carry the state of types such as
// handshake.Machine without those packages writing, or keeping in step, an
// encoder of their own: a field someone adds is encoded automatically, and
// Codec.Layout changes with it, so that data written by a build with another
// layout is refused rather than misread. A type holding a map, interface,
// channel or function, or referring to itself, is refused by For. A
// pointer is encoded as what it points to: sharing is not kept.
//
// Encoding: every leaf field (and every slice's length) has a column of its
// own; a value or a block of values is the columns' lengths (uvarints),
// then the columns. In a column every integer is a varint (signed ones
// zigzag), but a 32-bit unsigned one, often random (TCP sequence numbers),
// is its 4 bytes, little-endian; a 64-bit integer is written as the
// difference from the same field of the previous value (of the block, or
// of the slice it is an element of: a slice's first element and a
// pointer's target have none), so that timestamps and frame numbers take
// a byte or two; a string is its length then its bytes; a netip.Addr or
// AddrPort is its MarshalBinary form, length (one byte) first. Array and
// slice elements share their fields' columns. A ForDict codec's blocks may
// hold the small fields of each value as an index into a dictionary of
// the block's distinct tuples of them instead (see ForDict).
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"net/netip"
	"reflect"
	"slices"
	"unsafe"
)

// ErrCorrupt reports input that does not decode: truncated, or with a
// length or value out of range.
var ErrCorrupt = errors.New("corrupt encoding")

// Codec encodes values of type T. It is safe for concurrent use.
type Codec[T any] struct {
	root    *node
	layout  uint64
	streams int // leaves of the plan, then the two of a dictionary
	// small are the streams ForDict codes by dictionary in a block: those
	// of the booleans, the integers of 8 and 16 bits, the slice lengths
	// and the pointer presences that are not inside a slice or a pointer.
	small []int
}

// dictShare bounds a block's dictionary (see ForDict): beyond one entry
// in dictShare of the block's values, AppendBlock writes the small fields
// as columns.
const dictShare = 8

type kind uint8

const (
	kBool kind = iota
	kInt
	kUint
	kInt64  // delta-encoded signed
	kUint64 // delta-encoded unsigned
	kString
	kArray
	kSlice
	kStruct
	kAddr
	kAddrPort
	kPtr // presence byte, then the pointee
)

// node is the plan for one type.
type node struct {
	kind   kind
	size   uintptr // of the type
	bits   uint8   // integer width
	elem   *node   // array and slice elements
	n      int     // array length
	fields []field // struct fields
	typ    reflect.Type
	leaf   int // the stream of a leaf: every kind but array and struct
}

type field struct {
	off uintptr
	n   *node
}

var (
	addrType     = reflect.TypeFor[netip.Addr]()
	addrPortType = reflect.TypeFor[netip.AddrPort]()
)

// For returns the Codec of T, or an error naming the first field of a type
// it cannot encode.
func For[T any]() (*Codec[T], error) {
	h := fnv.New64a()
	root, err := plan(reflect.TypeFor[T](), h, reflect.TypeFor[T]().String())
	if err != nil {
		return nil, err
	}
	c := &Codec[T]{root: root, layout: h.Sum64()}
	c.streams = root.number(0)
	return c, nil
}

// ForDict returns a Codec of T like For's, but whose blocks (AppendBlock)
// code the small fields by dictionary: the small fields of a value (its
// booleans, its integers of 8 and 16 bits, its slice lengths and pointer
// presences, but none inside a slice or a pointer) are one tuple, and
// when a block has few distinct tuples (at most one in dictShare values)
// it holds each value's tuple as an index into the block's list of
// distinct tuples. Flags, states and counters that go together (a
// verdict, its close, its states) then cost a byte or less a value
// instead of a byte or less each. Otherwise, and in Append, the small
// fields are columns as For's are.
func ForDict[T any]() (*Codec[T], error) {
	c, err := For[T]()
	if err != nil {
		return nil, err
	}
	c.root.small(&c.small, true)
	c.streams += 2 // the index, the dictionary
	c.layout = c.layout*31 + 1
	return c, nil
}

// small appends to out the streams of n's small leaves (see ForDict); top
// says that n is not inside a slice or a pointer.
func (n *node) small(out *[]int, top bool) {
	switch n.kind {
	case kArray:
		n.elem.small(out, top)
	case kStruct:
		for _, f := range n.fields {
			f.n.small(out, top)
		}
	case kSlice, kPtr:
		if top {
			*out = append(*out, n.leaf)
		}
		n.elem.small(out, false)
	case kBool:
		if top {
			*out = append(*out, n.leaf)
		}
	case kInt, kUint:
		if top && n.bits <= 16 {
			*out = append(*out, n.leaf)
		}
	}
}

// number gives every leaf below n its stream and returns the next free one.
func (n *node) number(next int) int {
	switch n.kind {
	case kArray:
		return n.elem.number(next)
	case kStruct:
		for _, f := range n.fields {
			next = f.n.number(next)
		}
		return next
	case kSlice, kPtr:
		n.leaf = next
		return n.elem.number(next + 1)
	}
	n.leaf = next
	return next + 1
}

// Layout is a fingerprint of T's layout: field names, types and order, all
// the way down. Two builds encode T alike iff their Layouts are equal.
func (c *Codec[T]) Layout() uint64 { return c.layout }

func plan(t reflect.Type, h interface{ Write([]byte) (int, error) }, path string) (*node, error) {
	return planIn(t, h, path, map[reflect.Type]bool{})
}

func planIn(t reflect.Type, h interface{ Write([]byte) (int, error) }, path string, open map[reflect.Type]bool) (*node, error) {
	if open[t] {
		return nil, fmt.Errorf("wire: %s refers to itself (%s)", path, t)
	}
	open[t] = true
	defer delete(open, t)
	plan := func(t reflect.Type, h interface{ Write([]byte) (int, error) }, path string) (*node, error) {
		return planIn(t, h, path, open)
	}
	fmt.Fprintf(h, "%s;", t.String())
	n := &node{size: t.Size(), typ: t}
	switch {
	case t == addrType:
		n.kind = kAddr
		return n, nil
	case t == addrPortType:
		n.kind = kAddrPort
		return n, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		n.kind = kBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n.kind, n.bits = kInt, uint8(t.Bits())
		if t.Bits() == 64 {
			n.kind = kInt64
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n.kind, n.bits = kUint, uint8(t.Bits())
		if t.Bits() == 32 {
			fmt.Fprintf(h, "fixed;")
		}
		if t.Bits() == 64 {
			n.kind = kUint64
		}
	case reflect.String:
		n.kind = kString
	case reflect.Array:
		n.kind, n.n = kArray, t.Len()
		e, err := plan(t.Elem(), h, path+"[]")
		if err != nil {
			return nil, err
		}
		n.elem = e
	case reflect.Pointer:
		n.kind = kPtr
		e, err := plan(t.Elem(), h, path+"*")
		if err != nil {
			return nil, err
		}
		n.elem = e
	case reflect.Slice:
		n.kind = kSlice
		fmt.Fprintf(h, "elemdelta;")
		e, err := plan(t.Elem(), h, path+"[]")
		if err != nil {
			return nil, err
		}
		n.elem = e
	case reflect.Struct:
		n.kind = kStruct
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(h, "%s:", f.Name)
			fn, err := plan(f.Type, h, path+"."+f.Name)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{off: f.Offset, n: fn})
		}
	default:
		return nil, fmt.Errorf("wire: %s is a %s, which cannot be encoded", path, t.Kind())
	}
	return n, nil
}

// Append appends the encoding of *v to dst. prev, if not nil, is the
// previous value written: 64-bit integers are written relative to it. The
// reader must pass the same previous value.
func (c *Codec[T]) Append(dst []byte, v, prev *T) []byte {
	var pp unsafe.Pointer
	if prev != nil {
		pp = unsafe.Pointer(prev)
	}
	st := make([][]byte, c.streams)
	c.root.append(st, unsafe.Pointer(v), pp)
	return appendStreams(dst, st)
}

// AppendBlock appends the encoding of vs, column by column: each field of
// all the values together, every 64-bit integer relative to the value
// before, so that a general-purpose compressor finds what repeats.
func (c *Codec[T]) AppendBlock(dst []byte, vs []T) []byte {
	st := make([][]byte, c.streams)
	dst = binary.AppendUvarint(dst, uint64(len(vs)))
	if len(c.small) > 0 && c.appendDict(st, vs) {
		return appendStreams(dst, st)
	}
	for i := range st {
		st[i] = st[i][:0]
	}
	for i := range vs {
		c.root.append(st, unsafe.Pointer(&vs[i]), prevOf(vs, i))
	}
	return appendStreams(dst, st)
}

// prevOf returns a pointer to the value before vs[i], nil for the first.
func prevOf[T any](vs []T, i int) unsafe.Pointer {
	if i == 0 {
		return nil
	}
	return unsafe.Pointer(&vs[i-1])
}

// appendDict encodes vs into st with the small fields by dictionary (see
// ForDict): the index stream holds each value's entry (uvarints), the
// dictionary stream the distinct tuples in order of first use, each the
// small streams' bytes of the value, each length first (uvarints). It
// reports false when the block has too many distinct tuples.
func (c *Codec[T]) appendDict(st [][]byte, vs []T) bool {
	index, dict := &st[c.streams-2], &st[c.streams-1]
	seen := make(map[string]int)
	var tuple []byte
	for i := range vs {
		c.root.append(st, unsafe.Pointer(&vs[i]), prevOf(vs, i))
		tuple = tuple[:0]
		for _, k := range c.small {
			tuple = binary.AppendUvarint(tuple, uint64(len(st[k])))
			tuple = append(tuple, st[k]...)
			st[k] = st[k][:0]
		}
		e, ok := seen[string(tuple)]
		if !ok {
			if len(seen) >= max(1, len(vs)/dictShare) {
				return false
			}
			e = len(seen)
			seen[string(tuple)] = e
			*dict = append(*dict, tuple...)
		}
		*index = binary.AppendUvarint(*index, uint64(e))
	}
	return true
}

func appendStreams(dst []byte, st [][]byte) []byte {
	for _, s := range st {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
	}
	for _, s := range st {
		dst = append(dst, s...)
	}
	return dst
}

// Read decodes one value from src into *v (overwriting all of it) and
// returns the rest of src. prev is as for Append.
func (c *Codec[T]) Read(src []byte, v, prev *T) ([]byte, error) {
	var pp unsafe.Pointer
	if prev != nil {
		pp = unsafe.Pointer(prev)
	}
	st, rest, err := c.splitStreams(src)
	if err != nil {
		return src, err
	}
	c.root.read(st, unsafe.Pointer(v), pp)
	return rest, st.check()
}

// ReadBlock decodes values written by AppendBlock, appending them to vs.
// At most max values are accepted (a bound on memory for untrusted
// input).
func (c *Codec[T]) ReadBlock(src []byte, vs []T, max int) ([]T, []byte, error) {
	r := reader{b: src}
	n := r.uvarint()
	if r.err != nil || n > uint64(max) || n > uint64(len(src)) {
		return vs, src, ErrCorrupt
	}
	st, rest, err := c.splitStreams(r.b)
	if err != nil {
		return vs, src, err
	}
	var dict [][]byte // each entry's small streams, in c.small's order
	if len(c.small) > 0 && len(st[c.streams-1].b) > 0 {
		if dict, err = c.readDict(&st[c.streams-1]); err != nil {
			return vs, src, err
		}
	}
	base := len(vs)
	vs = slices.Grow(vs, int(n))[:base+int(n)]
	for i := range int(n) {
		if dict != nil {
			e := st[c.streams-2].uvarint()
			if e >= uint64(len(dict)/len(c.small)) {
				return vs[:base], src, ErrCorrupt
			}
			for j, k := range c.small {
				if len(st[k].b) != 0 {
					return vs[:base], src, ErrCorrupt
				}
				st[k].b = dict[int(e)*len(c.small)+j]
			}
		}
		c.root.read(st, unsafe.Pointer(&vs[base+i]), prevOf(vs[base:], i))
	}
	if err := st.check(); err != nil {
		return vs[:base], src, err
	}
	return vs, rest, nil
}

// readDict splits a block's dictionary stream into its entries' small
// streams: entry e's stream j is at e*len(c.small)+j.
func (c *Codec[T]) readDict(r *reader) ([][]byte, error) {
	var dict [][]byte
	for len(r.b) > 0 && r.err == nil {
		for range c.small {
			dict = append(dict, r.bytes(r.uvarint()))
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return dict, nil
}

// streams are the columns being read.
type streams []reader

func (c *Codec[T]) splitStreams(src []byte) (streams, []byte, error) {
	r := reader{b: src}
	lens := make([]uint64, c.streams)
	for i := range lens {
		lens[i] = r.uvarint()
	}
	if r.err != nil {
		return nil, src, r.err
	}
	st := make(streams, c.streams)
	for i, l := range lens {
		st[i].b = r.bytes(l)
	}
	if r.err != nil {
		return nil, src, r.err
	}
	return st, r.b, nil
}

// check reports a corrupt column, or one with bytes left over.
func (st streams) check() error {
	for i := range st {
		if st[i].err != nil || len(st[i].b) != 0 {
			return ErrCorrupt
		}
	}
	return nil
}

func (n *node) append(st [][]byte, p, prev unsafe.Pointer) {
	dst := &st[n.leaf]
	switch n.kind {
	case kBool:
		if *(*bool)(p) {
			*dst = append(*dst, 1)
		} else {
			*dst = append(*dst, 0)
		}
	case kInt:
		*dst = binary.AppendVarint(*dst, loadInt(p, n.bits))
	case kUint:
		if n.bits == 32 {
			*dst = binary.LittleEndian.AppendUint32(*dst, *(*uint32)(p))
			break
		}
		*dst = binary.AppendUvarint(*dst, loadUint(p, n.bits))
	case kInt64:
		v := *(*int64)(p)
		if prev != nil {
			v -= *(*int64)(prev)
		}
		*dst = binary.AppendVarint(*dst, v)
	case kUint64:
		v := *(*uint64)(p)
		if prev != nil {
			v -= *(*uint64)(prev)
		}
		*dst = binary.AppendVarint(*dst, int64(v))
	case kString:
		s := *(*string)(p)
		*dst = binary.AppendUvarint(*dst, uint64(len(s)))
		*dst = append(*dst, s...)
	case kAddr:
		b, _ := (*netip.Addr)(p).MarshalBinary() // never fails
		*dst = append(*dst, byte(len(b)))
		*dst = append(*dst, b...)
	case kAddrPort:
		b, _ := (*netip.AddrPort)(p).MarshalBinary() // never fails
		*dst = append(*dst, byte(len(b)))
		*dst = append(*dst, b...)
	case kArray:
		for i := range n.n {
			off := uintptr(i) * n.elem.size
			n.elem.append(st, unsafe.Add(p, off), addOrNil(prev, off))
		}
	case kPtr:
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			*dst = append(*dst, 0)
			return
		}
		*dst = append(*dst, 1)
		n.elem.append(st, q, nil)
	case kSlice:
		s := reflect.NewAt(n.typ, p).Elem()
		*dst = binary.AppendUvarint(*dst, uint64(s.Len()))
		var pe unsafe.Pointer // the previous element
		for i := range s.Len() {
			e := s.Index(i).Addr().UnsafePointer()
			n.elem.append(st, e, pe)
			pe = e
		}
	default: // kStruct
		for _, f := range n.fields {
			f.n.append(st, unsafe.Add(p, f.off), addOrNil(prev, f.off))
		}
	}
}

func addOrNil(p unsafe.Pointer, off uintptr) unsafe.Pointer {
	if p == nil {
		return nil
	}
	return unsafe.Add(p, off)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = ErrCorrupt
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (n *node) read(st streams, p, prev unsafe.Pointer) {
	r := &st[n.leaf]
	switch n.kind {
	case kArray:
		for i := range n.n {
			off := uintptr(i) * n.elem.size
			n.elem.read(st, unsafe.Add(p, off), addOrNil(prev, off))
		}
		return
	case kStruct:
		for _, f := range n.fields {
			f.n.read(st, unsafe.Add(p, f.off), addOrNil(prev, f.off))
		}
		return
	}
	if r.err != nil {
		return
	}
	switch n.kind {
	case kBool:
		b := r.bytes(1)
		if len(b) == 1 {
			if b[0] > 1 {
				r.fail()
			}
			*(*bool)(p) = b[0] == 1
		}
	case kInt:
		v := r.varint()
		if n.bits < 64 && (v < -1<<(n.bits-1) || v >= 1<<(n.bits-1)) {
			r.fail()
			return
		}
		storeInt(p, n.bits, v)
	case kUint:
		if n.bits == 32 {
			if b := r.bytes(4); len(b) == 4 {
				*(*uint32)(p) = binary.LittleEndian.Uint32(b)
			}
			return
		}
		v := r.uvarint()
		if n.bits < 64 && v >= 1<<n.bits {
			r.fail()
			return
		}
		storeUint(p, n.bits, v)
	case kInt64:
		v := r.varint()
		if prev != nil {
			v += *(*int64)(prev)
		}
		*(*int64)(p) = v
	case kUint64:
		v := uint64(r.varint())
		if prev != nil {
			v += *(*uint64)(prev)
		}
		*(*uint64)(p) = v
	case kString:
		*(*string)(p) = string(r.bytes(r.uvarint()))
	case kAddr, kAddrPort:
		l := r.bytes(1)
		if len(l) == 0 {
			return
		}
		b := r.bytes(uint64(l[0]))
		var err error
		if n.kind == kAddr {
			err = (*netip.Addr)(p).UnmarshalBinary(b)
		} else {
			err = (*netip.AddrPort)(p).UnmarshalBinary(b)
		}
		if err != nil {
			r.fail()
		}
	case kPtr:
		b := r.bytes(1)
		switch {
		case len(b) == 0:
		case b[0] == 0:
			*(*unsafe.Pointer)(p) = nil
		case b[0] == 1:
			v := reflect.New(n.elem.typ)
			n.elem.read(st, v.UnsafePointer(), nil)
			*(*unsafe.Pointer)(p) = v.UnsafePointer()
		default:
			r.fail()
		}
	case kSlice:
		l := r.uvarint()
		// Every element takes at least one byte of some column: a length
		// beyond the input is corrupt, and memory stays bounded by it.
		if l > uint64(st.remaining()) {
			r.fail()
			return
		}
		s := reflect.NewAt(n.typ, p).Elem()
		if l == 0 {
			s.SetZero()
			return
		}
		s.Set(reflect.MakeSlice(n.typ, int(l), int(l)))
		var pe unsafe.Pointer // the previous element
		for i := range int(l) {
			e := s.Index(i).Addr().UnsafePointer()
			n.elem.read(st, e, pe)
			pe = e
		}
	}
}

// remaining is the number of bytes left in all columns.
func (st streams) remaining() int {
	n := 0
	for i := range st {
		n += len(st[i].b)
	}
	return n
}

func loadInt(p unsafe.Pointer, bits uint8) int64 {
	switch bits {
	case 8:
		return int64(*(*int8)(p))
	case 16:
		return int64(*(*int16)(p))
	case 32:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func storeInt(p unsafe.Pointer, bits uint8, v int64) {
	switch bits {
	case 8:
		*(*int8)(p) = int8(v)
	case 16:
		*(*int16)(p) = int16(v)
	case 32:
		*(*int32)(p) = int32(v)
	default:
		*(*int64)(p) = v
	}
}

func loadUint(p unsafe.Pointer, bits uint8) uint64 {
	switch bits {
	case 8:
		return uint64(*(*uint8)(p))
	case 16:
		return uint64(*(*uint16)(p))
	case 32:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

func storeUint(p unsafe.Pointer, bits uint8, v uint64) {
	switch bits {
	case 8:
		*(*uint8)(p) = uint8(v)
	case 16:
		*(*uint16)(p) = uint16(v)
	case 32:
		*(*uint32)(p) = uint32(v)
	default:
		*(*uint64)(p) = v
	}
}
