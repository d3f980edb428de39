package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// small is a quick workload with a partial last block.
var small = params{flows: 2050, concurrency: 200, seed: 7, lifetime: 4 * time.Second}

func genBytes(t *testing.T, p params) ([]byte, Expect) {
	t.Helper()
	var buf bytes.Buffer
	exp, err := generate(&buf, p)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), exp
}

func TestDeterministic(t *testing.T) {
	a, ea := genBytes(t, small)
	b, eb := genBytes(t, small)
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same seed wrote different bytes")
	}
	ja, _ := json.Marshal(ea)
	jb, _ := json.Marshal(eb)
	if !bytes.Equal(ja, jb) {
		t.Errorf("two runs with the same seed expect different counts:\n%s\n%s", ja, jb)
	}
	other := small
	other.seed++
	if c, _ := genBytes(t, other); bytes.Equal(a, c) {
		t.Error("seeds 7 and 8 wrote the same bytes")
	}
}

// TestGzip checks that -gzip writes the same capture, compressed, and that
// a failed write leaves no file behind.
func TestGzip(t *testing.T) {
	want, _ := genBytes(t, small)
	path := filepath.Join(t.TempDir(), "g.pcap.gz")
	if _, err := writeCapture(path, nil, true, small); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("the gzip capture does not decompress to the plain one")
	}

	bad := small
	bad.flows = 0
	path = filepath.Join(t.TempDir(), "bad.pcap")
	if _, err := writeCapture(path, nil, false, bad); err == nil {
		t.Error("writeCapture accepted 0 flows")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed run left %s behind (%v)", path, err)
	}
}

// tuple is a flow's endpoints, client first.
type tuple struct{ c, s [6]byte }

// tcpSeg is what the reference classifier needs of a segment.
type tcpSeg struct {
	fromClient bool
	flags      byte
	seq, ack   uint32
}

// classify gives the verdict of one flow's segments by the CONTRACT.md
// rules, for the shapes hsgen writes only: it is a check on the
// generator's bookkeeping, independent of it and of hsanalyze.
func classify(segs []tcpSeg) string {
	const syn, rst, ack = 0x02, 0x04, 0x10
	if segs[0].flags&syn == 0 {
		return "midstream"
	}
	cisn := segs[0].seq
	for i, s := range segs {
		if s.fromClient {
			continue
		}
		switch {
		case s.flags&rst != 0 && s.flags&ack != 0 && s.ack == cisn+1:
			return "refused"
		case s.flags&(syn|ack) == syn|ack && s.ack != cisn+1:
			return "malformed"
		case s.flags&(syn|ack) == syn|ack:
			for _, f := range segs[i+1:] {
				if f.fromClient && f.flags&ack != 0 {
					if f.seq == cisn+1 && f.ack == s.seq+1 {
						return "complete"
					}
					return "malformed"
				}
			}
			return "half_open"
		default:
			return "unexpected server segment"
		}
	}
	return "half_open"
}

// TestExpectMatchesCapture reads a generated capture back with pcapgo and
// checks the sidecar's counts: records, TCP segments, distinct 4-tuples,
// and each flow's verdict by classify.
func TestExpectMatchesCapture(t *testing.T) {
	for _, p := range shapes() {
		t.Run(p.shape.String(), func(t *testing.T) { checkExpect(t, p) })
	}
}

// shapes returns small for each shape.
func shapes() []params {
	var ps []params
	for sh := range numShapes {
		p := small
		p.shape = sh
		ps = append(ps, p)
	}
	return ps
}

