package reassembly

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/connstate"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

const (
	us   = int64(time.Microsecond)
	ms   = int64(time.Millisecond)
	sec  = int64(time.Second)
	base = int64(1_700_000_000) * sec
)

var (
	cli = netip.MustParseAddrPort("10.0.0.1:40000")
	srv = netip.MustParseAddrPort("10.0.0.2:80")
)

// pkt builds a TCP packet from a to b at base+at.
func pkt(a, b netip.AddrPort, at int64, f decode.Flags, seq, ack uint32, n int) *decode.Packet {
	return &decode.Packet{Kind: decode.KindTCP, Segment: decode.Segment{
		Timestamp: base + at, Src: a, Dst: b, Flags: f, Seq: decode.Seq(seq), Ack: decode.Seq(ack), PayloadLen: n,
	}}
}

const (
	fSYN    = decode.SYN
	fSYNACK = decode.SYN | decode.ACK
	fACK    = decode.ACK
	fFINACK = decode.FIN | decode.ACK
	fRSTACK = decode.RST | decode.ACK
)

// handshake3 returns SYN, SYN-ACK, ACK between a and b starting at t.
func handshake3(a, b netip.AddrPort, t int64, cisn, sisn uint32) []*decode.Packet {
	return []*decode.Packet{
		pkt(a, b, t, fSYN, cisn, 0, 0),
		pkt(b, a, t+100*us, fSYNACK, sisn, cisn+1, 0),
		pkt(a, b, t+200*us, fACK, cisn+1, sisn+1, 0),
	}
}

// collect runs pkts through a Tracker with opts and returns the flows.
func collect(opts Options, pkts []*decode.Packet) []*Flow {
	var flows []*Flow
	tr := New(opts, func(f *Flow) { flows = append(flows, keep(f)) })
	for i, p := range pkts {
		p.Segment.Frame = uint64(i + 1)
		tr.Add(p)
	}
	tr.Flush()
	return flows
}

func verdicts(flows []*Flow) []handshake.Verdict {
	var v []handshake.Verdict
	for _, f := range flows {
		v = append(v, f.Verdict)
	}
	return v
}

func TestKeyOf(t *testing.T) {
	if KeyOf(cli, srv) != KeyOf(srv, cli) {
		t.Error("KeyOf depends on direction")
	}
	if KeyOf(cli, srv) == KeyOf(cli, netip.MustParseAddrPort("10.0.0.2:81")) {
		t.Error("KeyOf ignores a port")
	}
	lo, hi := KeyOf(srv, cli).Endpoints()
	if lo != cli || hi != srv {
		t.Errorf("Endpoints = %v, %v", lo, hi)
	}
}

func TestTwoConnectionsOneTuple(t *testing.T) {
	pkts := handshake3(cli, srv, 0, 1000, 5000)
	pkts = append(pkts,
		pkt(cli, srv, 1*ms, fFINACK, 1001, 5001, 0),
		pkt(srv, cli, 2*ms, fFINACK, 5001, 1002, 0),
		pkt(cli, srv, 3*ms, fACK, 1002, 5002, 0),
	)
	pkts = append(pkts, handshake3(cli, srv, 10*ms, 90000, 70000)...)
	flows := collect(Options{}, pkts)
	if got := verdicts(flows); !slices.Equal(got, []handshake.Verdict{handshake.Complete, handshake.Complete}) {
		t.Fatalf("verdicts %v", got)
	}
	if flows[0].ClientISN != 1000 || flows[1].ClientISN != 90000 || flows[0].Close != handshake.ClientFIN {
		t.Errorf("ISNs %d %d, close %v", flows[0].ClientISN, flows[1].ClientISN, flows[0].Close)
	}
	if flows[0].Client != cli || flows[0].Server != srv || flows[0].FirstTS != base || flows[0].LastTS != base+3*ms {
		t.Errorf("flow 0: %v→%v %d..%d", flows[0].Client, flows[0].Server, flows[0].FirstTS, flows[0].LastTS)
	}
	if flows[0].ClientPackets != 4 || flows[0].ServerPackets != 2 {
		t.Errorf("packets %d/%d", flows[0].ClientPackets, flows[0].ServerPackets)
	}
}

func TestNewISNWhileHalfOpen(t *testing.T) {
	pkts := []*decode.Packet{pkt(cli, srv, 0, fSYN, 1000, 0, 0)}
	pkts = append(pkts, handshake3(cli, srv, 3*sec, 2000, 5000)...)
	flows := collect(Options{}, pkts)
	if got := verdicts(flows); !slices.Equal(got, []handshake.Verdict{handshake.HalfOpen, handshake.Complete}) {
		t.Fatalf("verdicts %v", got)
	}
}

