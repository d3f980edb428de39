package handshake

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestReason pins every form of the reason, one scenario each (the wording
// docs/anomalies.md lists). Times are µs after the first segment (atUS);
// unset, a segment follows the previous one by 100 µs.
func TestReason(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		end   Ending
		gap   time.Duration
		want  string
	}{
		{"complete", hs(), 0, 0, "handshake completed in 0.2 ms (SYN-ACK after 0.1 ms)"},
		{"complete_after_retransmits", []step{c(fSYN, 1000, 0), c(fSYN, 1000, 0).atUS(1_000_000), hsSYNACK.atUS(1_000_300), hsACK.atUS(1_000_400)}, 0, 0,
			"handshake completed in 0.4 ms (SYN-ACK after 0.3 ms) after 1 SYN retransmission"},
		{"no_reply_one_syn", []step{hsSYN}, 0, 0, "no reply to the SYN"},
		{"no_reply_four_syns", []step{hsSYN, hsSYN.atUS(1_000_000), hsSYN.atUS(3_000_000), hsSYN.atUS(15_000_000)}, 0, 0,
			"no reply to 4 SYNs over 15.0 s"},
		{"no_reply_capture_ended", []step{hsSYN}, EndedWithInput, 200 * time.Millisecond, "no reply to the SYN; capture ended 200.0 ms later"},
		{"no_reply_interrupted", []step{hsSYN}, EndedInterrupted, 3 * time.Second, "no reply to the SYN; unfinished: interrupted 3.0 s after its last segment"},
		{"synack_never_acked", []step{hsSYN, hsSYNACK}, 0, 0, "SYN-ACK never acknowledged (frame 2)"},
		{"synack_retransmitted", []step{hsSYN, hsSYNACK, s(fSYNACK, 5000, 1001).atUS(1_100_000), s(fSYNACK, 5000, 1001).atUS(3_200_000)}, 0, 0,
			"SYN-ACK never acknowledged (2 retransmissions over 3.2 s)"},
		{"synack_lost", []step{hsSYN, hsSYNACK, hsSYN.atUS(1_000_000), hsSYN.atUS(3_000_000)}, 0, 0,
			"SYN-ACK never reached the client: it resent its SYN 2 times after the SYN-ACK (frame 2)"},
		{"client_reset", []step{hsSYN, hsSYNACK, c(fRST, 1001, 0).atUS(500)}, 0, 0, "client reset 0.4 ms after the SYN-ACK (frame 3)"},
		{"client_aborts", []step{hsSYN, c(fRST, 1001, 0).atUS(1_200_000)}, 0, 0, "client reset 1.2 s after its SYN, with no SYN-ACK captured (frame 2)"},
		{"server_resets_after_synack", []step{hsSYN, hsSYNACK, s(fRST, 5001, 0).atUS(3_000_100)}, 0, 0,
			"RST from the server 3.0 s after its SYN-ACK (frame 3), before the client's ACK"},
		{"refused", []step{hsSYN, s(fRSTACK, 0, 1001).atUS(200)}, 0, 0, "RST+ACK from the server 0.2 ms after the SYN (frame 2)"},
		{"refused_after_retransmit", []step{hsSYN, hsSYN.atUS(1_000_000), s(fRSTACK, 0, 1001).atUS(1_000_050)}, 0, 0,
			"RST+ACK from the server 0.050 ms after the SYN (frame 3), which was sent 2 times"},
		{"icmp", []step{hsSYN, hsSYN.asICMP().atUS(300)}, 0, 0, "ICMP port unreachable from 10.0.0.2 0.3 ms after the SYN (frame 2)"},
		{"malformed", []step{hsSYN, s(fSYNACK, 5000, 1002)}, 0, 0, "synack_wrong_ack: ack 1002, expected 1001 (frame 2)"},
		{"malformed_flags", []step{hsSYN, s(fRST, 0, 0)}, 0, 0, "rst_without_ack: flags RST, expected ACK|RST (frame 2)"},
		{"midstream_from_server", []step{s(fACK, 7000, 9000).data(10), c(fACK, 9000, 7010)}, 0, 0,
			"SYN not captured: first seen mid-connection at frame 1, from the server"},
		{"midstream_synack", []step{s(fSYNACK, 5000, 1001), c(fACK, 1001, 5001)}, EndedWithInput, time.Second,
			"SYN not captured: first seen mid-connection at frame 1, from the server; SYN-ACK at frame 1"},
		{"synack_not_captured", []step{hsSYN, c(fACK, 1001, 5001), s(fPSHACK, 5001, 1001).data(200), c(fACK, 1001, 5201)}, 0, 0,
			"SYN-ACK not captured, though the client acknowledged one (the server sent 1 segment)"},
		{"simultaneous_open_incomplete", []step{hsSYN, s(fSYN, 5000, 0)}, 0, 0, "simultaneous open never completed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, results := run(nil, scenario{name: tc.name, steps: tc.steps})
			r := results[len(results)-1]
			if tc.end != EndedNormally {
				r.EndAt(tc.end, int64(tc.gap))
			}
			if got := string(r.AppendReason(nil)); got != tc.want {
				t.Errorf("%s reason\n got %q\nwant %q", r.Verdict, got, tc.want)
			}
		})
	}
}

