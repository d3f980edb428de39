package analyze

import (
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/defrag"
)

// reassemble hands the fragment in pkt to the defragmenter. When it
// completes a datagram, pkt becomes the datagram decoded (KindTCP or
// KindICMPError to analyse, any other kind to drop), stamped by the caller
// with the completing fragment's capture time and frame; else pkt stays
// KindFragment and is dropped. A datagram holding a fragment of its own
// (fragments inside a fragmented tunnel) goes round again.
func (r *reader) reassemble(pkt *decode.Packet) {
	ts := r.rec.Timestamp
	for pkt.Kind == decode.KindFragment {
		dg := r.frag.Add(ts, &pkt.Frag, &pkt.Tunnel, r.dec.FragmentData())
		if dg == nil {
			return
		}
		r.dec.DecodeReassembled(&dg.First, dg.Tunnel, dg.Payload, dg.Wire, pkt)
		r.sum.Reassembled.ByKind[pkt.Kind] += uint64(dg.Fragments)
		if pkt.Kind == decode.KindTCP || pkt.Kind == decode.KindICMPError {
			pkt.Segment.IPFrag = fragFlags(dg)
		}
	}
}

// fragFlags are the decode.FragFlags of a reassembled datagram's segment.
func fragFlags(dg *defrag.Datagram) decode.FragFlags {
	f := decode.FragReassembled
	if dg.Overlap {
		f |= decode.FragOverlap
	}
	if dg.Tiny {
		f |= decode.FragTiny
	}
	return f
}