func TestReorder(t *testing.T) {
	client := netip.MustParseAddrPort("141.142.228.5:59856")
	server := netip.MustParseAddrPort("192.150.187.43:80")
	// zeek/tcp/handshake-reorder.pcap: the SYN-ACK is captured 260µs before its SYN.
	reordered := []*decode.Packet{
		pkt(server, client, 0, fSYNACK, 2779762238, 4263588411, 0),
		pkt(client, server, 260*us, fSYN, 4263588410, 0, 0),
		pkt(client, server, 294*us, fACK, 4263588411, 2779762239, 0),
		pkt(client, server, 443*us, fACK|decode.PSH, 4263588411, 2779762239, 136),
	}
	t.Run("within_window", func(t *testing.T) {
		flows := collect(Options{}, reordered)
		if len(flows) != 1 {
			t.Fatalf("%d flows", len(flows))
		}
		f := flows[0]
		if f.Verdict != handshake.Complete || f.Client != client || !slices.Equal(f.Anomalies, []handshake.Code{handshake.CaptureReordered}) {
			t.Errorf("%v client %v anomalies %v", f.Verdict, f.Client, f.Anomalies)
		}
		if f.SYNFrame != 2 || f.SYNACKFrame != 1 || f.ACKFrame != 3 || f.HasSYNToSYNACK || f.Evidence[0].Frame != 1 {
			t.Errorf("frames %d %d %d, syn→synack %v, evidence %v", f.SYNFrame, f.SYNACKFrame, f.ACKFrame, f.HasSYNToSYNACK, f.Evidence)
		}
		if f.FirstTS != base+260*us {
			t.Errorf("FirstTS %d", f.FirstTS-base)
		}
	})
	t.Run("ack_also_early", func(t *testing.T) {
		pkts := []*decode.Packet{
			pkt(server, client, 0, fSYNACK, 2779762238, 4263588411, 0),
			pkt(client, server, 10*us, fACK, 4263588411, 2779762239, 0),
			pkt(client, server, 20*us, fSYN, 4263588410, 0, 0),
		}
		flows := collect(Options{}, pkts)
		if len(flows) != 1 || flows[0].Verdict != handshake.Complete {
			t.Fatalf("flows %v", verdicts(flows))
		}
	})
	t.Run("disabled", func(t *testing.T) {
		flows := collect(Options{ReorderWindow: -1}, reordered)
		if got := verdicts(flows); !slices.Equal(got, []handshake.Verdict{handshake.Midstream, handshake.HalfOpen}) {
			t.Errorf("verdicts %v", got)
		}
		if flows[0].Client != client {
			t.Errorf("midstream client %v, want the SYN-ACK's receiver", flows[0].Client)
		}
	})
	t.Run("too_late", func(t *testing.T) {
		late := []*decode.Packet{
			pkt(server, client, 0, fSYNACK, 2779762238, 4263588411, 0),
			pkt(client, server, 5*ms, fSYN, 4263588410, 0, 0),
		}
		if got := verdicts(collect(Options{}, late)); !slices.Equal(got, []handshake.Verdict{handshake.Midstream, handshake.HalfOpen}) {
			t.Errorf("verdicts %v", got)
		}
	})
	t.Run("syn_does_not_explain", func(t *testing.T) {
		other := []*decode.Packet{
			pkt(server, client, 0, fSYNACK, 2779762238, 77, 0),
			pkt(client, server, 100*us, fSYN, 4263588410, 0, 0),
		}
		flows := collect(Options{}, other)
		if got := verdicts(flows); !slices.Equal(got, []handshake.Verdict{handshake.Midstream, handshake.HalfOpen}) {
			t.Errorf("verdicts %v", got)
		}
		if flows[1].Has(handshake.CaptureReordered) {
			t.Error("capture_reordered without reordering")
		}
	})
}

