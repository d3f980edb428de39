package partial

import (
	"encoding/binary"
	"net/netip"
)

// A head block (section H) holds up to blockSize head packets in capture
// order, packed to compress well: each packet's time in microseconds with
// the nanoseconds apart (Nanos; zero in a pcap of microsecond resolution),
// and, for a packet that follows one of the block with the same source
// and destination (a retransmitted SYN, a connection's next segment), its
// sequence and acknowledgement numbers and timestamp values relative to
// that packet's, which they differ little from. A block depends on no
// other, so that a flow's head reference decodes one block only.

// appendHeadBlock appends the encoding of pkts to dst. It packs pkts in
// place: the caller no longer needs them.
func (c *codecs) appendHeadBlock(dst []byte, pkts []headPacket) []byte {
	prev := headPrevious(pkts)
	// Backwards, so that the packet a packet is relative to is not packed
	// yet.
	for i := len(pkts) - 1; i >= 0; i-- {
		s := &pkts[i].Packet.Segment
		if j := prev[i]; j >= 0 {
			p := &pkts[j].Packet.Segment
			s.Seq -= p.Seq
			s.Ack -= p.Ack
			s.Options.TSval -= p.Options.TSval
			s.Options.TSecr -= p.Options.TSecr
		}
		s.Timestamp, pkts[i].Nanos = splitMicros(s.Timestamp)
	}
	return c.head.AppendBlock(dst, pkts)
}

// readHeadBlock decodes a block written by appendHeadBlock, appending its
// packets to pkts, and returns the rest of src.
func (c *codecs) readHeadBlock(src []byte, pkts []headPacket) ([]headPacket, []byte, error) {
	base := len(pkts)
	pkts, rest, err := c.head.ReadBlock(src, pkts, blockSize)
	if err != nil {
		return pkts, rest, err
	}
	block := pkts[base:]
	prev := headPrevious(block) // from the addresses, which are not packed
	for i := range block {
		s := &block[i].Packet.Segment
		s.Timestamp = s.Timestamp*1000 + int64(block[i].Nanos)
		block[i].Nanos = 0
		if j := prev[i]; j >= 0 {
			p := &block[j].Packet.Segment
			s.Seq += p.Seq
			s.Ack += p.Ack
			s.Options.TSval += p.Options.TSval
			s.Options.TSecr += p.Options.TSecr
		}
	}
	return pkts, rest, nil
}

// headPrevious returns, for each packet of a block, the index of the last
// packet before it with the same source and destination, or -1. It
// matches them by a hash of the two (dirHash): packets of two directions
// that collide are taken as one direction, which costs bytes, never
// exactness, since the reader matches them alike.
func headPrevious(pkts []headPacket) []int {
	prev := make([]int, len(pkts))
	last := make(map[uint64]int, len(pkts))
	for i := range pkts {
		s := &pkts[i].Packet.Segment
		k := dirHash(s.Src, s.Dst)
		if j, ok := last[k]; ok {
			prev[i] = j
		} else {
			prev[i] = -1
		}
		last[k] = i
	}
	return prev
}

// dirHash hashes a source and destination (a fixed function: writer and
// reader must agree).
func dirHash(src, dst netip.AddrPort) uint64 {
	a, b := src.Addr().As16(), dst.Addr().As16()
	h := uint64(src.Port())<<16 | uint64(dst.Port())
	for _, w := range [...][]byte{a[:8], a[8:], b[:8], b[8:]} {
		h = mix64(h ^ binary.LittleEndian.Uint64(w))
	}
	return h
}
