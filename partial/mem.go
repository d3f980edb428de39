package partial

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// FlowCodec is a lossless binary encoding of reassembly.Flow (the
// report's flow records): a memory Recorder holds its flows in it, a few
// dozen bytes each and no pointers for the collector to follow.
type FlowCodec struct {
	// Append appends f's encoding to dst.
	Append func(dst []byte, f *reassembly.Flow) []byte
	// Decode decodes one encoding into f, which it may reuse.
	Decode func(b []byte, f *reassembly.Flow) error
}

// MemPart is a partial result held in memory: what a memory Recorder
// (NewMemRecorder) made of one analysis, for MergeMemory in the same
// process. It holds what a partial file holds, without compressing or
// encoding anything but the flows (in the FlowCodec) and the few head
// packets that are not stubs.
type MemPart struct {
	c       *codecs
	files   []string
	summary Summary
	tail    tail
	// truncated are the head 4-tuples cut short whose first head packet
	// does not say so (K of a partial file).
	truncated []tupleKey

	// The head, one kind per packet in capture order: a later packet of
	// a 4-tuple cut short is only its time (ticks); the first packet of
	// a 4-tuple cut short is a stub (stubs); any other packet is whole,
	// encoded into blocks of up to blockSize as a partial file has them.
	kinds   []uint8
	ticks   []int64
	stubs   []memStub
	tunnels []decode.Tunnel // of the stubs in a tunnel
	blocks  [][]byte

	// The flows in emission order: each its length (uvarint) and its
	// FlowCodec encoding, in chunks of flowChunk bytes (a record does not
	// straddle two); headFirst has bit i set for the ith flow if it is
	// the first attempt of a head 4-tuple (flowRecord.HeadFirst).
	flows     [][]byte
	rec       []byte
	headFirst []uint64
	nflows    int
	codec     FlowCodec
}

// Kinds of head packets of a MemPart.
const (
	headTick = iota
	headStub
	headFull
)

// memStub is the first head packet of a 4-tuple cut short, what stubHead
// keeps of it, without pointers (a MemPart holds tens of thousands; an
// address with a zone is kept whole instead).
type memStub struct {
	ts, frame    int64
	file, iface  int32
	payloadLen   int32
	tun          int32 // index in tunnels, or -1: plain traffic
	seq, ack     decode.Seq
	src, dst     [16]byte
	sport, dport uint16
	flags        decode.Flags
	checksum     decode.ChecksumState
	frag         decode.FragFlags
	src4, dst4   bool
}

// newStub returns the stub of s, a segment cleared by stubHead; ok is
// false when an address has a zone.
func newStub(s *decode.Segment) (st memStub, ok bool) {
	if !s.Src.IsValid() || !s.Dst.IsValid() || s.Src.Addr().Zone() != "" || s.Dst.Addr().Zone() != "" || s.File != int(int32(s.File)) || s.Interface != int(int32(s.Interface)) ||
		s.PayloadLen != int(int32(s.PayloadLen)) {
		return st, false
	}
	return memStub{ts: s.Timestamp, frame: int64(s.Frame), file: int32(s.File), iface: int32(s.Interface), payloadLen: int32(s.PayloadLen), tun: -1,
		seq: s.Seq, ack: s.Ack, src: s.Src.Addr().As16(), dst: s.Dst.Addr().As16(), sport: s.Src.Port(), dport: s.Dst.Port(),
		flags: s.Flags, checksum: s.Checksum, frag: s.IPFrag, src4: s.Src.Addr().Is4(), dst4: s.Dst.Addr().Is4()}, true
}

// segment returns the stubbed segment.
func (st *memStub) segment() decode.Segment {
	addr := func(b [16]byte, is4 bool) netip.Addr {
		a := netip.AddrFrom16(b)
		if is4 {
			a = a.Unmap()
		}
		return a
	}
	return decode.Segment{Timestamp: st.ts, Frame: uint64(st.frame), File: int(st.file), Interface: int(st.iface),
		Src: netip.AddrPortFrom(addr(st.src, st.src4), st.sport), Dst: netip.AddrPortFrom(addr(st.dst, st.dst4), st.dport),
		Seq: st.seq, Ack: st.ack, Flags: st.flags, PayloadLen: int(st.payloadLen), Checksum: st.checksum, IPFrag: st.frag}
}

// Files returns the captures the part was analysed from.
func (p *MemPart) Files() []string { return p.files }

func (p *MemPart) addFlow(codec FlowCodec, f *reassembly.Flow, headFirst bool) {
	p.codec = codec
	if headFirst {
		for len(p.headFirst) <= p.nflows/64 {
			p.headFirst = append(p.headFirst, 0)
		}
		p.headFirst[p.nflows/64] |= 1 << (p.nflows % 64)
	}
	p.nflows++
	p.rec = codec.Append(p.rec[:0], f)
	need := binary.MaxVarintLen64 + len(p.rec)
	if n := len(p.flows); n == 0 || cap(p.flows[n-1])-len(p.flows[n-1]) < need {
		p.flows = append(p.flows, make([]byte, 0, max(flowChunk, need)))
	}
	c := &p.flows[len(p.flows)-1]
	*c = binary.AppendUvarint(*c, uint64(len(p.rec)))
	*c = append(*c, p.rec...)
}

// flowChunk is the size of the chunks a MemPart holds its flows in.
const flowChunk = 1 << 20