func TestIdleExpiry(t *testing.T) {
	var flows []*Flow
	tr := New(Options{IdleTimeout: 10 * time.Second}, func(f *Flow) { flows = append(flows, keep(f)) })
	port := func(p uint16) netip.AddrPort { return netip.AddrPortFrom(cli.Addr(), p) }
	// Three unanswered SYNs at 0, 1 s and 2 s, then a fourth port's SYN
	// retransmitted: the first SYNs expire in order of last activity.
	tr.Add(pkt(port(1), srv, 0, fSYN, 1, 0, 0))
	tr.Add(pkt(port(2), srv, 1*sec, fSYN, 2, 0, 0))
	tr.Add(pkt(port(3), srv, 2*sec, fSYN, 3, 0, 0))
	tr.Add(pkt(port(1), srv, 3*sec, fSYN, 1, 0, 0)) // retransmit: port 1 active again
	if tr.Open() != 3 {
		t.Fatalf("Open() = %d, want 3", tr.Open())
	}
	tr.Add(pkt(port(4), srv, 12500*ms, fSYN, 4, 0, 0))
	if tr.Open() != 2 || len(flows) != 2 || flows[0].Client != port(2) || flows[1].Client != port(3) {
		t.Fatalf("Open() = %d, emitted %d", tr.Open(), len(flows))
	}
	tr.Add(pkt(port(4), srv, 20*sec, fSYN, 4, 0, 0))
	if tr.Open() != 1 || len(flows) != 3 || flows[2].Client != port(1) {
		t.Fatalf("Open() = %d, emitted %d", tr.Open(), len(flows))
	}
	tr.Flush()
	if tr.Open() != 0 || len(flows) != 4 || flows[3].Client != port(4) || flows[3].SYNRetransmits != 1 {
		t.Fatalf("after Flush: Open() = %d, emitted %d", tr.Open(), len(flows))
	}
}

func TestCloseLinger(t *testing.T) {
	var flows []*Flow
	tr := New(Options{}, func(f *Flow) { flows = append(flows, keep(f)) })
	tr.Add(pkt(cli, srv, 0, fSYN, 1000, 0, 0))
	tr.Add(pkt(srv, cli, 100*us, fRSTACK, 0, 1001, 0))
	tr.Add(pkt(cli, srv, 1*sec, fSYN, 1000, 0, 0)) // retried with the same ISN: absorbed
	tr.Add(pkt(srv, cli, 1*sec+100*us, fRSTACK, 0, 1001, 0))
	if len(flows) != 0 || tr.Open() != 1 {
		t.Fatalf("emitted %d during linger", len(flows))
	}
	other := netip.MustParseAddrPort("10.0.0.9:1")
	tr.Add(pkt(other, srv, 7*sec, fSYN, 1, 0, 0))
	if len(flows) != 1 || flows[0].Verdict != handshake.Refused || flows[0].SYNRetransmits != 1 || tr.Open() != 1 {
		t.Fatalf("after linger: %d flows, open %d", len(flows), tr.Open())
	}
}

func TestMidstreamRoles(t *testing.T) {
	flows := collect(Options{}, []*decode.Packet{
		pkt(srv, cli, 0, fACK|decode.PSH, 9000, 7000, 10),
		pkt(cli, srv, 5*ms, fACK, 7000, 9010, 0),
	})
	if len(flows) != 1 || flows[0].Client != srv || flows[0].Verdict != handshake.Midstream {
		t.Fatalf("first sender is the client: %+v", flows[0])
	}
	flows = collect(Options{}, []*decode.Packet{
		pkt(srv, cli, 0, fACK|decode.PSH, 9000, 7000, 10),
		pkt(srv, cli, 5*ms, fSYNACK, 8999, 7000, 0),
	})
	if len(flows) != 1 || flows[0].Client != cli || flows[0].Server != srv || !flows[0].Flipped || flows[0].ServerPackets != 2 {
		t.Fatalf("the SYN-ACK's receiver is the client: %+v", flows[0])
	}
}

func TestSelfConnect(t *testing.T) {
	self := netip.MustParseAddrPort("127.0.0.1:47123")
	flows := collect(Options{}, []*decode.Packet{
		pkt(self, self, 0, fSYN, 3007773806, 0, 0),
		pkt(self, self, 10*us, fSYNACK, 3007773806, 3007773807, 0),
		pkt(self, self, 21*us, fACK, 3007773807, 3007773807, 0),
		pkt(self, self, 34*us, fACK|decode.PSH, 3007773807, 3007773807, 10),
	})
	if len(flows) != 1 || flows[0].Verdict != handshake.Complete || flows[0].Client != self || flows[0].Server != self {
		t.Fatalf("self-connect: %v", verdicts(flows))
	}
}

