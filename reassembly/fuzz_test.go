package reassembly

import (
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
	if 255*100*us >= int64(fuzzOpts.IdleTimeout) {
		panic("fuzzFlows steps must stay under fuzzOpts.IdleTimeout")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gens, outliers := fuzzFlows(data)
		if len(outliers) == 0 {
			checkIndependent(t, fuzzOpts, gens)
		}
		pkts := interleave(gens)
		for _, p := range outliers {
			p.Segment.Timestamp += int64(time.Hour)
		}
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
