package partial

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"slices"
	"sync"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/defrag"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Error is a partial that cannot be merged: unreadable, corrupt,
// truncated, of another version, or made with other tracking options. It
// names the file.
type Error struct {
	Path string
	Err  error
}

// Error names the file and the reason.
func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }

// Unwrap returns the reason.
func (e *Error) Unwrap() error { return e.Err }

// Plan is a set of partials checked and ordered for merging.
type Plan struct {
	opts    Options
	parts   []*loaded
	c       *codecs
	merged  Merged
	checked bool // Open decoded every partial whole (not OpenPlan)
}

// loaded is one partial as Open read it, or one held in memory (mem).
type loaded struct {
	path  string
	input int // index in Open's paths
	*part
	mem *MemPart
}

// Merged describes the capture that the merged partials came from.
type Merged struct {
	// Options are the partials' tracking options.
	Options Options
	// Files are the captures of all parts, in the order of their parts'
	// capture time; flows' file indices refer to this list.
	Files []string
	// Packets, TCPPackets and Decoded add up the parts'.
	Packets, TCPPackets uint64
	// FirstTS and LastTS bound the whole capture; StartTS is its first
	// packet's time (HasStart: one was read).
	FirstTS, LastTS, StartTS int64
	HasStart                 bool
	// Warnings are the parts' damage warnings (each names its file).
	Warnings []string
	// Decoded counts records by what they decoded as; Early, Fragments,
	// Reassembled and Duplicates are as in analyze.Summary, added up.
	Decoded     decode.Counters
	Early       reassembly.EarlyStats
	Fragments   defrag.Stats
	Reassembled decode.Counters
	Duplicates  uint64
}

// Open reads every partial of paths completely, checking it, and returns
// the plan to merge them. want, if not nil, are the tracking options the
// caller expects. Nothing is merged yet: a corrupt partial is found before
// a flow is emitted. Errors are *Error, naming the file.
func Open(paths []string, want *Options) (*Plan, error) {
	return open(paths, want, readCheck)
}

// OpenPlan is Open without the check: it reads every partial to its end
// (the zstd stream's checksum is checked) but decodes only the summaries,
// so a flow, tail or head record that does not decode is found by
// Plan.Run, after it may have emitted flows. It is for a caller that holds
// its whole report until Run returns (a sorted report) and writes nothing
// when Run fails: for it, Open's check would only decode every partial one
// more time (a third of what merging costs).
func OpenPlan(paths []string, want *Options) (*Plan, error) {
	return open(paths, want, readPlan)
}

func open(paths []string, want *Options, mode readMode) (*Plan, error) {
	if len(paths) == 0 {
		return nil, errors.New("no partial given")
	}
	c, err := newCodecs()
	if err != nil {
		return nil, err
	}
	p := &Plan{c: c, checked: mode == readCheck}
	parts, errs := loadAll(paths, c, mode)
	for i, path := range paths {
		pt, err := parts[i], errs[i]
		if err != nil {
			return nil, &Error{Path: path, Err: err}
		}
		o := pt.header.Options
		if len(p.parts) == 0 && want == nil {
			p.opts = o
		} else if len(p.parts) == 0 {
			p.opts = *want
		}
		if o != p.opts {
			other := "the command line"
			if len(p.parts) > 0 {
				other = p.parts[0].path
			}
			return nil, &Error{Path: path, Err: fmt.Errorf("written with other tracking options (%s) than %s (%s): merge only partials of one configuration", o, other, p.opts)}
		}
		p.parts = append(p.parts, &loaded{path: path, input: i, part: pt})
	}
	p.arrange()
	return p, nil
}