// TestTraceDirection: Trace.Event.FromClient is the direction the Machine used,
// not an address comparison with the tracker's first guess of the client.
func TestTraceDirection(t *testing.T) {
	self := netip.MustParseAddrPort("127.0.0.1:47123")
	icmp := &decode.Packet{Kind: decode.KindICMPError, ICMP: decode.ICMPError{Type: 3, Code: 1},
		Segment: decode.Segment{Timestamp: base + 2*ms, Src: cli, Dst: srv, Seq: 1000, Flags: fSYN}}
	tests := []struct {
		name        string
		pkts        []*decode.Packet
		from, flips []bool
	}{{
		name: "ordinary_with_icmp",
		pkts: []*decode.Packet{
			pkt(cli, srv, 0, fSYN, 1000, 0, 0),
			pkt(srv, cli, ms, fSYNACK, 5000, 1001, 0),
			icmp,
		},
		from:  []bool{true, false, true},
		flips: []bool{false, false, false},
	}, {
		// Src == Dst: only the SYN-ACK is the server's.
		name: "self_connect",
		pkts: []*decode.Packet{
			pkt(self, self, 0, fSYN, 3007773806, 0, 0),
			pkt(self, self, 10*us, fSYNACK, 3007773806, 3007773807, 0),
			pkt(self, self, 21*us, fACK, 3007773807, 3007773807, 0),
		},
		from:  []bool{true, false, true},
		flips: []bool{false, false, false},
	}, {
		// The first sender is taken as the client until the SYN-ACK it
		// sends flips the roles: the event before the flip keeps the old
		// direction, the flip and what follows use the final roles.
		name: "midstream_flipped",
		pkts: []*decode.Packet{
			pkt(srv, cli, 0, fACK|decode.PSH, 9000, 7000, 10),
			pkt(srv, cli, 5*ms, fSYNACK, 8999, 7000, 0),
			pkt(cli, srv, 6*ms, fACK, 7000, 9000, 0),
		},
		from:  []bool{true, false, true},
		flips: []bool{false, true, false},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var from, flips []bool
			opts := Options{Trace: func(tr *Trace) {
				from, flips = append(from, tr.Event.FromClient), append(flips, tr.Event.Flipped)
			}}
			collect(opts, tt.pkts)
			if !slices.Equal(from, tt.from) || !slices.Equal(flips, tt.flips) {
				t.Errorf("FromClient %v, Flipped %v; want %v, %v", from, flips, tt.from, tt.flips)
			}
		})
	}
}

func TestICMP(t *testing.T) {
	icmp := &decode.Packet{Kind: decode.KindICMPError, ICMP: decode.ICMPError{Type: 3, Code: 1},
		Segment: decode.Segment{Timestamp: base + ms, Src: cli, Dst: srv, Seq: 1000, Flags: fSYN}}
	flows := collect(Options{}, []*decode.Packet{pkt(cli, srv, 0, fSYN, 1000, 0, 0), icmp, {Kind: decode.KindOther}})
	if len(flows) != 1 || flows[0].Verdict != handshake.HalfOpen || !slices.Equal(flows[0].Anomalies, []handshake.Code{handshake.ICMPError}) {
		t.Fatalf("%+v", flows)
	}
}

func TestFlowSize(t *testing.T) {
	// Target: under 248 bytes per Flow, not counting the Anomalies,
	// Evidence and ConnPrior slices and the Zeek conn.log view (Conn,
	// about 100 bytes): 200 before handshake.Tale, the 40 bytes the
	// reason is told from (frame and delay of the closing segment, the
	// ICMP sender's address), and 8 for File (the capture a junit
	// testsuite or GitHub annotation names).
	var f Flow
	size := unsafe.Sizeof(f) - unsafe.Sizeof(f.Anomalies) - unsafe.Sizeof(f.Evidence) - unsafe.Sizeof(f.ConnPrior) - unsafe.Sizeof(f.Conn)
	if size >= 248 {
		t.Errorf("Flow is %d bytes without its slices", size)
	}
	t.Logf("Flow %d bytes (%d without slices), table entry %d bytes", unsafe.Sizeof(f), size, unsafe.Sizeof(entry{}))
}

// gen is a synthetic connection: its packets (timestamps relative to 0).
type gen struct {
	a, b netip.AddrPort
	pkts []*decode.Packet
}