func TestReasonAllocs(t *testing.T) {
	_, results := run(nil, scenario{steps: []step{hsSYN, hsSYN.atUS(1_000_000), hsSYN.asICMP()}})
	r := results[0]
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = r.AppendReason(buf[:0]) }); n != 0 {
		t.Errorf("AppendReason allocates %.0f times", n)
	}
}

func TestICMPText(t *testing.T) {
	for _, tc := range []struct {
		typ, code uint8
		v6        bool
		want      string
	}{
		{3, 3, false, "port unreachable"},
		{3, 13, false, "communication administratively prohibited"},
		{3, 99, false, "destination unreachable (code 99)"},
		{11, 0, false, "time exceeded in transit"},
		{1, 4, true, "port unreachable"},
		{1, 0, true, "no route to destination"},
		{2, 0, true, "packet too big"},
		{200, 1, true, "type 200 code 1"},
	} {
		if got := ICMPText(tc.typ, tc.code, tc.v6); got != tc.want {
			t.Errorf("ICMPText(%d, %d, %v) = %q, want %q", tc.typ, tc.code, tc.v6, got, tc.want)
		}
	}
}

// BenchmarkAppendReason measures the reason every JSON, NDJSON and CSV
// record now carries, for the commonest forms.
func BenchmarkAppendReason(b *testing.B) {
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"complete", hs()},
		{"no_reply", []step{hsSYN, hsSYN.atUS(1_000_000)}},
		{"refused", []step{hsSYN, s(fRSTACK, 0, 1001)}},
	} {
		_, results := run(nil, scenario{steps: tc.steps})
		r := results[len(results)-1]
		buf := make([]byte, 0, 256)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf = r.AppendReason(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// durationFloat is appendDuration as strconv.AppendFloat writes it: what
// appendDuration must equal.
func durationFloat(ns int64) string {
	ns = max(ns, 0)
	switch {
	case ns < 100_000:
		return strconv.FormatFloat(float64(ns)/1e6, 'f', 3, 64) + " ms"
	case ns < 1e9:
		return strconv.FormatFloat(float64(ns)/1e6, 'f', 1, 64) + " ms"
	case ns < 120e9:
		return strconv.FormatFloat(float64(ns)/1e9, 'f', 1, 64) + " s"
	}
	return string(appendDuration(nil, ns))
}

// TestAppendDuration compares appendDuration with strconv's formatting on
// every ns below 2 ms, around every rounding boundary up to two minutes
// (ties among them) and on random durations.
func TestAppendDuration(t *testing.T) {
	check := func(ns int64) {
		t.Helper()
		if got, want := string(appendDuration(nil, ns)), durationFloat(ns); got != want {
			t.Fatalf("%d ns: %q, want %q", ns, got, want)
		}
	}
	for ns := int64(-10); ns < 2_000_000; ns++ {
		check(ns)
	}
	for _, step := range []int64{1e3, 1e5, 1e8} {
		for b := step / 2; b < 121e9; b += step * 997 {
			for d := int64(-2); d <= 2; d++ {
				check(b + d)
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1_000_000 {
		check(rng.Int64N(130e9))
		check(rng.Int64N(1e9) / 1000 * 1000) // µs resolution, as pcap's
	}
}
