package connstate

import (
	"net/netip"
	"testing"
	"unsafe"

	"github.com/hsanalyze/hsanalyze/decode"
)

var (
	hostA = netip.MustParseAddrPort("192.0.2.1:40000")
	hostB = netip.MustParseAddrPort("198.51.100.2:80")
)

const (
	isnA = 1000
	isnB = 5000
	ms   = int64(1e6)
)

// pkt is one segment of a scenario: sent by A (the caller's client) or B,
// seq and ack relative to isnA/isnB (ack -1: no ACK flag).
type pkt struct {
	fromA    bool
	flags    decode.Flags
	seq, ack int
	n        int
	window   uint16
	bad      bool // bad checksum
}

func run(c *Conn, pkts []pkt) {
	for i, p := range pkts {
		s := decode.Segment{Timestamp: int64(i) * ms, Flags: p.flags, PayloadLen: p.n, IPLen: 40 + p.n, Window: p.window}
		if s.Window == 0 && p.window == 0 {
			s.Window = 65535
		}
		if p.window == 1 {
			s.Window = 0
		}
		if p.bad {
			s.Checksum = decode.ChecksumBad
		}
		if p.fromA {
			s.Src, s.Dst = hostA, hostB
			s.Seq, s.Ack = decode.Seq(isnA+p.seq), decode.Seq(isnB+p.ack)
		} else {
			s.Src, s.Dst = hostB, hostA
			s.Seq, s.Ack = decode.Seq(isnB+p.seq), decode.Seq(isnA+p.ack)
		}
		c.Add(&s, p.fromA)
	}
}

const (
	S  = decode.SYN
	SA = decode.SYN | decode.ACK
	A  = decode.ACK
	FA = decode.FIN | decode.ACK
	RA = decode.RST | decode.ACK
	R  = decode.RST
	F  = decode.FIN
	PA = decode.PSH | decode.ACK
)

var handshake = []pkt{{true, S, 0, 0, 0, 0, false}, {false, SA, 0, 1, 0, 0, false}, {true, A, 1, 1, 0, 0, false}}

func with(p ...pkt) []pkt { return append(append([]pkt{}, handshake...), p...) }

// TestStates produces each of Zeek's 13 conn_state values, with the
// history Zeek writes for the same packets.
func TestStates(t *testing.T) {
	tests := []struct {
		name    string
		pkts    []pkt
		state   State
		history string
		reason  string
	}{
		{"S0", []pkt{{true, S, 0, 0, 0, 0, false}}, S0, "S", "a SYN, no reply"},
		{"S1", handshake, S1, "ShA", "established, not closed"},
		{"SF", with(pkt{true, FA, 1, 1, 0, 0, false}, pkt{false, FA, 1, 2, 0, 0, false}, pkt{true, A, 2, 2, 0, 0, false}), SF, "ShAFf", "both FINs; the last ACK repeats 'A'"},
		{"REJ", []pkt{{true, S, 0, 0, 0, 0, false}, {false, RA, 0, 1, 0, 0, false}}, REJ, "Sr", "RST+ACK to the SYN"},
		{"S2", with(pkt{true, FA, 1, 1, 0, 0, false}), S2, "ShAF", "only the originator's FIN"},
		{"S3", with(pkt{false, FA, 1, 1, 0, 0, false}), S3, "ShAf", "only the responder's FIN"},
		{"RSTO", with(pkt{true, RA, 1, 1, 0, 0, false}), RSTO, "ShAR", "the originator aborts"},
		{"RSTR", with(pkt{false, RA, 1, 1, 0, 0, false}), RSTR, "ShAr", "the responder aborts"},
		{"RSTOS0", []pkt{{true, S, 0, 0, 0, 0, false}, {true, R, 1, 0, 0, 0, false}}, RSTOS0, "SR", "SYN then the originator's RST"},
		{"RSTRH", []pkt{{false, SA, 0, 1, 0, 0, false}, {false, R, 1, 0, 0, 0, false}}, RSTRH, "^hr", "SYN-ACK then RST, SYN not seen; the SYN-ACK's receiver is the originator"},
		{"SH", []pkt{{true, S, 0, 0, 0, 0, false}, {true, F, 1, 0, 0, 0, false}}, SH, "SF", "SYN then FIN, no SYN-ACK"},
		{"SHR", []pkt{{false, SA, 0, 1, 0, 0, false}, {false, FA, 1, 1, 0, 0, false}}, SHR, "^hf", "SYN-ACK then FIN, SYN not seen"},
		{"OTH", []pkt{{true, PA, 1, 1, 10, 0, false}}, OTH, "D", "midstream data"},
	}
	seen := map[State]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Conn
			run(&c, tt.pkts)
			s := c.Summary()
			if s.State != tt.state || s.HistoryString() != tt.history {
				t.Errorf("%s: conn_state %v history %q, want %v %q", tt.reason, s.State, s.HistoryString(), tt.state, tt.history)
			}
			seen[s.State] = true
		})
	}
	for _, s := range States() {
		if !seen[s] {
			t.Errorf("no case produces %v", s)
		}
	}
}