// genFlow builds one of several connection shapes on 4-tuple a-b, starting
// at t0; r drives the choices.
func genFlow(r *rand.Rand, a, b netip.AddrPort, t0 int64) []*decode.Packet {
	cisn, sisn := r.Uint32(), r.Uint32()
	t := t0
	next := func() int64 { t += int64(r.IntN(3000)+1) * us; return t }
	var ps []*decode.Packet
	switch r.IntN(8) {
	case 0: // complete with data and close
		ps = append(ps, pkt(a, b, next(), fSYN, cisn, 0, 0), pkt(b, a, next(), fSYNACK, sisn, cisn+1, 0),
			pkt(a, b, next(), fACK, cisn+1, sisn+1, 0), pkt(a, b, next(), fACK|decode.PSH, cisn+1, sisn+1, 50),
			pkt(b, a, next(), fFINACK, sisn+1, cisn+51, 0), pkt(a, b, next(), fFINACK, cisn+51, sisn+2, 0),
			pkt(b, a, next(), fACK, sisn+2, cisn+52, 0))
	case 1: // refused
		ps = append(ps, pkt(a, b, next(), fSYN, cisn, 0, 0), pkt(b, a, next(), fRSTACK, 0, cisn+1, 0))
	case 2: // unanswered, retransmitted
		ps = append(ps, pkt(a, b, next(), fSYN, cisn, 0, 0))
		t += sec
		ps = append(ps, pkt(a, b, next(), fSYN, cisn, 0, 0))
	case 3: // wrong SYN-ACK
		ps = append(ps, pkt(a, b, next(), fSYN, cisn, 0, 0), pkt(b, a, next(), fSYNACK, sisn, cisn+7, 0))
	case 4: // midstream
		ps = append(ps, pkt(a, b, next(), fACK, cisn, sisn, 10), pkt(b, a, next(), fACK, sisn, cisn+10, 0))
	case 5: // reordered SYN-ACK
		syn := pkt(a, b, next(), fSYN, cisn, 0, 0)
		sa := pkt(b, a, syn.Segment.Timestamp-base-5*us, fSYNACK, sisn, cisn+1, 0)
		ps = append(ps, sa, syn, pkt(a, b, next(), fACK, cisn+1, sisn+1, 0))
	case 6: // new ISN while half-open, then complete
		ps = append(ps, pkt(a, b, next(), fSYN, cisn, 0, 0))
		t += 2 * sec
		ps = append(ps, pkt(a, b, next(), fSYN, cisn+99999, 0, 0), pkt(b, a, next(), fSYNACK, sisn, cisn+100000, 0),
			pkt(a, b, next(), fACK, cisn+100000, sisn+1, 0))
	case 7: // complete, reset by client, port reused later
		ps = append(ps, pkt(a, b, next(), fSYN, cisn, 0, 0), pkt(b, a, next(), fSYNACK, sisn, cisn+1, 0),
			pkt(a, b, next(), fACK, cisn+1, sisn+1, 0), pkt(a, b, next(), decode.RST, cisn+1, 0, 0))
		t += 10 * sec
		ps = append(ps, pkt(a, b, next(), fSYN, cisn+5, 0, 0), pkt(b, a, next(), fSYNACK, sisn+5, cisn+6, 0))
	}
	return ps
}

// summary is what must not depend on interleaving.
func summary(flows []*Flow) map[FlowKey][]string {
	m := map[FlowKey][]string{}
	for _, f := range flows {
		k := KeyOf(f.Client, f.Server)
		m[k] = append(m[k], fmt.Sprintf("%v %v %v isn=%d/%d first=%d last=%d c=%v pk=%d/%d",
			f.Verdict, f.Anomalies, f.Close, f.ClientISN, f.ServerISN, f.FirstTS, f.LastTS, f.Client, f.ClientPackets, f.ServerPackets))
	}
	return m
}

// interleave merges the flows' packets by timestamp (stable: ties keep
// flow order) and numbers frames per flow so both runs see the same frames.
func interleave(gens []gen) []*decode.Packet {
	var all []*decode.Packet
	for _, g := range gens {
		for i, p := range g.pkts {
			p.Segment.Frame = uint64(i + 1)
			all = append(all, p)
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Segment.Timestamp < all[j].Segment.Timestamp })
	return all
}

func runAll(opts Options, pkts []*decode.Packet) []*Flow {
	var flows []*Flow
	tr := New(opts, func(f *Flow) { flows = append(flows, keep(f)) })
	for _, p := range pkts {
		tr.Add(p)
	}
	tr.Flush()
	return flows
}

// checkIndependent fails when a flow's outcome depends on the others.
func checkIndependent(t testing.TB, opts Options, gens []gen) {
	alone := map[FlowKey][]string{}
	for _, g := range gens {
		for k, v := range summary(runAll(opts, interleave([]gen{g}))) {
			alone[k] = append(alone[k], v...)
		}
	}
	mixed := summary(runAll(opts, interleave(gens)))
	if len(mixed) != len(alone) {
		t.Fatalf("%d 4-tuples interleaved, %d alone", len(mixed), len(alone))
	}
	for k, want := range alone {
		if got := mixed[k]; !slices.Equal(got, want) {
			t.Errorf("%v:\ninterleaved %q\n      alone %q", k, got, want)
		}
	}
}

// mixGens returns 200 connections of genFlow's shapes on distinct
// 4-tuples towards 7 servers, starting within 20 ms.
func mixGens(r *rand.Rand) []gen {
	var gens []gen
	for i := range 200 {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(30000+i))
		b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, 0, byte(i % 7)}), 443)
		gens = append(gens, gen{a, b, genFlow(r, a, b, int64(r.IntN(20))*ms)})
	}
	return gens
}

