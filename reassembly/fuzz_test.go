package reassembly

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// fuzzOpts makes expiry and lingering reachable with short inputs.
var fuzzOpts = Options{IdleTimeout: 50 * time.Millisecond, CloseLinger: 5 * time.Millisecond, ReorderWindow: time.Millisecond}

// fuzzFlows turns fuzz input into up to four connections on distinct
// 4-tuples, 6 bytes per segment:
//
//	b0: bits 0-1 connection, bit 2 from the server, bit 7 an outlier
//	    (stamped an hour ahead once interleaved, see below)
//	b1: flags: bit 0 SYN, 1 ACK, 2 FIN, 3 RST, 4 PSH
//	b2: seq = own ISN + (b2 & 0x3f), + 0x10000 (a later ISN) iff b2 & 0x40
//	b3: ack = the peer's ISN likewise (b3 & 0x80: ack 0)
//	b4: time step in 100 µs (up to 25.5 ms; repeated steps reach expiry)
//	b5: payload length
//
// Each connection's timestamps only grow, as in a real capture, by at most
// 25.5 ms a step, under fuzzOpts.IdleTimeout: merged in timestamp order,
// consecutive segments of the capture are never more than IdleTimeout
// apart, so no clock jump is ever pending (package doc, Time) and a flow's
// outcome must not depend on the others. An outlier keeps its place in the
// merged capture (its connection's clock does not move) and only then gets
// its corrupt stamp: the jump it opens is decided by whatever segment
// follows, so with outliers FuzzTracker checks every invariant but that one.
func fuzzFlows(data []byte) (gens []gen, outliers []*decode.Packet) {
	gens = make([]gen, 4)
	var clock [4]int64
	for i := range gens {
		gens[i].a = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), uint16(40000+i))
		gens[i].b = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 1, 1}), 443)
	}
	num := func(x byte, isn uint32) uint32 {
		if x&0x80 != 0 {
			return 0
		}
		n := isn + uint32(x&0x3f)
		if x&0x40 != 0 {
			n += 0x10000
		}
		return n
	}
	for len(data) >= 6 {
		b := data[:6]
		data = data[6:]
		i := b[0] & 3
		g := &gens[i]
		cisn, sisn := 0xfffffff0+uint32(i)*7, 5000*uint32(i+1) // the client's ISNs wrap
		src, dst, own, peer := g.a, g.b, cisn, sisn
		if b[0]&4 != 0 {
			src, dst, own, peer = g.b, g.a, sisn, cisn
		}
		var f decode.Flags
		for bit, flag := range []decode.Flags{decode.SYN, decode.ACK, decode.FIN, decode.RST, decode.PSH} {
			if b[1]&(1<<bit) != 0 {
				f |= flag
			}
		}
		clock[i] += int64(b[4]) * 100 * us
		p := pkt(src, dst, clock[i], f, num(b[2]&0x7f, own), num(b[3], peer), int(b[5]))
		g.pkts = append(g.pkts, p)
		if b[0]&0x80 != 0 {
			outliers = append(outliers, p)
		}
	}
	return gens, outliers
}

func seg6(conn byte, server bool, flags, seq, ack, dt, n byte) []byte {
	if server {
		conn |= 4
	}
	return []byte{conn, flags, seq, ack, dt, n}
}