// TestHistoryRules checks the casing, repetition and logarithmic rules of
// Zeek's history field.
func TestHistoryRules(t *testing.T) {
	data := func(fromA bool, seq, n int) pkt { return pkt{fromA, PA, seq, 1, n, 0, false} }
	rexmit := with(data(true, 1, 100))
	for range 10 {
		rexmit = append(rexmit, data(true, 1, 100)) // the same bytes again
	}
	zero := with(pkt{false, A, 1, 1, 0, 1, false})
	tests := []struct {
		name    string
		pkts    []pkt
		history string
		reason  string
	}{
		{"retransmissions-logarithmic", rexmit, "ShADTT", "'t' at the 1st and 10th retransmission"},
		{"data-once", with(data(true, 1, 10), data(true, 11, 10), data(false, 1, 5)), "ShADd", "'d' and 'D' at most once per side"},
		{"syn-repeated-same-seq", []pkt{{true, S, 0, 0, 0, 0, false}, {true, S, 0, 0, 0, 0, false}}, "S", "a retransmitted SYN is not repeated"},
		{"syn-repeated-new-seq", []pkt{{true, S, 0, 0, 0, 0, false}, {true, R, 1, 0, 0, 0, false}, {true, S, 77, 0, 0, 0, false}}, "SRS", "a SYN at another seq after a RST is (a new ISN in SYN_SENT renumbers, so rel seq 0 again)"},
		{"zero-window", zero, "ShAaw", "'w': the responder's pure ACK advertised a zero window"},
		{"bad-checksum", []pkt{{true, S, 0, 0, 0, 0, true}}, "C", "a bad checksum is counted and the packet dropped"},
		{"syn-fin", []pkt{{true, S | F, 0, 0, 0, 0, false}}, "Q", "SYN+FIN is a multi-flag packet"},
		{"fin-rst", with(pkt{true, F | R | A, 1, 1, 0, 0, false}), "ShAI", "FIN+RST is inconsistent"},
		{"content-gap", with(pkt{false, FA, 2001, 1, 0, 0, false}, pkt{true, A, 1, 2002, 0, 0, false}), "ShAfg", "the ACK of a FIN past 2000 unseen bytes reveals a gap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Conn
			run(&c, tt.pkts)
			if s := c.Summary(); s.HistoryString() != tt.history {
				t.Errorf("%s: history %q, want %q", tt.reason, s.HistoryString(), tt.history)
			}
		})
	}
}

func TestBytesAndGaps(t *testing.T) {
	var c Conn
	run(&c, with(pkt{true, PA, 1, 1, 100, 0, false}, pkt{false, FA, 2001, 101, 0, 0, false}, pkt{true, A, 101, 2002, 0, 0, false}))
	s := c.Summary()
	if s.OrigBytes != 100 || s.RespBytes != 2000 || s.MissedBytes != 2000 || s.OrigPkts != 4 || s.RespPkts != 2 || s.OrigIPBytes != 4*40+100 {
		t.Errorf("%+v", s)
	}
}

// TestAttemptTimer: Zeek removes a connection whose SYN got no answer for
// tcp_attempt_delay (5 s); a later packet starts another.
func TestAttemptTimer(t *testing.T) {
	var c Conn
	syn := decode.Segment{Src: hostA, Dst: hostB, Seq: isnA, Flags: S, IPLen: 40}
	c.Add(&syn, true)
	if c.Expired(4e9) {
		t.Fatal("expired before 5 s")
	}
	if !c.Expired(6e9) {
		t.Fatal("not expired after 5 s")
	}
}

// TestSize keeps the accumulator small: it is part of every table entry.
func TestSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 320 {
		t.Errorf("Conn is %d bytes", n)
	}
}

func BenchmarkAdd(b *testing.B) {
	segs := make([]decode.Segment, 0, 64)
	for i := range 64 {
		segs = append(segs, decode.Segment{Timestamp: int64(i) * ms, Src: hostA, Dst: hostB, Seq: decode.Seq(isnA + 1 + i*100), Ack: isnB + 1, Flags: PA, PayloadLen: 100, IPLen: 140, Window: 1000})
	}
	b.ReportAllocs()
	for b.Loop() {
		var c Conn
		for i := range segs {
			c.Add(&segs[i], true)
		}
	}
}
