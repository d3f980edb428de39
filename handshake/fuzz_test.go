package handshake

import (
	"encoding/binary"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
)

// fuzzSegBytes is the size of one segment in FuzzHandshake's input.
const fuzzSegBytes = 6

// fuzzSegments turns fuzz input into segments. The input is two big-endian
// ISNs (client, server), then 6 bytes per segment:
//
//	b0: bit 0 from client; bits 1-7 SYN, ACK, FIN, RST, PSH, URG, ECE
//	b1: seq: bits 6-7 mode (0 sender ISN + d, 1 sender ISN - d, 2 peer ISN + d,
//	    3 d<<26), bits 0-5 d
//	b2: ack: the same with the receiver's ISN, except mode 2 is ack 0
//	b3: payload length (b3 & 0x7f) iff b3 & 0x80
//	b4: bit 0 timestamps, 1 window scale, 2 MSS, 3 Fast Open, 4 OptBad,
//	    5 bad checksum, 6 ICMP error instead of a segment, 7 self-connect
//	b5: time step in 10 µs, and the option values
func fuzzSegments(data []byte) (segs []decode.Segment, icmp []bool, client []bool) {
	var isn [2]uint32
	if len(data) >= 8 {
		isn[0], isn[1] = binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:])
		data = data[8:]
	}
	var now int64 = 1_700_000_000_000_000_000
	var tsval uint32 = 1000
	for i := 0; i+fuzzSegBytes <= len(data); i += fuzzSegBytes {
		b := data[i : i+fuzzSegBytes]
		fromClient := b[0]&1 != 0
		var f decode.Flags
		for bit, flag := range []decode.Flags{decode.SYN, decode.ACK, decode.FIN, decode.RST, decode.PSH, decode.URG, decode.ECE} {
			if b[0]&(2<<bit) != 0 {
				f |= flag
			}
		}
		me, peer := isn[1], isn[0]
		if fromClient {
			me, peer = isn[0], isn[1]
		}
		num := func(x byte, own, other uint32, ack bool) decode.Seq {
			d := uint32(x & 0x3f)
			switch x >> 6 {
			case 0:
				return decode.Seq(own).Add(d)
			case 1:
				return decode.Seq(own - d)
			case 2:
				if ack {
					return 0
				}
				return decode.Seq(other).Add(d)
			}
			return decode.Seq(d << 26)
		}
		now += int64(b[5]) * 10_000
		tsval += uint32(b[5])
		seg := decode.Segment{
			Timestamp: now, Frame: uint64(len(segs) + 1), Flags: f,
			Seq: num(b[1], me, peer, false), Ack: num(b[2], peer, me, true),
			Src: cli4, Dst: srv4,
		}
		if !fromClient {
			seg.Src, seg.Dst = srv4, cli4
		}
		if b[3]&0x80 != 0 {
			seg.PayloadLen = int(b[3] & 0x7f)
		}
		o := &seg.Options
		if b[4]&1 != 0 {
			o.Present |= decode.OptTimestamps
			o.TSval, o.TSecr = tsval, tsval-uint32(b[5]&3)
		}
		if b[4]&2 != 0 {
			o.Present |= decode.OptWindowScale
			o.WindowScale = b[5] & 0x0f
		}
		if b[4]&4 != 0 {
			o.Present |= decode.OptMSS
			o.MSS = uint16(b[5]) * 8
		}
		if b[4]&8 != 0 {
			o.Present |= decode.OptFastOpen
			o.CookieLen = (b[5] & 3) * 4
		}
		if b[4]&16 != 0 {
			o.Present |= decode.OptBad
		}
		if b[4]&32 != 0 {
			seg.Checksum = decode.ChecksumBad
		}
		if b[4]&128 != 0 {
			seg.Src, seg.Dst = loop, loop
		}
		segs = append(segs, seg)
		icmp = append(icmp, b[4]&64 != 0)
		client = append(client, fromClient)
	}
	return segs, icmp, client
}

// seg6 builds one segment's fuzz bytes; see fuzzSegments.
func seg6(fromClient bool, flags byte, seq, ack, n, opts, dt byte) []byte {
	b0 := flags << 1
	if fromClient {
		b0 |= 1
	}
	return []byte{b0, seq, ack, n, opts, dt}
}

// Flag bits of fuzzSegments' b0 (before the shift by one).
const (
	zSYN = 1 << iota
	zACK
	zFIN
	zRST
	zPSH
	zURG
	zECE
)