func FuzzTracker(f *testing.F) {
	const syn, ack, fin, rst = 1, 2, 4, 8
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	// Two handshakes interleaved, one completing across the ISN wrap.
	f.Add(cat(seg6(0, false, syn, 0, 0x80, 1, 0), seg6(1, false, syn, 0, 0x80, 1, 0),
		seg6(0, true, syn|ack, 0, 1, 1, 0), seg6(1, true, rst|ack, 0, 1, 1, 0), seg6(0, false, ack, 1, 1, 1, 0)))
	// A SYN-ACK captured before its SYN (reorder window), beside a midstream flow.
	f.Add(cat(seg6(2, true, syn|ack, 0, 1, 1, 0), seg6(3, false, ack, 9, 9, 1, 10), seg6(2, false, syn, 0, 0x80, 1, 0),
		seg6(2, false, ack, 1, 1, 1, 0)))
	// Port reuse: complete, FINs, new ISN after the linger; idle expiry of the other.
	f.Add(cat(seg6(0, false, syn, 0, 0x80, 1, 0), seg6(1, false, syn, 0, 0x80, 1, 0), seg6(0, true, syn|ack, 0, 1, 1, 0),
		seg6(0, false, ack, 1, 1, 1, 0), seg6(0, false, fin|ack, 1, 1, 1, 0), seg6(0, true, fin|ack, 1, 2, 1, 0),
		seg6(0, false, syn, 0x40, 0x80, 250, 0), seg6(0, false, syn, 0x40, 0x80, 250, 0), seg6(1, false, syn, 0, 0x80, 250, 0)))
	// A held segment released by its own window, then a SYN with a new ISN.
	f.Add(cat(seg6(3, true, ack, 5, 5, 1, 0), seg6(3, false, syn, 0x40, 0x80, 20, 0), seg6(3, false, syn, 0x40, 0x80, 1, 0)))
	// pcapng-example.pcapng: an outlier SYN-ACK beside another open
	// handshake, refuted by the final ACK.
	f.Add(cat(seg6(1, false, syn, 0, 0x80, 1, 0), seg6(0, false, syn, 0, 0x80, 1, 0), seg6(0|0x80, true, syn|ack, 0, 1, 1, 0),
		seg6(0, false, ack, 1, 1, 1, 0), seg6(1, true, syn|ack, 0, 1, 1, 0)))
	// Two outliers in a row confirm each other; a held outlier.
	f.Add(cat(seg6(0, false, syn, 0, 0x80, 1, 0), seg6(2|0x80, true, ack, 5, 5, 1, 0), seg6(1|0x80, false, syn, 0, 0x80, 1, 0),
		seg6(0, true, syn|ack, 0, 1, 1, 0), seg6(0, false, ack, 1, 1, 1, 0)))
	// A correct attempt with a lost first data segment (the final ACK
	// rode on it), a server reply and a FIN close.
	f.Add([]byte{0x81, 7, 0x30, 0, 5, 9, 0x83, 0, 2, 0})
	// Fast Open with early server data; a simultaneous open.
	f.Add([]byte{3, 9, 0x20, 3, 0x85, 4})
	f.Add([]byte{0x90, 0x91, 0x40, 4, 2, 0x82})
	if 255*100*us >= int64(fuzzOpts.IdleTimeout) {
		panic("fuzzFlows steps must stay under fuzzOpts.IdleTimeout")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLossTolerant(t, correctAttempt(data))
		gens, outliers := fuzzFlows(data)
		if len(outliers) == 0 {
			checkIndependent(t, fuzzOpts, gens)
		}
		pkts := interleave(gens)
		for _, p := range outliers {
			p.Segment.Timestamp += int64(time.Hour)
		}
		checkTiers(t, fuzzOpts, pkts, 1)
		tr := New(fuzzOpts, func(f *Flow) {
			for _, a := range f.Evidence {
				if a.Code.Fatal() && f.Verdict != handshake.Malformed {
					t.Fatalf("%v flow with fatal %v", f.Verdict, a)
				}
			}
			if f.FirstTS > f.LastTS || len(f.Anomalies) > len(f.Evidence) || (f.Evidence == nil) != (f.Anomalies == nil) {
				t.Fatalf("inconsistent flow %+v", f)
			}
			if (f.Verdict == handshake.Complete || f.Verdict == handshake.Refused) && !f.HasClientISN {
				t.Fatalf("%v flow without a SYN", f.Verdict)
			}
		})
		for _, p := range pkts {
			tr.Add(p)
			checkClock(t, tr)
		}
		tr.Flush()
		if tr.Open() != 0 {
			t.Fatalf("Open() = %d after Flush", tr.Open())
		}
	})
}

