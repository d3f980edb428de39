package reassembly

import (
	"net/netip"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

var (
	vtepA = netip.MustParseAddr("203.0.113.1")
	vtepB = netip.MustParseAddr("203.0.113.2")
)

// inTunnel puts p in a VXLAN level of the given VNI, outer endpoints
// vtepA → vtepB when fromA, else the reverse.
func inTunnel(p *decode.Packet, vni uint32, fromA bool) *decode.Packet {
	l := decode.TunnelLevel{Type: decode.TunnelVXLAN, HasID: true, ID: vni, Src: vtepA, Dst: vtepB}
	if !fromA {
		l.Src, l.Dst = l.Dst, l.Src
	}
	p.Tunnel.Push(l)
	return p
}

// TestTunnelIdentity checks that the same inner 4-tuple in two VNIs is two
// attempts, that both directions of one tunnel meet in one attempt though
// the outer endpoints swap, that the Flow reports the outer endpoints as
// the client sends, and that no tunnel context is left interned once every
// attempt is emitted.
func TestTunnelIdentity(t *testing.T) {
	var pkts []*decode.Packet
	a := handshake3(cli, srv, 0, 1000, 5000)
	b := handshake3(cli, srv, 10*us, 3000, 7000)
	b[1].Segment.Ack = 3005 // VNI 200's SYN-ACK acknowledges the wrong number
	for i := range a {
		pkts = append(pkts, inTunnel(a[i], 100, i != 1), inTunnel(b[i], 200, i != 1))
	}
	// A plain twin, and a midstream attempt starting with a SYN-ACK, in
	// VNI 300, sent by the server side (vtepB).
	pkts = append(pkts, handshake3(cli, srv, 20*us, 9000, 9900)...)
	pkts = append(pkts, inTunnel(pkt(srv, cli, 30*us, fSYNACK, 1, 2, 0), 300, false))

	var flows []*Flow
	tr := New(Options{}, func(f *Flow) { flows = append(flows, keep(f)) })
	for i, p := range pkts {
		p.Segment.Frame = uint64(i + 1)
		tr.Add(p)
	}
	tr.Flush()
	if len(flows) != 4 {
		t.Fatalf("%d flows, want 4", len(flows))
	}
	want := []struct {
		tunnel  string
		verdict handshake.Verdict
	}{{"vxlan=100", handshake.Complete}, {"vxlan=200", handshake.Malformed}, {"", handshake.Complete}, {"vxlan=300", handshake.Midstream}}
	for i, f := range flows {
		got := ""
		if f.Tunnel != nil {
			got = f.Tunnel.String()
		}
		if got != want[i].tunnel || f.Verdict != want[i].verdict {
			t.Errorf("flow %d: %q %v, want %q %v", i, got, f.Verdict, want[i].tunnel, want[i].verdict)
		}
		if f.Tunnel != nil && f.Tunnel.Level(0).Src != vtepA {
			t.Errorf("flow %d: outer source %v, want the client's side %v", i, f.Tunnel.Level(0).Src, vtepA)
		}
	}
	if len(tr.tunnels) != 0 || len(tr.tunnelID) != 0 {
		t.Errorf("%d tunnel contexts still interned after Flush", len(tr.tunnels))
	}
}

// TestTunnelHeldReleased checks that a held segment keeps its tunnel
// context until its reorder window passes.
func TestTunnelHeldReleased(t *testing.T) {
	var flows []*Flow
	tr := New(Options{}, func(f *Flow) { flows = append(flows, keep(f)) })
	tr.Add(inTunnel(pkt(cli, srv, 0, fACK, 1001, 5001, 0), 9, true))
	tr.Add(pkt(cli, netip.MustParseAddrPort("10.0.0.3:80"), 10*ms, fSYN, 1, 0, 0))
	tr.Flush()
	if len(flows) != 2 || flows[0].Tunnel.String() != "vxlan=9" || flows[0].Verdict != handshake.Midstream {
		t.Fatalf("flows %+v", flows)
	}
	if len(tr.tunnels) != 0 {
		t.Errorf("%d tunnel contexts still interned", len(tr.tunnels))
	}
}

// TestTunnelNoAllocs checks that a tunnelled segment of an open attempt
// costs no allocation: the context is looked up, not copied to the heap.
func TestTunnelNoAllocs(t *testing.T) {
	tr := New(Options{}, func(*Flow) {})
	for _, p := range handshake3(cli, srv, 0, 1000, 5000) {
		tr.Add(inTunnel(p, 1, p.Segment.Src == cli))
	}
	p := inTunnel(pkt(cli, srv, 300*us, fACK, 1001, 5001, 10), 1, true)
	if n := testing.AllocsPerRun(100, func() { tr.Add(p) }); n != 0 {
		t.Errorf("Add allocates %v times per tunnelled segment", n)
	}
}