func TestInterleavedFlowsIndependent(t *testing.T) {
	gens := mixGens(rand.New(rand.NewPCG(1, 2)))
	checkIndependent(t, Options{IdleTimeout: 5 * time.Second}, gens)
	// The mix as a whole: every shape produced its verdict.
	flows := runAll(Options{IdleTimeout: 5 * time.Second}, interleave(gens))
	seen := map[handshake.Verdict]bool{}
	for _, f := range flows {
		seen[f.Verdict] = true
	}
	for _, v := range handshake.Verdicts() {
		if !seen[v] {
			t.Errorf("no %v flow in the mix", v)
		}
	}
}

func TestAddNoAllocs(t *testing.T) {
	tr := New(Options{}, func(*Flow) {})
	ps := handshake3(cli, srv, 0, 1000, 5000)
	for _, p := range ps {
		tr.Add(p)
	}
	data := pkt(cli, srv, ms, fACK|decode.PSH, 1001, 5001, 100)
	allocs := testing.AllocsPerRun(1000, func() {
		data.Segment.Timestamp += us
		tr.Add(data)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per segment of an open flow", allocs)
	}
}

// checkClock fails when memory could stay pinned: with no jump pending,
// nothing may be ahead of the clock (see the package doc, Time).
func checkClock(t testing.TB, tr *Tracker) {
	t.Helper()
	if tr.pending {
		return
	}
	for e := range tr.table.all() {
		if e.expTS > tr.now {
			t.Fatalf("%v: expiry time %d ahead of the clock %d", e.key, e.expTS, tr.now)
		}
	}
	for _, h := range tr.held[tr.heldHead:] {
		if !h.done && h.at > tr.now {
			t.Fatalf("%v held at %d, ahead of the clock %d", h.key, h.at, tr.now)
		}
	}
}

// TestClockJump: a forward jump beyond the idle timeout moves the clock only
// when the next segment confirms it (package doc, Time).
func TestClockJump(t *testing.T) {
	const year = 365 * 24 * 3600 * sec
	other := netip.MustParseAddrPort("10.0.0.9:5555")
	type step struct {
		p    *decode.Packet
		emit int // flows emitted so far, after this packet
	}
	tests := []struct {
		name   string
		reason string
		steps  []step
		want   []handshake.Verdict // in emission order, after Flush
		check  func(t *testing.T, flows []*Flow)
	}{{
		name:   "lone_outlier",
		reason: "pcapplusplus pcapng-example.pcapng: the SYN-ACK is stamped 47 years late, the final ACK steps back; the jump is refuted and nothing expires",
		steps: []step{
			{pkt(other, srv, 0, fSYN, 7, 0, 0), 0},
			{pkt(cli, srv, 100*us, fSYN, 1000, 0, 0), 0},
			{pkt(srv, cli, 47*year, fSYNACK, 5000, 1001, 0), 0},
			{pkt(cli, srv, 300*us, fACK, 1001, 5001, 0), 0},
			{pkt(cli, srv, 400*us, fACK|decode.PSH, 1001, 5001, 10), 0},
			// The refuted outlier pins nothing: both attempts expire in
			// order of last activity once the real clock passes the idle timeout.
			// (The 3-minute gap is itself a jump, confirmed by the next segment.)
			{pkt(netip.MustParseAddrPort("10.0.0.8:1"), srv, 180*sec, fSYN, 1, 0, 0), 0},
			{pkt(netip.MustParseAddrPort("10.0.0.8:1"), srv, 181*sec, fSYN, 1, 0, 0), 2},
		},
		want: []handshake.Verdict{handshake.HalfOpen, handshake.Complete, handshake.HalfOpen},
		check: func(t *testing.T, flows []*Flow) {
			if f := flows[1]; f.Client != cli || f.LastTS != base+47*year || f.FirstTS != base+100*us {
				t.Errorf("outlier flow %v, FirstTS %d LastTS %d: want the raw timestamps", f.Client, f.FirstTS-base, f.LastTS-base)
			}
		},
	}, {
		name:   "multi_day_gap",
		reason: "two captures a day apart merged in timestamp order: the second day's second segment confirms the jump and day one's attempts expire first, in deadline order",
		steps: []step{
			{pkt(other, srv, 0, fSYN, 7, 0, 0), 0},
			{pkt(cli, srv, sec, fSYN, 1000, 0, 0), 0},
			{pkt(srv, cli, sec+100*us, fSYNACK, 5000, 1001, 0), 0},
			{pkt(cli, srv, sec+200*us, fACK, 1001, 5001, 0), 0},
			{pkt(netip.MustParseAddrPort("10.0.0.7:1"), srv, 24*3600*sec, fSYN, 1, 0, 0), 0}, // pending
			{pkt(srv, netip.MustParseAddrPort("10.0.0.7:1"), 24*3600*sec+ms, fSYNACK, 9, 2, 0), 2},
			// Day two on day one's 4-tuple: a new attempt, not day one's.
			{pkt(cli, srv, 24*3600*sec+2*ms, fACK|decode.PSH, 1001, 5001, 10), 2},
		},
		want: []handshake.Verdict{handshake.HalfOpen, handshake.Complete, handshake.HalfOpen, handshake.Midstream},
		check: func(t *testing.T, flows []*Flow) {
			if flows[0].Client != other || flows[1].Client != cli {
				t.Errorf("expired %v then %v, want %v then %v", flows[0].Client, flows[1].Client, other, cli)
			}
		},
	}, {
		name:   "quiet_period_then_retransmission",
		reason: "a real gap of 3 minutes in one capture: confirmed by the next segment (a few µs reordered), the half-open attempt expires and the late SYN is its own attempt",
		steps: []step{
			{pkt(cli, srv, 0, fSYN, 1000, 0, 0), 0},
			{pkt(other, srv, 180*sec, fSYN, 7, 0, 0), 0},
			{pkt(srv, other, 180*sec-5*us, fRSTACK, 0, 8, 0), 1},
			{pkt(cli, srv, 180*sec+ms, fSYN, 1000, 0, 0), 1},
		},
		want: []handshake.Verdict{handshake.HalfOpen, handshake.Refused, handshake.HalfOpen},
		check: func(t *testing.T, flows []*Flow) {
			if flows[2].SYNRetransmits != 0 {
				t.Errorf("the late SYN was counted as a retransmission of the expired attempt")
			}
		},
	}, {
		name:   "outlier_before_end",
		reason: "a corrupt stamp on the last segment: Flush drops the pending jump, emits every attempt in creation order and loses no segment",
		steps: []step{
			{pkt(other, srv, 0, fSYN, 7, 0, 0), 0},
			{pkt(cli, srv, 100*us, fSYN, 1000, 0, 0), 0},
			{pkt(srv, cli, 200*us, fSYNACK, 5000, 1001, 0), 0},
			{pkt(cli, srv, 47*year, fACK, 1001, 5001, 0), 0},
		},
		want: []handshake.Verdict{handshake.HalfOpen, handshake.Complete},
		check: func(t *testing.T, flows []*Flow) {
			if f := flows[1]; f.ClientPackets != 2 || f.LastTS != base+47*year {
				t.Errorf("client packets %d, LastTS %d", f.ClientPackets, f.LastTS-base)
			}
		},
	}, {
		name:   "two_different_outliers",
		reason: "an outlier that does not confirm the pending one refutes it and is pending itself; the next normal segment refutes that too",
		steps: []step{
			{pkt(cli, srv, 0, fSYN, 1000, 0, 0), 0},
			{pkt(other, srv, 47*year, fSYN, 7, 0, 0), 0},
			{pkt(other, srv, 12*year, fSYN, 7, 0, 0), 0},
			{pkt(srv, cli, ms, fSYNACK, 5000, 1001, 0), 0},
			{pkt(cli, srv, 2*ms, fACK, 1001, 5001, 0), 0},
		},
		want: []handshake.Verdict{handshake.Complete, handshake.HalfOpen},
	}, {
		name:   "gap_synack_same_tuple",
		reason: "issue 11: a SYN unanswered, then 57 minutes later a SYN-ACK of another connection on the same 4-tuple, confirmed by that 4-tuple's own next segment: the SYN-ACK starts a new (midstream) attempt instead of being the old SYN's synack_wrong_ack",
		steps: []step{
			{pkt(cli, srv, 0, fSYN, 1000, 0, 0), 0},
			{pkt(srv, cli, 57*60*sec, fSYNACK, 9000, 777001, 0), 0}, // waits
			{pkt(cli, srv, 57*60*sec+100*us, fACK, 777001, 9001, 0), 1},
		},
		want: []handshake.Verdict{handshake.HalfOpen, handshake.Midstream},
		check: func(t *testing.T, flows []*Flow) {
			if f := flows[0]; f.Has(handshake.SynAckWrongAck) || f.ServerPackets != 0 {
				t.Errorf("the old attempt absorbed the SYN-ACK: %v", f.Evidence)
			}
			if f := flows[1]; f.ClientPackets != 1 || f.ServerPackets != 1 || f.Client != cli {
				t.Errorf("new attempt: client %v, %d/%d packets", f.Client, f.ClientPackets, f.ServerPackets)
			}
		},
	}, {
		name:   "gap_reverse_connection_same_tuple",
		reason: "issue 11: a SYN unanswered, then 57 minutes later a complete connection the other way on the same 4-tuple: its SYN is no simultaneous open of the old SYN (RFC 9293 §3.5), no connection is lost",
		steps: []step{
			{pkt(cli, srv, 0, fSYN, 1000, 0, 0), 0},
			{pkt(srv, cli, 57*60*sec, fSYN, 9000, 0, 0), 0}, // waits
			{pkt(cli, srv, 57*60*sec+100*us, fSYNACK, 3000, 9001, 0), 1},
			{pkt(srv, cli, 57*60*sec+200*us, fACK, 9001, 3001, 0), 1},
		},
		want: []handshake.Verdict{handshake.HalfOpen, handshake.Complete},
		check: func(t *testing.T, flows []*Flow) {
			if f := flows[1]; f.Client != srv || f.ClientISN != 9000 {
				t.Errorf("second connection: client %v ISN %d", f.Client, f.ClientISN)
			}
		},
	}, {
		name:   "gap_same_tuple_refuted",
		reason: "pcapplusplus pcapng-example.pcapng on one 4-tuple: the outlier SYN-ACK waits, the final ACK steps back and refutes the jump, so the SYN-ACK joins its attempt",
		steps: []step{
			{pkt(cli, srv, 0, fSYN, 1000, 0, 0), 0},
			{pkt(srv, cli, 47*year, fSYNACK, 5000, 1001, 0), 0},
			{pkt(cli, srv, 200*us, fACK, 1001, 5001, 0), 0},
		},
		want: []handshake.Verdict{handshake.Complete},
	}, {
		name:   "held_outlier",
		reason: "a non-SYN of a new 4-tuple with a corrupt stamp is held for reordering; once refuted its window runs from the clock and it does not block later held segments",
		steps: []step{
			{pkt(cli, srv, 0, fSYN, 1000, 0, 0), 0},
			{pkt(other, srv, 47*year, fACK, 7, 9, 10), 0},
			{pkt(srv, cli, 100*us, fSYNACK, 5000, 1001, 0), 0},
			{pkt(netip.MustParseAddrPort("10.0.0.8:1"), srv, 200*us, fACK, 1, 2, 10), 0},
			{pkt(cli, srv, 5*ms, fACK, 1001, 5001, 0), 0},
		},
		want: []handshake.Verdict{handshake.Complete, handshake.Midstream, handshake.Midstream},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reason == "" {
				panic("reason must be provided")
			}
			var flows []*Flow
			tr := New(Options{}, func(f *Flow) { flows = append(flows, keep(f)) })
			for i, s := range tt.steps {
				s.p.Segment.Frame = uint64(i + 1)
				tr.Add(s.p)
				checkClock(t, tr)
				if len(flows) != s.emit {
					t.Fatalf("after frame %d: %d flows emitted, want %d", i+1, len(flows), s.emit)
				}
			}
			if tt.name == "held_outlier" && tr.Open() != 3 {
				t.Errorf("Open() = %d before Flush: the held segments were not released by the clock", tr.Open())
			}
			tr.Flush()
			if got := verdicts(flows); !slices.Equal(got, tt.want) {
				t.Fatalf("verdicts %v, want %v", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, flows)
			}
		})
	}
}