func fuzzSeeds() [][]byte {
	isn := []byte{0xff, 0xff, 0xff, 0xf0, 0x00, 0x00, 0x13, 0x88} // client ISN near 2^32: wraps
	cat := func(parts ...[]byte) []byte {
		out := append([]byte(nil), isn...)
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	return [][]byte{
		// Textbook handshake across the 2^32 wrap.
		cat(seg6(true, zSYN, 0, 0x80, 0, 1, 1), seg6(false, zSYN|zACK, 0, 1, 0, 1, 4), seg6(true, zACK, 1, 1, 0, 0, 1)),
		// SYN retransmitted, SYN-ACK echoing the first TSval.
		cat(seg6(true, zSYN, 0, 0x80, 0, 1, 100), seg6(true, zSYN, 0, 0x80, 0, 1, 200), seg6(false, zSYN|zACK, 0, 1, 0, 1, 2)),
		// Refused, then a new ISN from the client.
		cat(seg6(true, zSYN, 0, 0x80, 0, 0, 1), seg6(false, zRST|zACK, 0x80, 1, 0, 0, 1), seg6(true, zSYN, 5, 0x80, 0, 0, 1)),
		// Simultaneous open.
		cat(seg6(true, zSYN, 0, 0x80, 0, 0, 1), seg6(false, zSYN, 0, 0x80, 0, 0, 1), seg6(true, zSYN|zACK, 0, 1, 0, 0, 1), seg6(false, zSYN|zACK, 0, 1, 0, 0, 1)),
		// Fast Open SYN with data, SYN-ACK ignoring it.
		cat(seg6(true, zSYN, 0, 0x80, 0x8a, 8, 3), seg6(false, zSYN|zACK, 0, 1, 0, 0, 1), seg6(true, zACK|zPSH, 1, 1, 0x8a, 0, 1)),
		// Midstream data, then a SYN-ACK from the caller's client (flip).
		cat(seg6(true, zACK|zPSH, 9, 9, 0x84, 0, 1), seg6(true, zSYN|zACK, 0, 1, 0, 0, 1)),
		// Impossible flags: null, Xmas, SYN+FIN+RST.
		cat(seg6(true, 0, 0, 0, 0, 0, 1), seg6(true, zFIN|zPSH|zURG, 1, 0, 0, 0, 1), seg6(true, zSYN|zFIN|zRST, 0, 0, 0, 0, 1)),
		// Self-connect with a bad option list and an ICMP error.
		cat(seg6(true, zSYN, 0, 0x80, 0, 0x80|16, 1), seg6(true, zSYN|zACK, 0, 1, 0, 0x80, 1), seg6(true, zSYN, 0, 0x80, 0, 64, 1)),
		// Complete, then FINs crossing and a late RST.
		cat(seg6(true, zSYN|zECE, 0, 0x80, 0, 2, 1), seg6(false, zSYN|zACK|zECE, 0, 1, 0, 2, 1), seg6(true, zACK, 1, 1, 0, 0, 1),
			seg6(true, zFIN|zACK, 1, 1, 0, 0, 1), seg6(false, zFIN|zACK, 1, 1, 0, 0, 1), seg6(false, zRST, 2, 0x80, 0, 0, 1)),
	}
}

func FuzzHandshake(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		segs, icmp, client := fuzzSegments(data)
		var m Machine
		var results []Result
		for i := range segs {
			seg := &segs[i]
			before := len(m.evidence())
			var ev Event
			if icmp[i] {
				ev = m.ICMP(seg, decode.ICMPError{Type: 3}, client[i])
			} else if ev = m.Step(seg, client[i]); ev.NewAttempt {
				if ev.Role != RoleNone || ev.Anomalies != nil || len(m.evidence()) != before {
					t.Fatalf("segment %d: NewAttempt changed the machine: %+v", i, ev)
				}
				results = append(results, m.Result())
				m = Machine{}
				before = 0
				if ev = m.Step(seg, true); ev.NewAttempt {
					t.Fatalf("segment %d: a fresh machine returned NewAttempt", i)
				}
			}
			if got := len(ev.Anomalies); got != len(m.evidence())-before {
				t.Fatalf("segment %d: event reports %d anomalies, machine gained %d", i, got, len(m.evidence())-before)
			}
			if ev.Client >= numStates || ev.Server >= numStates || ev.Role >= numRoles {
				t.Fatalf("segment %d: out-of-range event %+v", i, ev)
			}
		}
		results = append(results, m.Result())
		for _, r := range results {
			fatal := false
			for _, a := range r.Evidence {
				if !a.Code.Valid() {
					t.Fatalf("invalid code %d", a.Code)
				}
				fatal = fatal || a.Code.Fatal()
			}
			switch {
			case r.Verdict >= numVerdicts:
				t.Fatalf("verdict %d", r.Verdict)
			case fatal != (r.Verdict == Malformed):
				t.Fatalf("verdict %v, fatal evidence %v: %v", r.Verdict, fatal, r.Evidence)
			case (r.Verdict == Complete || r.Verdict == Refused) && !r.HasClientISN:
				t.Fatalf("verdict %v without a SYN", r.Verdict)
			case r.Verdict == Complete && (r.ACKFrame == 0 || r.SYNFrame == 0):
				t.Fatalf("complete without SYN or final ACK frame: %+v", r)
			case r.HasSYNToSYNACK && r.SYNToSYNACK < 0 || r.HasSYNACKToACK && r.SYNACKToACK < 0:
				t.Fatalf("negative duration: %+v", r)
			}
			if b, err := r.Verdict.MarshalText(); err != nil {
				t.Fatal(err)
			} else if v, err := ParseVerdict(string(b)); err != nil || v != r.Verdict {
				t.Fatalf("verdict round trip %q: %v %v", b, v, err)
			}
		}
	})
}