// Size returns about how many bytes p holds.
func (p *MemPart) Size() int64 {
	n := int64(len(p.kinds) + 8*len(p.ticks) + int(unsafe.Sizeof(memStub{}))*len(p.stubs) + 8*len(p.headFirst))
	for _, b := range p.blocks {
		n += int64(len(b))
	}
	for _, b := range p.flows {
		n += int64(cap(b))
	}
	return n + int64(len(p.tail.State.Attempts))*int64(unsafe.Sizeof(reassembly.Attempt{}))
}

// addHead takes a block of head packets (flushHead), stubbing those of
// 4-tuples already cut short.
func (p *MemPart) addHead(pkts []headPacket, owners []pendingOwner) {
	full := pkts[:0:0]
	for i := range pkts {
		hp := &pkts[i]
		o := owners[i]
		switch {
		case !o.hk.truncated || hp.Packet.Kind != decode.KindTCP:
			p.kinds = append(p.kinds, headFull)
			full = append(full, *hp)
		case !o.first:
			p.kinds = append(p.kinds, headTick)
			p.ticks = append(p.ticks, hp.Packet.Segment.Timestamp)
		default: // stubbed and marked Cut by flushHead
			st, ok := newStub(&hp.Packet.Segment)
			if !ok {
				p.kinds = append(p.kinds, headFull)
				full = append(full, *hp)
				continue
			}
			if hp.Packet.Tunnel.Len() > 0 {
				st.tun = int32(len(p.tunnels))
				p.tunnels = append(p.tunnels, hp.Packet.Tunnel)
			}
			p.kinds = append(p.kinds, headStub)
			p.stubs = append(p.stubs, st)
		}
	}
	if len(full) > 0 {
		p.blocks = append(p.blocks, p.c.appendHeadBlock(nil, full))
	}
}

// eachHead walks the head as merger.each does. A stub whose 4-tuple live
// (unless nil) says the tracker holds nothing of only moves the clock:
// Tracker.Fate would find it fresh, so its 4-tuple is the part's own
// (actTick), and the later packets of a stub's 4-tuple are ticks too.
func (p *MemPart) eachHead(walk func(*headPacket) error, tick func(int64), live func(reassembly.FlowKey, *decode.Tunnel) bool) error {
	var block []headPacket
	nb, nf, nt, ns := 0, 0, 0, 0
	var stub headPacket
	for _, k := range p.kinds {
		switch k {
		case headTick:
			tick(p.ticks[nt])
			nt++
		case headStub:
			st := &p.stubs[ns]
			ns++
			if live != nil && !p.stubLive(st, live) {
				tick(st.ts)
				continue
			}
			stub = headPacket{Cut: true, Packet: decode.Packet{Kind: decode.KindTCP, Segment: st.segment()}}
			if st.tun >= 0 {
				stub.Packet.Tunnel = p.tunnels[st.tun]
			}
			if err := walk(&stub); err != nil {
				return err
			}
		default:
			if nf == len(block) {
				var err error
				if block, _, err = p.c.readHeadBlock(p.blocks[nb], block[:0]); err != nil {
					return fmt.Errorf("%w: head packets: %v", errCorrupt, err)
				}
				nb, nf = nb+1, 0
			}
			if err := walk(&block[nf]); err != nil {
				return err
			}
			nf++
		}
	}
	return nil
}

// stubLive reports whether live holds the 4-tuple of st.
func (p *MemPart) stubLive(st *memStub, live func(reassembly.FlowKey, *decode.Tunnel) bool) bool {
	seg := st.segment()
	var tun *decode.Tunnel
	if st.tun >= 0 {
		canon, _ := p.tunnels[st.tun].Canonical()
		tun = &canon
	}
	return live(reassembly.KeyOf(seg.Src, seg.Dst), tun)
}

// memPart merges a part held in memory.
func (m *merger) memPart(p *MemPart, emit func(*reassembly.Flow)) error {
	m.name, m.tl, m.truncated = p.files[0], &p.tail, p.truncated
	var live func(reassembly.FlowKey, *decode.Tunnel) bool
	if m.prev && !m.overlap {
		live = m.has
	}
	m.each = func(walk func(*headPacket) error, tick func(int64)) error { return p.eachHead(walk, tick, live) }
	if err := m.head(); err != nil {
		return err
	}
	var r flowRecord
	var b []byte
	for i, c := 0, 0; i < p.nflows; i++ {
		if len(b) == 0 {
			if c == len(p.flows) {
				return errors.New("flow records damaged in memory")
			}
			b, c = p.flows[c], c+1
		}
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return errors.New("flow records damaged in memory")
		}
		if err := p.codec.Decode(b[k:k+int(n)], &r.Flow); err != nil {
			return err
		}
		b = b[k+int(n):]
		r.HeadFirst = i/64 < len(p.headFirst) && p.headFirst[i/64]&(1<<(i%64)) != 0
		if err := m.flow(&r, emit); err != nil {
			return err
		}
	}
	return m.tail()
}

// MemPlan returns the plan to merge parts held in memory, all analysed
// with the tracking options opts; their order is that of Plan.Parts.
func MemPlan(parts []*MemPart, opts Options) (*Plan, error) {
	if len(parts) == 0 {
		return nil, errors.New("no partial given")
	}
	c, err := newCodecs()
	if err != nil {
		return nil, err
	}
	p := &Plan{c: c, opts: opts}
	for i, mp := range parts {
		p.parts = append(p.parts, &loaded{input: i, part: &part{header: &Header{Options: opts, Files: mp.files}, summary: mp.summary}, mem: mp})
	}
	p.arrange()
	return p, nil
}