// TestNoConnStateChangesNothingElse runs the 200-flow mix with and without
// Zeek's view: the flows are the same but for Conn and ConnPrior, zero
// without it.
func TestNoConnStateChangesNothingElse(t *testing.T) {
	gens := mixGens(rand.New(rand.NewPCG(3, 4)))
	pkts := interleave(gens)
	opts := Options{IdleTimeout: 5 * time.Second}
	with := runAll(opts, pkts)
	opts.NoConnState = true
	without := runAll(opts, pkts)
	if len(with) != len(without) {
		t.Fatalf("%d flows with Zeek's view, %d without", len(with), len(without))
	}
	zeek := 0
	for i, f := range with {
		g := without[i]
		if g.Conn != (connstate.Summary{}) || g.ConnPrior != nil {
			t.Fatalf("flow %d has Zeek's view under NoConnState: %+v", i, g.Conn)
		}
		if f.Conn != (connstate.Summary{}) {
			zeek++
		}
		h := *f
		h.Conn, h.ConnPrior = connstate.Summary{}, nil
		if !reflect.DeepEqual(&h, g) {
			t.Errorf("flow %d differs:\n with    %+v\n without %+v", i, &h, g)
		}
	}
	if zeek != len(with) {
		t.Errorf("%d of %d flows have Zeek's view", zeek, len(with))
	}
}

// keep copies an emitted Flow, which is only valid during emit.
func keep(f *Flow) *Flow {
	c := *f
	return &c
}