func checkExpect(t *testing.T, p params) {
	data, exp := genBytes(t, p)
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var got Summary
	flows := map[tuple][]tcpSeg{}
	var order []tuple
	var lastTS time.Time
	for {
		frame, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got.Packets++
		if ci.Timestamp.Before(lastTS) {
			t.Fatalf("record %d goes back in time: %v after %v", got.Packets, ci.Timestamp, lastTS)
		}
		lastTS = ci.Timestamp
		if binary.BigEndian.Uint16(frame[12:]) != 0x0800 || frame[14+9] != 6 {
			continue
		}
		got.TCPPackets++
		ip, tcp := frame[14:34], frame[34:]
		var a, b [6]byte
		copy(a[:], ip[12:16])
		copy(a[4:], tcp[0:2])
		copy(b[:], ip[16:20])
		copy(b[4:], tcp[2:4])
		seg := tcpSeg{fromClient: true, flags: tcp[13], seq: binary.BigEndian.Uint32(tcp[4:]), ack: binary.BigEndian.Uint32(tcp[8:])}
		k := tuple{a, b}
		if _, ok := flows[k]; !ok {
			if _, ok := flows[tuple{b, a}]; ok {
				k, seg.fromClient = tuple{b, a}, false
			} else {
				order = append(order, k)
			}
		}
		flows[k] = append(flows[k], seg)
	}
	got.Flows = uint64(len(order))
	for _, k := range order {
		switch v := classify(flows[k]); v {
		case "complete":
			got.Complete++
		case "half_open":
			got.HalfOpen++
		case "refused":
			got.Refused++
		case "malformed":
			got.Malformed++
		case "midstream":
			got.Midstream++
		default:
			t.Errorf("flow %x: %s", k, v)
		}
	}
	if got != exp.Summary {
		t.Errorf("read back %+v\nsidecar   %+v", got, exp.Summary)
	}
	if exp.Generator.PcapBytes != uint64(len(data)) {
		t.Errorf("sidecar says %d bytes, wrote %d", exp.Generator.PcapBytes, len(data))
	}
	var sum uint64
	for _, n := range exp.Templates {
		sum += n
	}
	if sum != exp.Summary.Flows || exp.Summary.Flows != uint64(p.flows) {
		t.Errorf("templates add up to %d, summary says %d flows, asked for %d", sum, exp.Summary.Flows, p.flows)
	}
}

// TestShapeCounts checks what the flood and the scan are made of.
func TestShapeCounts(t *testing.T) {
	p := params{flows: 40000, concurrency: 1, seed: 5, lifetime: time.Second, shape: shapeSYNFlood}
	_, exp := genBytes(t, p)
	if exp.Summary.HalfOpen != 40000 || exp.Templates["synflood_syn"] != 40000 {
		t.Errorf("flood: %+v %v", exp.Summary, exp.Templates)
	}
	// 0-3 retransmissions, uniformly: 2.5 packets per attempt.
	if per := float64(exp.Summary.Packets) / 40000; per < 2.45 || per > 2.55 {
		t.Errorf("flood: %.3f packets per attempt, want about 2.5", per)
	}
	if want := 40000/defaultRate[shapeSYNFlood] + 7; exp.Generator.SpanSeconds < want-0.1 || exp.Generator.SpanSeconds > want+0.1 {
		t.Errorf("flood spans %.2f s, want about %.2f", exp.Generator.SpanSeconds, want)
	}
	p.shape = shapeSYNACKFlood
	_, exp = genBytes(t, p)
	// A SYN and 1-3 SYN-ACKs, uniformly: 3 packets per attempt.
	if per := float64(exp.Summary.Packets) / 40000; exp.Summary.HalfOpen != 40000 || per < 2.95 || per > 3.05 {
		t.Errorf("synackflood: %+v, %.3f packets per attempt; want all half_open, about 3", exp.Summary, per)
	}
	p.shape, p.rate = shapeScan, 20000
	_, exp = genBytes(t, p)
	closed := float64(exp.Summary.Refused) / 40000
	if exp.Summary.Refused+exp.Summary.HalfOpen != 40000 || closed < 0.73 || closed > 0.77 {
		t.Errorf("scan: %+v, want about 3/4 refused", exp.Summary)
	}
	if exp.Generator.Rate != 20000 || exp.Generator.SpanSeconds > 2.1 {
		t.Errorf("scan: rate %v, span %v s; want 20000 per second, 2 s", exp.Generator.Rate, exp.Generator.SpanSeconds)
	}
}

// TestShapeTuplesUnique checks that flood sources and scan targets do not
// repeat: a repeat would merge two attempts.
func TestShapeTuplesUnique(t *testing.T) {
	g := &gen{p: params{flows: 300000, shape: shapeSYNFlood}, addrOff: 0xdeadbeefcafe}
	for _, sh := range []shape{shapeSYNFlood, shapeSYNACKFlood, shapeScan} {
		g.p.shape = sh
		seen := make(map[[2]netip.AddrPort]bool, g.p.flows)
		for i := range uint32(g.p.flows) {
			c, s := g.endpoints(i)
			k := [2]netip.AddrPort{c, s}
			if seen[k] {
				t.Fatalf("%s: flow %d repeats %v → %v", sh, i, c, s)
			}
			seen[k] = true
			if sh != shapeScan && c.Port() < 32768 {
				t.Fatalf("flood source %v", c)
			}
			if sh == shapeScan && s.Port() == 0 {
				t.Fatalf("scan probe of port 0")
			}
		}
	}
}

