package decode

import (
	"bytes"
	"testing"
)

// TestFragmentDataAndReassembled checks that a fragment inside a tunnel
// keeps its tunnel context, that FragmentData is its payload as captured,
// and that DecodeReassembled decodes the whole datagram in that context
// without counting a frame.
func TestFragmentDataAndReassembled(t *testing.T) {
	syn := withChecksum(cli4, srv4, synHdr())
	first := ip4(ip4Spec{src: cli4, dst: srv4, proto: protoTCP, frag: 0x2000}, syn[:16])
	frame := eth(etherTypeIPv4, outer4(protoGRE, cat(greHdr(0x2000, etherTypeIPv4, 7), first)))
	d := NewDecoder(DecoderOptions{VerifyChecksums: true})
	var p Packet
	d.Decode(LinkTypeEthernet, frame, len(frame), &p)
	if p.Kind != KindFragment || p.Tunnel.String() != "gre=7" || !bytes.Equal(d.FragmentData(), syn[:16]) {
		t.Fatalf("got %s, data %x", fmtPacket(p), d.FragmentData())
	}
	tun := p.Tunnel
	d.DecodeReassembled(&p.Frag, &tun, syn, len(syn), &p)
	want := tunneled(tun)
	want.Segment.Checksum = ChecksumGood
	want.Segment.IPLen = 20 + len(syn) // the inner IPv4 header and the datagram
	if p != want {
		t.Errorf("reassembled:\n got %s\nwant %s", fmtPacket(p), fmtPacket(want))
	}
	if c := d.Counters(); c.Total() != 1 || c.ByKind[KindFragment] != 1 {
		t.Errorf("counters %v", c.ByKind)
	}
	// The snap length cut the datagram: its segment is still decoded.
	d.DecodeReassembled(&Fragment{Proto: protoTCP, Src: cli4, Dst: srv4}, &Tunnel{}, syn[:24], len(syn), &p)
	if p.Kind != KindTCP || !p.Segment.Options.Has(OptTruncated) {
		t.Errorf("cut datagram: %s", fmtPacket(p))
	}
	// An IPv6 fragment header inside the fragmentable part is bad.
	d.DecodeReassembled(&Fragment{V6: true, Proto: protoFragment, Src: cli6, Dst: srv6}, &Tunnel{}, cat([]byte{protoTCP, 0, 0, 9, 0, 0, 0, 1}, syn), len(syn)+8, &p)
	if p.Kind != KindBadPacket || d.FragmentData() != nil {
		t.Errorf("nested IPv6 fragment header: %s", fmtPacket(p))
	}
}