// arrange orders the parts by capture time and describes the merge.
func (p *Plan) arrange() {
	slices.SortStableFunc(p.parts, func(a, b *loaded) int {
		sa, sb := &a.summary, &b.summary
		if sa.HasTrack != sb.HasTrack {
			if sa.HasTrack {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(sa.TrackFirst, sb.TrackFirst), cmp.Compare(sa.FirstTS, sb.FirstTS))
	})
	m := &p.merged
	m.Options = p.opts
	first := true
	for _, pt := range p.parts {
		s := &pt.summary
		m.Files = append(m.Files, pt.header.Files...)
		m.Packets += s.Packets
		m.TCPPackets += s.TCPPackets
		addCounters(&m.Decoded, &s.Decoded)
		addCounters(&m.Early, &s.Early)
		addCounters(&m.Fragments, &s.Fragments)
		addCounters(&m.Reassembled, &s.Reassembled)
		m.Duplicates += s.Duplicates
		m.Warnings = append(m.Warnings, s.Warnings...)
		if s.Packets > 0 {
			if first {
				m.FirstTS, m.LastTS = s.FirstTS, s.LastTS
				first = false
			}
			m.FirstTS, m.LastTS = min(m.FirstTS, s.FirstTS), max(m.LastTS, s.LastTS)
		}
		if s.HasStart && (!m.HasStart || s.StartTS < m.StartTS) {
			m.StartTS, m.HasStart = s.StartTS, true
		}
	}
}

// loadAll loads the partials of paths (load, without flows), on up to
// GOMAXPROCS goroutines at once: checking a partial decodes all of it, a
// CPU-bound pass that would otherwise run file after file before the
// merge prints anything.
func loadAll(paths []string, c *codecs, mode readMode) ([]*part, []error) {
	parts, errs := make([]*part, len(paths)), make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(paths)) {
		wg.Go(func() {
			for i := range next {
				parts[i], errs[i] = load(paths[i], c, mode, nil, nil)
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	return parts, errs
}

// load reads the partial at path, passing its blocks of flows to flows
// (readFlows, see readAll: index finds its head packets, as readBoundary
// read them).
func load(path string, c *codecs, mode readMode, flows func([]flowRecord) []flowRecord, index *headIndex) (*part, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, err
	}
	defer f.Close()
	h, d, err := newDecoder(f, c)
	if err != nil {
		return nil, err
	}
	defer d.close()
	return d.readAll(h, mode, flows, index)
}

// Merged describes the merged capture.
func (p *Plan) Merged() *Merged { return &p.merged }

// Parts returns, for each part in merged order, its index in Open's
// paths.
func (p *Plan) Parts() []int {
	order := make([]int, len(p.parts))
	for i, pt := range p.parts {
		order[i] = pt.input
	}
	return order
}

// Overlapping reports whether a part begins before an earlier one ended:
// captures split by flow hash rather than cut in time. Run merges them as
// long as no connection is in two of them.
func (p *Plan) Overlapping() bool {
	var maxLast int64
	prev := false
	for _, pt := range p.parts {
		s := &pt.summary
		if prev && s.HasTrack && s.TrackFirst < maxLast {
			return true
		}
		if s.Packets > 0 {
			maxLast, prev = max(maxLast, s.LastTS), true
		}
	}
	return false
}

// Run merges: it emits every flow that one analysis of all the parts'
// captures together would emit, exactly once, with file indices into
// Merged.Files. It continues the attempts that cross from one part into
// the next (see docs/partial.md). warn is called for each place where the
// partials cannot reproduce one run exactly (a connection crossing a cut
// beyond what the head of a partial keeps); such connections are reported
// as the parts saw them. An error (a partial changed since Open, or parts
// that overlap in time and share a connection) is returned as *Error.
func (p *Plan) Run(emit func(*reassembly.Flow), warn func(string)) error {
	t := reassembly.New(p.opts.trackerOptions(), emit)
	base := 0
	var maxLast int64
	prev := false
	// The parts' merges take turns: their maps are emptied, not made
	// again (a map keeps the room it grew to).
	replay, act := make(map[connKey]bool), make(map[connKey]int)
	for _, pt := range p.parts {
		s := &pt.summary
		overlap := prev && s.HasTrack && s.TrackFirst < maxLast
		clear(replay)
		clear(act)
		m := merger{c: p.c, t: t, base: base, prev: prev, overlap: overlap, warn: warn, replay: replay, act: act, checked: p.checked}
		var err error
		if pt.mem != nil {
			err = m.memPart(pt.mem, emit)
		} else {
			err = m.filePart(pt, emit)
		}
		if err != nil {
			return &Error{Path: cmp.Or(pt.path, pt.header.Files[0]), Err: err}
		}
		if s.Packets > 0 {
			maxLast = max(maxLast, s.LastTS)
			prev = true
		}
		base += len(pt.header.Files)
	}
	t.Flush()
	return nil
}

// reread describes err, met reading a partial again to merge it: as the
// file changed since Open checked it whole, or, after OpenPlan, as what
// it is.
func (m *merger) reread(err error) error {
	if m.checked {
		return fmt.Errorf("changed while merging: %w", err)
	}
	return err
}

// filePart merges the partial of pt, reading it again: its boundary,
// then its flows.
func (m *merger) filePart(pt *loaded, emit func(*reassembly.Flow)) error {
	full, err := load(pt.path, m.c, readBoundary, nil, nil)
	if err != nil {
		return m.reread(err)
	}
	m.name, m.tl, m.truncated = pt.path, &full.tail, full.head.Truncated
	index, err := newHeadIndex(m.c, &full.head)
	if err != nil {
		return m.reread(err)
	}
	m.each = func(walk func(*headPacket) error, _ func(int64)) error { return index.each(walk) }
	if err := m.head(); err != nil {
		return err
	}
	// The flows are decoded on a goroutine of their own while this one
	// merges and emits the blocks decoded before: four blocks at most.
	blocks, free := make(chan []flowRecord, 2), make(chan []flowRecord, 3)
	for range cap(free) {
		free <- nil
	}
	var loadErr error
	go func() {
		defer close(blocks)
		_, loadErr = load(pt.path, m.c, readFlows, func(block []flowRecord) []flowRecord {
			blocks <- block
			return (<-free)[:0]
		}, index)
	}()
	var flowErr error
	for block := range blocks {
		for i := range block {
			if flowErr == nil {
				flowErr = m.flow(&block[i], emit)
			}
		}
		clear(block) // let the flows' slices go
		free <- block
	}
	if loadErr != nil {
		return m.reread(loadErr)
	}
	if flowErr != nil {
		return flowErr
	}
	return m.tail()
}

// merger joins one part to the tracker that holds what the parts before
// it left open.
type merger struct {
	// pkt and out are the head packet being replayed and the flow being
	// emitted, reused: copies of their own, which Tracker.Add and emit
	// only read during the call, without an allocation each.
	pkt     decode.Packet
	out     reassembly.Flow
	act     map[connKey]int // head: what each 4-tuple's packets do (act*)
	c       *codecs
	checked bool // the Plan's: the partials were checked whole before
	t       *reassembly.Tracker
	// The part: its name (in warnings), its tail, the head 4-tuples cut
	// short that its head packets do not mark, and its head: each calls
	// walk for every head packet in capture order, or tick with the time
	// of one that only moves the clock (a later packet of a 4-tuple cut
	// short), stopping at walk's first error.
	name      string
	tl        *tail
	truncated []tupleKey
	each      func(walk func(*headPacket) error, tick func(int64)) error
	base      int // index of the part's first file in Merged.Files
	prev      bool
	overlap   bool
	warn      func(string)
	// replay are the head 4-tuples whose first attempt the tracker
	// decided again: the part's own view of it is dropped.
	replay map[connKey]bool
}

// Actions on a head 4-tuple.
const (
	actTick   = iota // nothing earlier is open: the part's view stands
	actReplay        // continues an earlier attempt: replay its packets
	actSplit         // continues one, beyond what the head kept
)

// head feeds the part's head to the tracker where it continues what an
// earlier part left open; elsewhere it only moves the clock.
func (m *merger) head() error {
	if !m.prev {
		return nil
	}
	truncated := make(map[connKey]bool, len(m.truncated))
	for i := range m.truncated {
		truncated[m.truncated[i].key()] = true
	}
	act := m.act
	return m.each(func(hp *headPacket) error {
		m.pkt = hp.Packet
		pkt := &m.pkt
		pkt.Segment.File += m.base
		seg := &pkt.Segment
		ck := packetKey(pkt)
		a, ok := act[ck]
		if !ok {
			switch fate := m.t.Fate(pkt); {
			case fate == reassembly.FateFresh:
				a = actTick
			case m.overlap:
				return errShared(ck)
			case fate == reassembly.FateNew:
				// The earlier attempt ends here; the part's own attempt,
				// begun by this segment, stands.
				m.t.Add(pkt)
				m.dropPacketKey(pkt)
				act[ck] = actTick
				return nil
			case hp.Cut || truncated[ck]:
				a = actSplit
				m.warn(fmt.Sprintf("connection %s continues from an earlier part into %s beyond what its partial keeps: reported as two attempts", ck, m.name))
				if key, ok := m.t.PacketKey(pkt); ok {
					m.t.Finish(key)
				}
			default:
				a = actReplay
				m.replay[ck] = true
			}
			act[ck] = a
		}
		if a != actReplay {
			m.t.Tick(seg.Timestamp)
			return nil
		}
		m.t.Add(pkt)
		if hp.Term {
			// The part began its second attempt here; so must the tracker,
			// and from here on the part's own view is the truth.
			key, _ := m.t.PacketKey(pkt)
			if ts, ok := m.t.Started(key); ok && ts == seg.Timestamp {
				m.t.Drop(key)
			} else {
				m.warn(fmt.Sprintf("connection %s: a segment that began a new attempt in %s continues an earlier part's attempt: the attempts after it are reported as that part saw them", ck, m.name))
				m.t.Finish(key)
			}
		}
		return nil
	}, m.t.Tick)
}

// flow emits one of the part's decided flows unless the tracker decided it
// again.
func (m *merger) flow(r *flowRecord, emit func(*reassembly.Flow)) error {
	ck := flowKey(&r.Flow)
	if r.HeadFirst && m.replay[ck] {
		return nil
	}
	if m.overlap && m.has(reassembly.KeyOf(r.Flow.Client, r.Flow.Server), r.Flow.Tunnel) {
		return errShared(ck)
	}
	m.out = r.Flow
	f := &m.out
	f.File += m.base
	if m.base != 0 {
		f.Evidence = slices.Clone(f.Evidence)
		for i := range f.Evidence {
			f.Evidence[i].File += m.base
		}
	}
	emit(f)
	return nil
}

// tail hands the part's open attempts to the tracker, but those it
// decided again.
func (m *merger) tail() error {
	st := m.tl.State
	drop := make(map[connKey]bool)
	for i := range m.tl.OpenFirst {
		if k := m.tl.OpenFirst[i].key(); m.replay[k] {
			drop[k] = true
		}
	}
	st.Attempts = slices.DeleteFunc(slices.Clone(st.Attempts), func(a reassembly.Attempt) bool { return drop[keyOf(a.Key, &a.Tunnel)] })
	pend := -1
	held := make([]reassembly.HeldSegment, 0, len(st.Held))
	for i, h := range st.Held {
		if drop[keyOf(h.Key, &h.Tunnel)] {
			continue
		}
		if i == st.PendHeld {
			pend = len(held)
		}
		h.Segment.File += m.base
		held = append(held, h)
	}
	st.Held, st.PendHeld = held, pend
	for i := range st.Attempts {
		a := &st.Attempts[i]
		if m.overlap && m.has(a.Key, &a.Tunnel) {
			return errShared(keyOf(a.Key, &a.Tunnel))
		}
		a.Machine.DetachEvidence()
		a.Machine.ShiftFiles(m.base)
		a.File += m.base
	}
	for _, a := range m.t.Restore(&st) {
		m.warn(fmt.Sprintf("connection %s: the attempt %s left open does not follow on from an earlier part's, which is kept instead", keyOf(a.Key, &a.Tunnel), m.name))
	}
	return nil
}

// has reports whether the tracker holds anything of tuple in tunnel
// context tun (canonical; nil for plain traffic).
func (m *merger) has(tuple reassembly.FlowKey, tun *decode.Tunnel) bool {
	key, ok := m.t.Lookup(tuple, tun)
	return ok && m.t.Has(key)
}

// dropPacketKey drops the tracker's attempt of p's 4-tuple.
func (m *merger) dropPacketKey(p *decode.Packet) {
	if key, ok := m.t.PacketKey(p); ok {
		m.t.Drop(key)
	}
}

func errShared(k connKey) error {
	return fmt.Errorf("overlaps an earlier part in time and shares its connection %s: analyse those captures together, or split them by flow hash", k)
}

// String names the connection's endpoints (and tunnel, if any).
func (k connKey) String() string {
	lo, hi := k.Tuple.Endpoints()
	s := lo.String() + "-" + hi.String()
	if n := len(k.tun); n > 0 {
		n = int(k.tun[0])
		s += fmt.Sprintf(" (in %d tunnel levels)", n)
	}
	return s
}

// addCounters adds the counters of b to a, whatever fields their struct
// gains: unsigned integers (alone or in arrays) are counts and add up;
// signed ones are high-water marks (EarlyStats.MaxAttempts) and take the
// larger.
func addCounters[T any](a, b *T) {
	addValues(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem())
}

func addValues(a, b reflect.Value) {
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			addValues(a.Field(i), b.Field(i))
		}
	case reflect.Array:
		for i := range a.Len() {
			addValues(a.Index(i), b.Index(i))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		a.SetUint(a.Uint() + b.Uint())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		a.SetInt(max(a.Int(), b.Int()))
	}
}