// TestConcurrency checks that about C flows are open at once whatever N
// is.
func TestConcurrency(t *testing.T) {
	for _, p := range []params{
		{flows: 3000, concurrency: 100, seed: 1, lifetime: 4 * time.Second},
		{flows: 3000, concurrency: 500, seed: 1, lifetime: time.Second},
		{flows: 12000, concurrency: 500, seed: 1, lifetime: time.Second},
	} {
		_, exp := genBytes(t, p)
		if m := exp.Generator.MaxOpen; m < p.concurrency*8/10 || m > p.concurrency*13/10 {
			t.Errorf("%d flows, concurrency %d: peak %d open", p.flows, p.concurrency, m)
		}
	}
}

func TestBlockWeights(t *testing.T) {
	counts := map[template]int{}
	dns := 0
	for _, s := range newBlock() {
		counts[s.t]++
		if s.dns {
			dns++
			if s.t != tComplete {
				t.Errorf("DNS before a %s flow", templateInfo[s.t].name)
			}
		}
	}
	for tp := range numTemplates {
		if counts[tp] != templateInfo[tp].weight {
			t.Errorf("%s: %d slots, weight %d", templateInfo[tp].name, counts[tp], templateInfo[tp].weight)
		}
	}
	if dns != dnsPerBlock {
		t.Errorf("%d DNS slots, want %d", dns, dnsPerBlock)
	}
}

// TestClientTuplesUnique checks the client endpoint formula across host
// and port wrap-arounds.
func TestClientTuplesUnique(t *testing.T) {
	seen := map[[6]byte]uint32{}
	for _, i := range []uint32{0, 1, hostsPerPort - 1, hostsPerPort, 2*hostsPerPort + 5, maxFlows - 1} {
		for j := i; j < i+3 && j < maxFlows; j++ {
			ap := clientOf(j)
			var k [6]byte
			a := ap.Addr().As4()
			copy(k[:], a[:])
			binary.BigEndian.PutUint16(k[4:], ap.Port())
			if prev, ok := seen[k]; ok && prev != j {
				t.Errorf("flows %d and %d share %v", prev, j, ap)
			}
			seen[k] = j
			if a[0] != 10 || ap.Port() < 1024 {
				t.Errorf("flow %d: client %v", j, ap)
			}
		}
	}
	// Exhaustively for one port round: every host distinct.
	hosts := map[[4]byte]bool{}
	for i := range uint32(hostsPerPort) {
		hosts[clientOf(i).Addr().As4()] = true
	}
	if len(hosts) != hostsPerPort {
		t.Errorf("%d distinct hosts, want %d", len(hosts), hostsPerPort)
	}
}

func TestGenerateNoAllocsPerPacket(t *testing.T) {
	p := params{flows: 2000, concurrency: 200, seed: 1, lifetime: time.Second}
	_, exp := genBytes(t, p) // warm up
	allocs := testing.AllocsPerRun(2, func() {
		if _, err := generate(io.Discard, p); err != nil {
			t.Fatal(err)
		}
	})
	// Setup (pool, buffers, heap growth) is a fixed handful; a per-packet
	// allocation would add tens of thousands.
	if perPkt := allocs / float64(exp.Summary.Packets); perPkt > 0.01 {
		t.Errorf("%.0f allocations for %d packets", allocs, exp.Summary.Packets)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"-flows", "x", "-o", "f"}, {"-o", "f", "extra"}, {"-nosuch"}, {"-shape", "ddos", "-o", "f"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: hsgen") {
			t.Errorf("run(%q) = %d, stderr %q; want 2 and the usage", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"-h"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "usage: hsgen") {
		t.Errorf("run(-h) = %d, stdout %q", code, out.String())
	}
	dir := t.TempDir()
	f, e := filepath.Join(dir, "c.pcap"), filepath.Join(dir, "c.json")
	if code := run([]string{"-flows", "300", "-q", "-o", f, "-expect", e}, &out, &errb); code != 0 {
		t.Fatalf("run = %d, stderr %q", code, errb.String())
	}
	var exp Expect
	if b, err := os.ReadFile(e); err != nil || json.Unmarshal(b, &exp) != nil || exp.Summary.Flows != 300 {
		t.Errorf("sidecar: %v, %+v", err, exp.Summary)
	}
}