// correctAttempt builds from data one connection attempt as correct TCP
// stacks send it (RFC 9293 §3.5 Figure 6, §3.6, §3.10.7.4), on the
// default fuzz 4-tuple, with every segment advertising a 65535-byte
// window:
//
//	b0, b1: client and server ISN (near the 2^32 wrap when bit 7 is set)
//	b2: bits 0-1 client SYN retransmissions, bit 2 a SYN-ACK retransmission,
//	    bit 3 refused (RST+ACK answers the SYN, nothing else), bit 4 the
//	    client's first data carries the final ACK (no bare ACK), bits 5-7
//	    the close: 0 none, 1 client FIN first, 2 server FIN first, 3 client
//	    RST, 4 server RST, else none
//	b3: bit 0 Fast Open: the SYN carries a cookie and 50 bytes, which the
//	    SYN-ACK accepts, and (bit 1) the server sends 30 bytes right after
//	    it (RFC 7413 §4.2.2); bit 2 simultaneous open instead: crossing
//	    SYNs, then SYN-ACKs both ways (RFC 9293 §3.5 Figure 7)
//	then pairs: bit 7 from the server, bits 0-6 ×11 payload bytes (0: a
//	pure ACK), up to 16 segments.
//
// The server sends nothing after its SYN-ACK before the client's final ACK
// or first data: it is ESTABLISHED only then.
func correctAttempt(data []byte) []*decode.Packet {
	if len(data) < 4 {
		return nil
	}
	isn := func(b byte) uint32 {
		if b&0x80 != 0 {
			return 0xffffff00 + uint32(b)
		}
		return uint32(b) * 100003
	}
	cisn, sisn, mode, extra := isn(data[0]), isn(data[1]), data[2], data[3]
	data = data[4:]
	c, s := cli, srv
	var out []*decode.Packet
	now := int64(0)
	add := func(from, to netip.AddrPort, f decode.Flags, seq, ack uint32, n int) {
		now += 200 * us
		p := pkt(from, to, now, f, seq, ack, n)
		p.Segment.Window = 65535
		out = append(out, p)
	}
	tfo, simultaneous := extra&1 != 0 && extra&4 == 0, extra&4 != 0
	synData := 0
	if tfo {
		synData = 50
	}
	syn := func() {
		add(c, s, fSYN, cisn, 0, synData)
		if tfo {
			out[len(out)-1].Segment.Options = decode.Options{Present: decode.OptFastOpen, CookieLen: 8}
		}
	}
	syn()
	for range mode & 3 {
		syn()
	}
	if mode&8 != 0 && !simultaneous {
		add(s, c, fRSTACK, 0, cisn+1+uint32(synData), 0)
		return out
	}
	cnxt, snxt := cisn+1+uint32(synData), sisn+1
	clientSent := mode&16 == 0
	if simultaneous {
		add(s, c, fSYN, sisn, 0, 0)
		add(c, s, fSYNACK, cisn, snxt, 0)
		add(s, c, fSYNACK, sisn, cnxt, 0)
		clientSent = true
	} else {
		add(s, c, fSYNACK, sisn, cnxt, 0)
		if mode&4 != 0 {
			add(s, c, fSYNACK, sisn, cnxt, 0)
		}
		if tfo && extra&2 != 0 {
			add(s, c, fACK|decode.PSH, snxt, cnxt, 30)
			snxt += 30
		}
		if mode&16 == 0 {
			add(c, s, fACK, cnxt, snxt, 0)
		}
	}
	for i := 0; i+1 < len(data) && i < 32; i += 2 {
		fromServer, n := data[i]&0x80 != 0 && clientSent, int(data[i]&0x7f)*11
		f := fACK
		if n > 0 {
			f |= decode.PSH
		}
		if fromServer {
			add(s, c, f, snxt, cnxt, n)
			snxt += uint32(n)
		} else {
			add(c, s, f, cnxt, snxt, n)
			cnxt += uint32(n)
			clientSent = true
		}
	}
	if !clientSent {
		add(c, s, fACK, cnxt, snxt, 0)
	}
	switch mode >> 5 {
	case 1:
		add(c, s, fFINACK, cnxt, snxt, 0)
		add(s, c, fFINACK, snxt, cnxt+1, 0)
		add(c, s, fACK, cnxt+1, snxt+1, 0)
	case 2:
		add(s, c, fFINACK, snxt, cnxt, 0)
		add(c, s, fFINACK, cnxt, snxt+1, 0)
		add(s, c, fACK, snxt+1, cnxt+1, 0)
	case 3:
		add(c, s, fRSTACK, cnxt, snxt, 0)
	case 4:
		add(s, c, fRSTACK, snxt, cnxt, 0)
	}
	return out
}

// checkLossTolerant is the capture-loss invariant: a correct attempt is
// complete or refused, and with any one of its segments missing from the
// capture (not from the wire) it is never malformed (docs/anomalies.md,
// "Readings": it may become half_open or midstream, or stay complete with
// an informational anomaly).
func checkLossTolerant(t *testing.T, pkts []*decode.Packet) {
	t.Helper()
	if len(pkts) == 0 {
		return
	}
	run := func(skip int) []*Flow {
		var in []*decode.Packet
		for i, p := range pkts {
			if i != skip {
				q := *p
				in = append(in, &q)
			}
		}
		return collect(fuzzOpts, in)
	}
	full := run(-1)
	if len(full) != 1 || full[0].Verdict != handshake.Complete && full[0].Verdict != handshake.Refused {
		t.Fatalf("the correct attempt gave %d flows, first %v %v", len(full), full[0].Verdict, full[0].Evidence)
	}
	for k := range pkts {
		for _, f := range run(k) {
			if f.Verdict == handshake.Malformed {
				s := pkts[k].Segment
				t.Fatalf("without segment %d (%v seq %d ack %d len %d) the attempt is malformed: %v",
					k+1, s.Flags, s.Seq, s.Ack, s.PayloadLen, f.Evidence)
			}
		}
	}
}

// TestLossTolerant runs the capture-loss invariant of FuzzTracker over a
// fixed sample of correct attempts (every mode byte, random exchanges).
func TestLossTolerant(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 9293))
	for mode := range 256 {
		data := []byte{byte(rng.UintN(256)), byte(rng.UintN(256)), byte(mode), byte(rng.UintN(8))}
		for range rng.IntN(16) * 2 {
			data = append(data, byte(rng.UintN(256)))
		}
		checkLossTolerant(t, correctAttempt(data))
	}
}
