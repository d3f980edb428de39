package handshake

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
)

// Flag sets used by the scenarios.
const (
	fSYN    = decode.SYN
	fSYNACK = decode.SYN | decode.ACK
	fACK    = decode.ACK
	fPSHACK = decode.PSH | decode.ACK
	fFINACK = decode.FIN | decode.ACK
	fRST    = decode.RST
	fRSTACK = decode.RST | decode.ACK
)

const us = int64(1000) // one microsecond in ns

// step is one segment of a scenario and what the machine must answer.
type step struct {
	client   bool
	flags    decode.Flags
	seq, ack uint32
	n        int              // payload length
	opt      decode.Options   // options carried
	at       int64            // capture time in ns since the first segment; 0: 100µs after the previous one
	bad      bool             // checksum verified bad
	icmp     bool             // an ICMP error quoting this segment, fed to Machine.ICMP
	reorder  bool             // Machine.NoteReordered before Step
	frag     decode.FragFlags // Segment.IPFrag
	wnd      uint16           // advertised window; 0: 65535

	role   Role
	cs, ss State
	codes  []Code // the anomalies raised by this segment, in order
	fresh  bool   // the segment starts a new attempt (Event.NewAttempt)
}

func c(f decode.Flags, seq, ack uint32) step { return step{client: true, flags: f, seq: seq, ack: ack} }
func s(f decode.Flags, seq, ack uint32) step { return step{flags: f, seq: seq, ack: ack} }

func (x step) data(n int) step            { x.n = n; return x }
func (x step) opts(o decode.Options) step { x.opt = o; return x }
func (x step) atUS(t int64) step          { x.at = t * us; return x }
func (x step) badSum() step               { x.bad = true; return x }
func (x step) asICMP() step               { x.icmp = true; return x }
func (x step) reordered() step            { x.reorder = true; return x }
func (x step) fragged(f decode.FragFlags) step {
	x.frag = f | decode.FragReassembled
	return x
}
func (x step) newAttempt() step  { x.fresh = true; return x }
func (x step) win(w uint16) step { x.wnd = w; return x }
func (x step) want(r Role, cs, ss State, codes ...Code) step {
	x.role, x.cs, x.ss, x.codes = r, cs, ss, codes
	return x
}

// Option helpers.
func ts(val, ecr uint32) decode.Options {
	return decode.Options{Present: decode.OptTimestamps, TSval: val, TSecr: ecr}
}
func tfo(cookie uint8) decode.Options {
	return decode.Options{Present: decode.OptFastOpen, CookieLen: cookie}
}
func ws(shift uint8) decode.Options {
	return decode.Options{Present: decode.OptWindowScale, WindowScale: shift}
}

type scenario struct {
	name    string
	reason  string // the RFC clause (or CONTRACT.md rule) the case pins
	v6      bool
	self    bool // self-connect: Src == Dst
	steps   []step
	earlier []Verdict // verdicts of attempts finished by a NewAttempt, in order
	verdict Verdict   // verdict of the last attempt
	check   func(t *testing.T, r Result)
}

var (
	cli4 = netip.MustParseAddrPort("10.0.0.1:40000")
	srv4 = netip.MustParseAddrPort("10.0.0.2:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::1]:40000")
	srv6 = netip.MustParseAddrPort("[2001:db8::2]:443")
	loop = netip.MustParseAddrPort("127.0.0.1:47123")
)

// The textbook exchange of RFC 9293 §3.5 Figure 6 with ISNs 1000 and 5000.
var (
	hsSYN    = c(fSYN, 1000, 0).want(RoleSYN, SynSent, Listen)
	hsSYNACK = s(fSYNACK, 5000, 1001).want(RoleSYNACK, SynSent, SynReceived)
	hsACK    = c(fACK, 1001, 5001).want(RoleFinalACK, Established, Established)
)

func hs(more ...step) []step { return append([]step{hsSYN, hsSYNACK, hsACK}, more...) }

var scenarios = []scenario{
	{
		name:    "complete_v4",
		reason:  "RFC 9293 §3.5 Figure 6: SYN, SYN-ACK, ACK with ack = ISN+1 both ways",
		steps:   []step{hsSYN, hsSYNACK.atUS(400), hsACK.atUS(450)},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			want := Result{ClientISN: 1000, ServerISN: 5000, HasClientISN: true, HasServerISN: true,
				SYNFrame: 1, SYNACKFrame: 2, ACKFrame: 3, SYNToSYNACK: 400 * us, SYNACKToACK: 50 * us,
				HasSYNToSYNACK: true, HasSYNACKToACK: true, ClientPackets: 2, ServerPackets: 1}
			got := Result{ClientISN: r.ClientISN, ServerISN: r.ServerISN, HasClientISN: r.HasClientISN, HasServerISN: r.HasServerISN,
				SYNFrame: r.SYNFrame, SYNACKFrame: r.SYNACKFrame, ACKFrame: r.ACKFrame, SYNToSYNACK: r.SYNToSYNACK,
				SYNACKToACK: r.SYNACKToACK, HasSYNToSYNACK: r.HasSYNToSYNACK, HasSYNACKToACK: r.HasSYNACKToACK,
				ClientPackets: r.ClientPackets, ServerPackets: r.ServerPackets}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("result\n got %+v\nwant %+v", got, want)
			}
			if r.Evidence != nil {
				t.Errorf("Evidence = %v, want nil", r.Evidence)
			}
		},
	},
	{
		name:    "complete_v6",
		reason:  "RFC 9293 §3.5: the handshake does not depend on the IP version",
		v6:      true,
		steps:   hs(),
		verdict: Complete,
	},
	{
		name:   "isn_wrap_client",
		reason: "RFC 9293 §3.4: sequence arithmetic is modulo 2^32, ISN 2^32-1 is acknowledged by 0",
		steps: []step{
			c(fSYN, 0xFFFFFFFF, 0).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 0).want(RoleSYNACK, SynSent, SynReceived),
			c(fACK, 0, 5001).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
	},
	{
		name:   "isn_wrap_server",
		reason: "RFC 9293 §3.4: modulo 2^32 on the server's ISN too",
		steps: []step{
			hsSYN,
			s(fSYNACK, 0xFFFFFFFF, 1001).want(RoleSYNACK, SynSent, SynReceived),
			c(fACK, 1001, 0).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
	},
	{
		name:    "syn_only",
		reason:  "CONTRACT.md half_open: a handshake began (SYN seen), no SYN-ACK",
		steps:   []step{hsSYN},
		verdict: HalfOpen,
	},
	{
		name:   "syn_retransmitted_3x",
		reason: "RFC 6298 §5 / RFC 9293 §3.8.1: SYN retransmitted with the same ISN is the same attempt; timing from the last SYN",
		steps: []step{
			hsSYN,
			c(fSYN, 1000, 0).atUS(1_000_000).want(RoleSYNRetransmit, SynSent, Listen),
			c(fSYN, 1000, 0).atUS(3_000_000).want(RoleSYNRetransmit, SynSent, Listen),
			c(fSYN, 1000, 0).atUS(7_000_000).want(RoleSYNRetransmit, SynSent, Listen),
			hsSYNACK.atUS(7_000_300),
			hsACK.atUS(7_000_310),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.SYNRetransmits != 3 || r.SYNToSYNACK != 300*us || r.SYNACKToACK != 10*us || r.SYNFrame != 1 {
				t.Errorf("retransmits %d, syn→synack %d, synack→ack %d, syn frame %d", r.SYNRetransmits, r.SYNToSYNACK, r.SYNACKToACK, r.SYNFrame)
			}
		},
	},
	{
		name:   "syn_retransmit_answered_by_tsecr",
		reason: "RFC 7323 §4.3: the SYN-ACK's TSecr names the SYN it answers, so timing starts at that SYN, not the last",
		steps: []step{
			c(fSYN, 1000, 0).opts(ts(100, 0)).want(RoleSYN, SynSent, Listen),
			c(fSYN, 1000, 0).opts(ts(1100, 0)).atUS(1_000_000).want(RoleSYNRetransmit, SynSent, Listen),
			s(fSYNACK, 5000, 1001).opts(ts(9000, 100)).atUS(1_000_200).want(RoleSYNACK, SynSent, SynReceived),
			hsACK,
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if !r.HasSYNToSYNACK || r.SYNToSYNACK != 1_000_200*us {
				t.Errorf("SYNToSYNACK = %d (%v), want %d", r.SYNToSYNACK, r.HasSYNToSYNACK, 1_000_200*us)
			}
		},
	},
	{
		name:   "synack_never_acked",
		reason: "CONTRACT.md half_open: no final ACK; a repeated SYN-ACK is a retransmission (RFC 9293 §3.8.1)",
		steps: []step{
			hsSYN, hsSYNACK,
			s(fSYNACK, 5000, 1001).want(RoleSYNACKRetransmit, SynSent, SynReceived),
		},
		verdict: HalfOpen,
		check: func(t *testing.T, r Result) {
			if r.SYNACKRetransmits != 1 || r.HasSYNACKToACK || r.ACKFrame != 0 {
				t.Errorf("SYNACKRetransmits %d, HasSYNACKToACK %v, ACKFrame %d", r.SYNACKRetransmits, r.HasSYNACKToACK, r.ACKFrame)
			}
		},
	},
	{
		name:   "refused",
		reason: "RFC 9293 §3.10.7.3 SYN-SENT: RST with an acceptable ACK (ISN+1) resets; CONTRACT.md refused",
		steps: []step{
			hsSYN,
			s(fRSTACK, 0, 1001).want(RoleRST, Closed, Closed),
		},
		verdict: Refused,
		check: func(t *testing.T, r Result) {
			if r.Close != ServerRST || r.HasServerISN {
				t.Errorf("Close %v, HasServerISN %v", r.Close, r.HasServerISN)
			}
		},
	},
	{
		name:   "refused_syn_with_data",
		reason: "RFC 9293 §3.10.7.3: SND.NXT includes the SYN's data, so ack = ISN+1+len is acceptable",
		steps: []step{
			c(fSYN, 1000, 0).data(10).want(RoleSYN, SynSent, Listen, SynDataWithoutFastOpen),
			s(fRSTACK, 0, 1011).want(RoleRST, Closed, Closed),
		},
		verdict: Refused,
	},
	{
		name:   "rst_wrong_ack",
		reason: "RFC 9293 §3.10.7.3: SEG.ACK > SND.NXT is unacceptable, the RST is dropped; CONTRACT.md malformed",
		steps: []step{
			hsSYN,
			s(fRSTACK, 0, 1005).want(RoleRST, SynSent, Listen, RstWrongAck),
		},
		verdict: Malformed,
	},
	{
		name:   "rst_without_ack",
		reason: "RFC 9293 §3.10.7.3 / RFC 5961 §3: in SYN-SENT an RST without ACK is dropped; CONTRACT.md malformed",
		steps: []step{
			hsSYN,
			s(fRST, 0, 0).want(RoleRST, SynSent, Listen, RstWithoutAck),
		},
		verdict: Malformed,
	},
	{
		name:   "synack_wrong_ack",
		reason: "RFC 9293 §3.10.7.3: SYN-ACK ack must be ISS+1; 1002 acknowledges a byte never sent",
		steps: []step{
			hsSYN,
			s(fSYNACK, 5000, 1002).want(RoleSYNACK, SynSent, SynReceived, SynAckWrongAck),
			c(fRST, 1002, 0).want(RoleRST, Closed, Closed), // RFC 9293 §3.10.7.3: <SEQ=SEG.ACK><CTL=RST>
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			e := r.Evidence[0]
			if e.Field != FieldAck || e.Seen != 1002 || e.Expected != 1001 || !e.HasValues || e.Frame != 2 {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "final_ack_wrong_seq",
		reason: "RFC 9293 §3.10.7.4 first check: a final ACK's seq past RCV.NXT+RCV.WND (1001+1024) is unacceptable",
		steps: []step{
			hsSYN, hsSYNACK.win(1024),
			c(fACK, 2025, 5001).want(RoleACK, Established, SynReceived, AckWrongSeq),
		},
		verdict: Malformed,
	},
	{
		name:   "final_ack_seq_before_isn",
		reason: "RFC 9293 §3.10.7.4 first check: a seq before RCV.NXT = ISN+1 is outside the window, whatever its size",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fACK, 1000, 5001).want(RoleACK, Established, SynReceived, AckWrongSeq),
		},
		verdict: Malformed,
	},
	{
		name:   "final_ack_lost_seq_in_window",
		reason: "RFC 9293 §3.10.7.4 first check: SYN-RECEIVED accepts any SEG.SEQ in RCV.NXT … RCV.NXT+RCV.WND; the final ACK and 2506 bytes were not captured (ack-seq-in-window.pcap)",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fPSHACK, 3507, 5001).data(100).want(RoleFinalACK, Established, Established, DataNotCaptured),
			c(fPSHACK, 3607, 5001).data(100).want(RoleData, Established, Established),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if e := r.Evidence[0]; e.Field != FieldSeq || e.Seen != 3507 || e.Expected != 1001 || e.Frame != 3 {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "seq_in_window_widened_by_server_ack",
		reason: "RFC 9293 §3.10.7.4, RFC 7323 §2.3: the server's later ACK (ack 1001, window 512<<7) moves the window's right edge past the SYN-ACK's 1024 bytes",
		steps: []step{
			c(fSYN, 1000, 0).opts(ws(7)).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1001).opts(ws(7)).win(1024).want(RoleSYNACK, SynSent, SynReceived),
			s(fACK, 5001, 1001).win(512).want(RoleACK, SynSent, SynReceived),
			c(fPSHACK, 40001, 5001).data(10).want(RoleFinalACK, Established, Established, DataNotCaptured),
		},
		verdict: Complete,
	},
	{
		name:   "final_ack_wrong_ack",
		reason: "RFC 9293 §3.10.7.4 fifth check: SND.UNA < SEG.ACK =< SND.NXT, else reset",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fACK, 1001, 5002).want(RoleACK, Established, SynReceived, AckWrongAck),
		},
		verdict: Malformed,
	},
	{
		name:   "final_ack_wrong_seq_and_ack",
		reason: "RFC 9293 §3.10.7.4: both checks fail (Suricata 3whs_wrong_seq_wrong_ack)",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fACK, 7, 9).want(RoleACK, Established, SynReceived, AckWrongSeq, AckWrongAck),
		},
		verdict: Malformed,
	},
	{
		name:   "data_after_wrong_final_ack_continues_stream",
		reason: "RFC 9293 §3.3.1, §3.10.7.4 first check: after a wrong final ACK the client's next segment follows its SND.NXT (ISN+1+385), not ISN+1; only the acks are wrong (gopacket/cip.pcap 10.200.1.18:1054)",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fACK, 1001, 9001).want(RoleACK, Established, SynReceived, AckWrongAck),
			c(fPSHACK, 1001, 9001).data(385).want(RoleData, Established, SynReceived, AckWrongAck),
			c(fACK, 1386, 9001).data(1460).want(RoleData, Established, SynReceived, AckWrongAck),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if r.Has(AckWrongSeq) {
				t.Errorf("ack_wrong_seq for a seq that follows the data sent: %v", r.Evidence)
			}
		},
	},
	{
		name:   "retransmission_before_completion_is_no_wrong_seq",
		reason: "RFC 9293 §3.10.7.4 first check: a retransmission at or inside what the client already sent (ISN+1 … SND.NXT) is a duplicate the receiver acknowledges or queues, not a wrong seq",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fPSHACK, 1001, 9001).data(100).want(RoleData, Established, SynReceived, AckWrongAck),
			c(fPSHACK, 1001, 9001).data(100).want(RoleData, Established, SynReceived, AckWrongAck),
			c(fPSHACK, 1051, 9001).data(50).want(RoleData, Established, SynReceived, AckWrongAck),
			c(fFINACK, 1101, 9001).want(RoleFIN, Established, SynReceived, AckWrongAck),
			c(fACK, 1102, 9001).want(RoleACK, Established, SynReceived, AckWrongAck), // after the FIN's seq
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if r.Has(AckWrongSeq) {
				t.Errorf("ack_wrong_seq for a retransmission: %v", r.Evidence)
			}
		},
	},
	{
		name:   "seq_past_what_was_sent_before_completion",
		reason: "RFC 9293 §3.3.1, §3.10.7.4 first check: a seq beyond the client's SND.NXT and past the server's window (1001+150) skips sequence space never sent; expected is that SND.NXT",
		steps: []step{
			hsSYN, hsSYNACK.win(150),
			c(fPSHACK, 1001, 9001).data(100).want(RoleData, Established, SynReceived, AckWrongAck),
			c(fPSHACK, 1200, 9001).data(100).want(RoleData, Established, SynReceived, AckWrongSeq, AckWrongAck),
			c(fPSHACK, 1101, 9001).data(100).want(RoleData, Established, SynReceived, AckWrongAck),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			e := r.Evidence[1]
			if e.Code != AckWrongSeq || e.Seen != 1200 || e.Expected != 1101 || e.Frame != 4 {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "seq_before_isn_after_data",
		reason: "RFC 9293 §3.10.7.4 first check: a seq before ISN+1 is outside anything the client sent (below RCV.NXT's start), whatever came before",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fPSHACK, 1001, 9001).data(100).want(RoleData, Established, SynReceived, AckWrongAck),
			c(fACK, 1000, 9001).want(RoleACK, Established, SynReceived, AckWrongSeq, AckWrongAck),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if e := r.Evidence[1]; e.Code != AckWrongSeq || e.Seen != 1000 || e.Expected != 1101 {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "final_ack_wrong_seq_then_correct",
		reason: "RFC 9293 §3.10.7.4 first check: the final ACK at ISN+5, past a 4-byte window, is wrong; a later ACK at ISN+1 completes but the attempt stays malformed",
		steps: []step{
			hsSYN, hsSYNACK.win(4),
			c(fACK, 1005, 5001).want(RoleACK, Established, SynReceived, AckWrongSeq),
			c(fACK, 1001, 5001).want(RoleFinalACK, Established, Established),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if e := r.Evidence[0]; e.Seen != 1005 || e.Expected != 1001 {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "stream_before_synack_then_completion",
		reason: "RFC 9293 §3.10.7.4: data the client sent before the SYN-ACK was captured advances its SND.NXT; its next segment there, with a right ack, is acceptable and completes",
		steps: []step{
			hsSYN,
			c(fACK, 1001, 5001).want(RoleACK, SynSent, SynReceived, AckWithoutSynAck),
			c(fPSHACK, 1001, 5001).data(385).want(RoleData, SynSent, SynReceived),
			hsSYNACK,
			c(fACK, 1386, 5001).data(1460).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
	},
	{
		name:   "syn_fin",
		reason: "CONTRACT.md: SYN+FIN is an impossible flag combination",
		steps: []step{
			c(fSYN|decode.FIN, 1000, 0).want(RoleSYN, SynSent, Listen, SynFin),
		},
		verdict: Malformed,
	},
	{
		name:   "syn_rst",
		reason: "CONTRACT.md: SYN+RST is an impossible flag combination",
		steps: []step{
			c(fSYN|decode.RST, 1000, 0).want(RoleSYN, SynSent, Listen, SynRst),
		},
		verdict: Malformed,
	},
	{
		name:   "null_flags",
		reason: "CONTRACT.md: a segment with no flags is impossible; RFC 9293 §3.1 every segment after the SYN carries ACK",
		steps: []step{
			hsSYN, hsSYNACK,
			c(0, 1001, 0).want(RoleInvalid, SynSent, SynReceived, NullFlags),
		},
		verdict: Malformed,
	},
	{
		name:   "null_scan_midstream",
		reason: "CONTRACT.md: no flags at all is malformed even without a SYN (malformed takes precedence)",
		steps: []step{
			c(0, 1000, 0).want(RoleInvalid, Established, Established, ScanProbe, NullFlags),
		},
		verdict: Malformed,
	},
	{
		name:   "xmas",
		reason: "RFC 9293 §3.10.7.4 fifth check: FIN+PSH+URG without ACK is dropped (nmap -sX)",
		steps: []step{
			c(decode.FIN|decode.PSH|decode.URG, 1000, 0).want(RoleInvalid, Established, Established, ScanProbe, XmasFlags),
		},
		verdict: Malformed,
	},
	{
		name:   "fin_scan_probe",
		reason: "RFC 9293 §3.1: no TCP in any state sends FIN without ACK; §3.10.7.1: the closed port answers <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (nmap -sF; fin-scan.pcap)",
		steps: []step{
			c(decode.FIN, 1000, 0).want(RoleInvalid, Established, Established, ScanProbe, NoAckFlag),
			s(fRSTACK, 0, 1001).want(RoleRST, Closed, Closed),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if e := r.Evidence[0]; e.Field != FieldFlags || e.Seen != uint64(decode.FIN) {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "maimon_scan_probe",
		reason: "RFC 9293 §3.10.7.1: FIN+ACK with ack 0 is a legal segment to a closed port (answered by RST); a scanner's probe (nmap -sM), not a connection",
		steps: []step{
			c(fFINACK, 1000, 0).want(RoleFIN, FinWait1, CloseWait, ScanProbe),
			s(fRST, 0, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Midstream,
	},
	{
		name:   "ack_scan_probe",
		reason: "RFC 9293 §3.10.7.1: a bare ACK to a closed port is answered <SEQ=SEG.ACK><CTL=RST>; with ack 0 it is an ACK scan probe (nmap -sA)",
		steps: []step{
			c(fACK, 1000, 0).want(RoleACK, Established, Established, ScanProbe),
			s(fRST, 0, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Midstream,
	},
	{
		name:   "midstream_ack_is_no_probe",
		reason: "CONTRACT.md: a midstream ACK acknowledging a sequence number is traffic of a connection whose SYN was not captured",
		steps: []step{
			c(fACK, 1000, 7000).want(RoleACK, Established, Established),
		},
		verdict: Midstream,
	},
	{
		name:   "no_ack_flag_fin",
		reason: "RFC 9293 §3.1: ACK is always sent once synchronized; §3.10.7.4 fifth check drops a FIN without ACK",
		steps: []step{
			hsSYN, hsSYNACK,
			c(decode.FIN, 1001, 0).want(RoleInvalid, SynSent, SynReceived, NoAckFlag),
		},
		verdict: Malformed,
	},
	{
		name:   "synack_from_client",
		reason: "RFC 9293 §3.5, §3.10.7.3: the client sends a SYN-ACK only in a simultaneous open, answering the server's SYN with its own ISN; one with another seq answers nothing",
		steps: []step{
			hsSYN,
			c(fSYNACK, 7000, 5001).want(RoleInvalid, SynSent, Listen, SynAckFromClient),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if e := r.Evidence[0]; e.Field != FieldSeq || e.Seen != 7000 || e.Expected != 1000 {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "simultaneous_open_server_syn_not_captured",
		reason: "RFC 9293 §3.10.7.3 fourth, §3.5 Figure 7: the client's SYN-ACK <SEQ=ISS><ACK=5001> answers a server SYN the capture lacks; the server's SYN-ACK repeating ISN 5000 completes the open",
		steps: []step{
			hsSYN,
			c(fSYNACK, 1000, 5001).want(RoleSYNACK, SynReceived, Established, ServerSynNotCaptured),
			s(fSYNACK, 5000, 1001).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if !r.HasServerISN || r.ServerISN != 5000 || r.HasSYNToSYNACK && r.SYNToSYNACK > 1000*us {
				t.Errorf("server ISN %v %d, SYN→SYN-ACK %v %d", r.HasServerISN, r.ServerISN, r.HasSYNToSYNACK, r.SYNToSYNACK)
			}
		},
	},
	{
		name:   "simultaneous_open_server_syn_not_captured_changed_seq",
		reason: "RFC 9293 §3.4: the server's SYN-ACK must repeat the ISN of its SYN, which the client's SYN-ACK named (5000)",
		steps: []step{
			hsSYN,
			c(fSYNACK, 1000, 5001).want(RoleSYNACK, SynReceived, Established, ServerSynNotCaptured),
			s(fSYNACK, 6000, 1001).want(RoleFinalACK, Established, Established, SynAckChangedSeq),
		},
		verdict: Malformed,
	},
	{
		name:   "simultaneous_open_server_syn_lost_synack_first",
		reason: "RFC 9293 §3.5 Figure 7: the server's SYN-ACK and then the client's SYN-ACK repeating its ISN and acknowledging 5001: the answer to a server SYN the capture lacks",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fSYNACK, 1000, 5001).want(RoleFinalACK, Established, Established, ServerSynNotCaptured),
		},
		verdict: Complete,
	},
	{
		name:   "synack_from_client_wrong_ack_after_synack",
		reason: "RFC 9293 §3.10.7.3: after the server's SYN-ACK (ISN 5000), a client SYN-ACK acknowledging 7001 answers no SYN of the server",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fSYNACK, 1000, 7001).want(RoleInvalid, SynSent, SynReceived, SynAckFromClient),
		},
		verdict: Malformed,
	},
	{
		name:   "simultaneous_open_only_client_synack",
		reason: "CONTRACT.md: no server SYN nor SYN-ACK captured, the open never shown complete: half_open, and no server ISN is reported",
		steps: []step{
			hsSYN,
			c(fSYNACK, 1000, 5001).want(RoleSYNACK, SynReceived, Established, ServerSynNotCaptured),
		},
		verdict: HalfOpen,
		check: func(t *testing.T, r Result) {
			if r.HasServerISN || r.HasSYNToSYNACK {
				t.Errorf("server ISN %v, SYN→SYN-ACK %v: neither was captured", r.HasServerISN, r.HasSYNToSYNACK)
			}
		},
	},
	{
		name:   "completed_by_data",
		reason: "RFC 9293 §3.10.7.4: a data segment with the right seq and ack moves SYN-RECEIVED to ESTABLISHED",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fPSHACK, 1001, 5001).data(100).want(RoleFinalACK, Established, Established),
			s(fACK, 5001, 1101).want(RoleACK, Established, Established),
		},
		verdict: Complete,
	},
	{
		name:   "completed_by_fin",
		reason: "RFC 9293 §3.10.7.4: ACK processing (ESTABLISHED) happens before FIN processing (CLOSE-WAIT)",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fFINACK, 1001, 5001).want(RoleFinalACK, FinWait1, CloseWait),
		},
		verdict: Complete,
	},
	{
		name:   "simultaneous_open",
		reason: "RFC 9293 §3.5 Figure 7: both sides send SYN then SYN-ACK; complete when every number is right",
		steps: []step{
			hsSYN,
			s(fSYN, 5000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1000, 5001).want(RoleSYNACK, SynReceived, Established),
			s(fSYNACK, 5000, 1001).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.SYNACKFrame != 3 || r.ACKFrame != 4 || r.ServerISN != 5000 {
				t.Errorf("frames %d/%d, server ISN %d", r.SYNACKFrame, r.ACKFrame, r.ServerISN)
			}
		},
	},
	{
		name:   "simultaneous_open_wrong_ack",
		reason: "RFC 9293 §3.5 Figure 7 / §3.10.7.3: the client's SYN-ACK must acknowledge the server's ISN+1",
		steps: []step{
			hsSYN,
			s(fSYN, 5000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1000, 5002).want(RoleSYNACK, SynReceived, SynSent, SynAckWrongAck),
			s(fSYNACK, 5000, 1001).want(RoleSYNACK, SynReceived, SynReceived),
		},
		verdict: Malformed,
	},
	{
		name:   "simultaneous_open_wrong_seq",
		reason: "RFC 9293 §3.4: the client's SYN-ACK repeats its ISN; another seq changes the ISN",
		steps: []step{
			hsSYN,
			s(fSYN, 5000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1001, 5001).want(RoleSYNACK, SynReceived, Established, SynAckChangedSeq),
			s(fSYN, 5000, 0).want(RoleSYNACKRetransmit, SynReceived, Established),
			s(fSYN, 5555, 0).want(RoleSYNACKRetransmit, SynReceived, Established, SynAckChangedSeq),
		},
		verdict: Malformed,
	},
	{
		name:   "split_handshake",
		reason: "RFC 9293 §3.5 Figure 7 (Suricata tcp-split-handshake-01): SYN, bare SYN, SYN-ACK, ACK is a correct simultaneous open",
		steps: []step{
			c(fSYN, 1000, 0).want(RoleSYN, SynSent, Listen),
			s(fSYN, 3000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1000, 3001).want(RoleSYNACK, SynReceived, Established),
			s(fACK, 3001, 1001).want(RoleFinalACK, Established, Established),
			c(fPSHACK, 1001, 3001).data(4).want(RoleData, Established, Established),
			c(fRST, 1005, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Complete,
	},
	{
		name:   "split_handshake_5whs",
		reason: "RFC 9293 §3.10.7.3 fourth: a bare ACK answering a SYN in SYN-SENT is dropped (Suricata tcp-split-handshake-02)",
		steps: []step{
			c(fSYN, 1000, 0).want(RoleSYN, SynSent, Listen),
			s(fACK, 2000, 1001).want(RoleACK, SynSent, Listen, AckFromServer),
			s(fSYN, 3000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1000, 3001).want(RoleSYNACK, SynReceived, Established),
			s(fACK, 3001, 1001).want(RoleFinalACK, Established, Established),
		},
		verdict: Malformed,
	},
	{
		name:   "self_connect",
		reason: "RFC 9293 §3.5 Figure 7 degenerate: a socket connecting to itself; Src == Dst, roles from the flags (local-loopback capture)",
		self:   true,
		steps: []step{
			c(fSYN, 3007773806, 0).want(RoleSYN, SynSent, Listen),
			c(fSYNACK, 3007773806, 3007773807).want(RoleSYNACK, SynSent, SynReceived),
			c(fACK, 3007773807, 3007773807).want(RoleFinalACK, Established, Established),
			c(fPSHACK, 3007773807, 3007773807).data(10).want(RoleData, Established, Established),
		},
		verdict: Complete,
	},
	{
		name:   "fast_open_accepted",
		reason: "RFC 7413 §4.2.2: with a valid cookie the SYN-ACK acknowledges the SYN data",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1101).want(RoleSYNACK, SynSent, SynReceived),
			s(fPSHACK, 5001, 1101).data(200).want(RoleData, SynSent, SynReceived),
			c(fACK, 1101, 5201).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete, // the final ACK may acknowledge the server's early data: SEG.ACK =< SND.NXT
	},
	{
		name:   "fast_open_server_data_not_captured",
		reason: "RFC 7413 §4.2.2: after accepting SYN data the server may send data before the final ACK; the client acknowledges 200 bytes the capture lacks, within its SYN's window (RFC 9293 §3.10.7.4)",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1101).want(RoleSYNACK, SynSent, SynReceived),
			c(fACK, 1101, 5201).want(RoleFinalACK, Established, Established, DataNotCaptured),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if e := r.Evidence[0]; e.Field != FieldAck || e.Seen != 5201 || e.Expected != 5001 {
				t.Errorf("evidence %+v", e)
			}
		},
	},
	{
		name:   "fast_open_server_ack_past_window",
		reason: "RFC 9293 §3.10.7.4 fifth check: an ack past the client's receive window acknowledges data the server could not have sent",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).win(1000).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1101).want(RoleSYNACK, SynSent, SynReceived),
			c(fACK, 1101, 7001).want(RoleACK, Established, SynReceived, AckWrongAck),
		},
		verdict: Malformed,
	},
	{
		name:   "fast_open_synack_not_captured",
		reason: "RFC 7413 §4.2.2: a Fast Open server's data right after its SYN-ACK acknowledges the SYN's data; the SYN-ACK was not captured, the server's segment is no final ACK in the wrong direction",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).want(RoleSYN, SynSent, Listen),
			s(fPSHACK, 5001, 1101).data(200).want(RoleData, SynSent, SynReceived, AckWithoutSynAck),
			c(fACK, 1101, 5201).want(RoleACK, SynSent, SynReceived),
		},
		verdict: HalfOpen,
	},
	{
		name:   "fast_open_accepted_clean",
		reason: "RFC 7413 §4.2.2: cookie and data, SYN-ACK ack = ISN+1+len, final ACK seq = ISN+1+len",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1101).want(RoleSYNACK, SynSent, SynReceived),
			c(fACK, 1101, 5001).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.FastOpen != FastOpenDataAccepted || r.ClientOptions.CookieLen != 8 {
				t.Errorf("FastOpen %v, cookie %d", r.FastOpen, r.ClientOptions.CookieLen)
			}
		},
	},
	{
		name:   "fast_open_rejected",
		reason: "RFC 7413 §3: the server may ignore SYN data and ack only the SYN; the client resends it (Suricata 3whs_synack_tfo_data_ignored)",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1001).want(RoleSYNACK, SynSent, SynReceived, SynAckTFODataIgnored),
			c(fPSHACK, 1001, 5001).data(100).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.FastOpen != FastOpenDataRejected {
				t.Errorf("FastOpen %v", r.FastOpen)
			}
		},
	},
	{
		name:   "fast_open_cookie_request",
		reason: "RFC 7413 §4.1.1: an empty Fast Open option requests a cookie; the handshake is ordinary",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(0)).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1001).opts(tfo(8)).want(RoleSYNACK, SynSent, SynReceived),
			hsACK,
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.FastOpen != FastOpenCookieRequest || r.ServerOptions.CookieLen != 8 {
				t.Errorf("FastOpen %v, server cookie %d", r.FastOpen, r.ServerOptions.CookieLen)
			}
		},
	},
	{
		name:   "fast_open_cookie_no_synack",
		reason: "RFC 7413 §4.2.1: a cookie was sent; without a SYN-ACK its fate is unknown",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).want(RoleSYN, SynSent, Listen),
		},
		verdict: HalfOpen,
		check: func(t *testing.T, r Result) {
			if r.FastOpen != FastOpenCookie {
				t.Errorf("FastOpen %v", r.FastOpen)
			}
		},
	},
	{
		name:   "syn_data_without_fastopen",
		reason: "RFC 9293 §3.10.7.2: SYN data is legal, queued until ESTABLISHED, acked later",
		steps: []step{
			c(fSYN, 1000, 0).data(10).want(RoleSYN, SynSent, Listen, SynDataWithoutFastOpen),
			s(fSYNACK, 5000, 1001).want(RoleSYNACK, SynSent, SynReceived, SynAckTFODataIgnored),
			c(fACK, 1011, 5001).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
	},
	{
		name:   "midstream_data",
		reason: "CONTRACT.md midstream: traffic of a connection whose SYN was not captured",
		steps: []step{
			c(fPSHACK, 7000, 9000).data(10).want(RoleData, Established, Established),
			s(fACK, 9000, 7010).want(RoleACK, Established, Established),
			c(fSYNACK, 7000, 9000).want(RoleSYNACK, Established, SynReceived),
		},
		verdict: Midstream,
		check: func(t *testing.T, r Result) {
			// run checks Event.FromClient: true, false for the first two
			// steps (before the flip), false for the flipping SYN-ACK.
			if !r.Flipped || r.ServerPackets != 2 || r.ClientPackets != 1 || !r.HasServerISN || r.HasClientISN {
				t.Errorf("flipped %v, packets c%d s%d, ISNs %v/%v", r.Flipped, r.ClientPackets, r.ServerPackets, r.HasClientISN, r.HasServerISN)
			}
		},
	},
	{
		name:   "synack_first",
		reason: "CONTRACT.md midstream: a SYN-ACK without its SYN; the client is the side it was sent to",
		steps: []step{
			s(fSYNACK, 5000, 1001).want(RoleSYNACK, Established, SynReceived),
			c(fACK, 1001, 5001).want(RoleACK, Established, Established),
			s(fSYNACK, 5000, 1001).want(RoleSYNACKRetransmit, Established, Established),
		},
		verdict: Midstream,
		check: func(t *testing.T, r Result) {
			if r.Flipped || !r.HasServerISN || r.ServerISN != 5000 || r.HasClientISN {
				t.Errorf("%+v", r)
			}
		},
	},
	{
		name:   "midstream_then_syn",
		reason: "RFC 9293 §3.4: a SYN opens a new sequence space, so it starts a new attempt after midstream traffic",
		steps: []step{
			c(fACK, 7000, 9000).want(RoleACK, Established, Established),
			c(fSYN, 1000, 0).newAttempt().want(RoleSYN, SynSent, Listen),
		},
		earlier: []Verdict{Midstream},
		verdict: HalfOpen,
	},
	{
		name:   "new_isn_while_half_open",
		reason: "RFC 9293 §3.4: a SYN with a new ISN is a new connection attempt; the first stays half_open",
		steps: []step{
			hsSYN,
			c(fSYN, 2000, 0).newAttempt().want(RoleSYN, SynSent, Listen),
		},
		earlier: []Verdict{HalfOpen},
		verdict: HalfOpen,
	},
	{
		name:   "new_isn_after_synack",
		reason: "RFC 9293 §3.4: the client abandoned the attempt answered by a SYN-ACK and tries a new ISN",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fSYN, 2000, 0).newAttempt().want(RoleSYN, SynSent, Listen),
		},
		earlier: []Verdict{HalfOpen},
		verdict: HalfOpen,
	},
	{
		name:   "port_reuse_after_fin",
		reason: "RFC 9293 §3.4, §3.6: after both FINs the 4-tuple may carry a new connection with a new ISN",
		steps: hs(
			c(fFINACK, 1001, 5001).want(RoleFIN, FinWait1, CloseWait),
			s(fFINACK, 5001, 1002).want(RoleFIN, TimeWait, LastAck),
			c(fACK, 1002, 5002).want(RoleACK, TimeWait, Closed),
			c(fSYN, 90000, 0).newAttempt().want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 70000, 90001).want(RoleSYNACK, SynSent, SynReceived),
			c(fACK, 90001, 70001).want(RoleFinalACK, Established, Established),
		),
		earlier: []Verdict{Complete},
		verdict: Complete,
	},
	{
		name:   "reverse_reuse_after_refusal",
		reason: "RFC 9293 §3.4: after a decided attempt a SYN from the other side opens a new connection",
		steps: []step{
			hsSYN,
			s(fRSTACK, 0, 1001).want(RoleRST, Closed, Closed),
			c(fSYN, 1000, 0).want(RoleSYNRetransmit, Closed, Closed),
			s(fSYN, 8000, 0).newAttempt().want(RoleSYN, SynSent, Listen),
			c(fSYNACK, 1, 8001).want(RoleSYNACK, SynSent, SynReceived),
		},
		earlier: []Verdict{Refused},
		verdict: HalfOpen,
	},
	{
		name:   "ecn_setup",
		reason: "RFC 3168 §6.1.1: ECN-setup SYN (ECE+CWR) and SYN-ACK (ECE) are legal; CONTRACT.md",
		steps: []step{
			c(fSYN|decode.ECE|decode.CWR, 1000, 0).want(RoleSYN, SynSent, Listen),
			s(fSYNACK|decode.ECE, 5000, 1001).want(RoleSYNACK, SynSent, SynReceived),
			hsACK,
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if !r.ECN {
				t.Error("ECN not negotiated")
			}
		},
	},
	{
		name:   "client_rst_after_synack",
		reason: "CONTRACT.md: a client RST after a correct SYN-ACK (RFC 9293 §3.10.7.1 <SEQ=SEG.ACK><CTL=RST>) leaves half_open",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fRST, 1001, 0).want(RoleRST, Closed, Closed),
		},
		verdict: HalfOpen,
		check: func(t *testing.T, r Result) {
			if r.Close != ClientRST {
				t.Errorf("Close = %v", r.Close)
			}
		},
	},
	{
		name:   "server_rst_after_synack",
		reason: "RFC 5961 §3.2: an RST with seq = RCV.NXT is acceptable; the SYN was answered, so not refused",
		steps: []step{
			hsSYN, hsSYNACK,
			s(fRST, 5001, 0).want(RoleRST, Closed, Closed),
		},
		verdict: HalfOpen,
	},
	{
		name:   "client_rst_wrong_seq",
		reason: "RFC 5961 §3.2: an RST whose seq is not RCV.NXT is not acceptable (blind reset); informational",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fRST, 1234, 0).want(RoleRST, SynSent, SynReceived, RstWrongSeq),
		},
		verdict: HalfOpen,
	},
	{
		name: "server_rst_answers_unacceptable_ack",
		reason: "RFC 9293 §3.10.7.4 SYN-RECEIVED fifth check: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>; that seq is " +
			"the client's RCV.NXT, so the client accepts it (RFC 5961 §3.2) and the attempt is closed, without rst_wrong_seq " +
			"(gopacket/cip.pcap, a replayed client acknowledging a server ISN never sent)",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fACK, 1001, 9001).want(RoleACK, Established, SynReceived, AckWrongAck),
			c(fPSHACK, 1001, 9001).data(385).want(RoleData, Established, SynReceived, AckWrongAck),
			s(fRST, 9001, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if r.Close != ServerRST || r.Has(RstWrongSeq) {
				t.Errorf("Close %v, evidence %v", r.Close, r.Evidence)
			}
		},
	},
	{
		name: "server_rst_answers_ack_before_synack",
		reason: "RFC 9293 §3.10.7.2 LISTEN (any ACK is bad) and §3.10.7.4: the ack of the client's ACK sent before any " +
			"SYN-ACK is remembered, so the server's <SEQ=SEG.ACK><CTL=RST> after its SYN-ACK is the prescribed reply",
		steps: []step{
			hsSYN,
			c(fACK, 1001, 9001).want(RoleACK, SynSent, SynReceived, AckWithoutSynAck),
			s(fSYNACK, 5000, 1001).want(RoleSYNACK, SynSent, SynReceived),
			s(fRST, 9001, 0).want(RoleRST, Closed, Closed),
		},
		verdict: HalfOpen,
	},
	{
		name: "server_rst_other_seq_after_unacceptable_ack",
		reason: "RFC 5961 §3.2: an RST whose seq is neither RCV.NXT nor the ack of an unacceptable segment the client sent " +
			"is not acceptable; informational, the attempt stays open",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fACK, 1001, 9001).want(RoleACK, Established, SynReceived, AckWrongAck),
			s(fRST, 9002, 0).want(RoleRST, Established, SynReceived, RstWrongSeq),
		},
		verdict: Malformed,
	},
	{
		name: "client_rst_answers_changed_synack_ack",
		reason: "RFC 9293 §3.10.7.3 SYN-SENT: a SYN-ACK whose ack is unacceptable gets <SEQ=SEG.ACK><CTL=RST>, also when it " +
			"is a resent SYN-ACK with another ack",
		steps: []step{
			hsSYN, hsSYNACK,
			s(fSYNACK, 5000, 1007).want(RoleSYNACKRetransmit, SynSent, SynReceived, SynAckChangedAck),
			c(fRST, 1007, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Malformed,
	},
	{
		name: "client_rst_answers_split_handshake_ack",
		reason: "RFC 9293 §3.10.7.4 SYN-RECEIVED fifth check, in the other direction: the server's final ACK of a split " +
			"handshake with an unacceptable ack gets <SEQ=SEG.ACK><CTL=RST> from the client",
		steps: []step{
			hsSYN,
			s(fSYN, 3000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1000, 3001).want(RoleSYNACK, SynReceived, Established),
			s(fACK, 3001, 1500).want(RoleACK, SynReceived, Established, AckWrongAck),
			c(fRST, 1500, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Malformed,
	},
	{
		name: "server_rst_answers_client_synack",
		reason: "RFC 9293 §3.10.7.4 SYN-RECEIVED fifth check: the server of a simultaneous open answers the client's SYN-ACK " +
			"with an unacceptable ack by <SEQ=SEG.ACK><CTL=RST>; it answers that SYN-ACK, not the SYN, so it is not " +
			"rst_without_ack (§3.10.7.3)",
		steps: []step{
			hsSYN,
			s(fSYN, 3000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1000, 3500).want(RoleSYNACK, SynReceived, SynSent, SynAckWrongAck),
			s(fRST, 3500, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if r.Has(RstWithoutAck) || r.Close != ServerRST {
				t.Errorf("Close %v, evidence %v", r.Close, r.Evidence)
			}
		},
	},
	{
		name: "unacceptable_acks_bounded",
		reason: "the acks of unacceptable segments are remembered per side up to maxBadAcks (2) distinct values, the latest; " +
			"an RST answering an older one falls back to RFC 5961 §3.2",
		steps: []step{
			hsSYN, hsSYNACK,
			c(fACK, 1001, 7001).want(RoleACK, Established, SynReceived, AckWrongAck),
			c(fACK, 1001, 7002).want(RoleACK, Established, SynReceived, AckWrongAck),
			c(fACK, 1001, 7002).want(RoleACK, Established, SynReceived, AckWrongAck),
			c(fACK, 1001, 7003).want(RoleACK, Established, SynReceived, AckWrongAck),
			s(fRST, 7001, 0).want(RoleRST, Established, SynReceived, RstWrongSeq),
			s(fRST, 7002, 0).want(RoleRST, Closed, Closed),
		},
		verdict: Malformed,
	},
	{
		name:   "client_aborts_syn",
		reason: "RFC 9293 §3.10.4 ABORT in SYN-SENT: an RST from the client with no SYN-ACK closes the attempt",
		steps: []step{
			hsSYN,
			c(fRST, 1001, 0).want(RoleRST, Closed, Closed),
		},
		verdict: HalfOpen,
	},
	{
		name:   "icmp_after_syn",
		reason: "CONTRACT.md / RFC 9293 §3.9.1 MUST-56: an ICMP error is a soft error in SYN-SENT, not a refusal",
		steps: []step{
			hsSYN,
			c(fSYN, 1000, 0).asICMP().want(RoleICMP, SynSent, Listen, ICMPError),
		},
		verdict: HalfOpen,
	},
	{
		name:   "ack_field_without_ack_flag",
		reason: "RFC 9293 §3.1: the ack field is meaningful only with ACK; CONTRACT.md: not an error",
		steps: []step{
			c(fSYN, 1000, 12345).want(RoleSYN, SynSent, Listen, AckSetWithoutFlag),
			hsSYNACK, hsACK,
		},
		verdict: Complete,
	},
	{
		name:   "mss_zero",
		reason: "RFC 9293 §3.7.1 / RFC 6691: an MSS of 0 is useless but not a handshake error",
		steps: []step{
			c(fSYN, 1000, 0).opts(decode.Options{Present: decode.OptMSS}).want(RoleSYN, SynSent, Listen, MSSZero),
			hsSYNACK, hsACK,
		},
		verdict: Complete,
	},
	{
		name:   "window_scale_15",
		reason: "RFC 7323 §2.3: a shift above 14 is logged and used as 14",
		steps: []step{
			c(fSYN, 1000, 0).opts(ws(15)).want(RoleSYN, SynSent, Listen, WindowScaleTooLarge),
			s(fSYNACK, 5000, 1001).opts(ws(7)).want(RoleSYNACK, SynSent, SynReceived),
			hsACK,
		},
		verdict: Complete,
	},
	{
		name:   "synack_unsolicited_options",
		reason: "RFC 7323 §2.2, §3.2: window scale and timestamps in a SYN-ACK only if the SYN had them",
		steps: []step{
			hsSYN,
			s(fSYNACK, 5000, 1001).opts(decode.Options{Present: decode.OptWindowScale | decode.OptTimestamps, WindowScale: 7}).
				want(RoleSYNACK, SynSent, SynReceived, SynAckUnsolicitedOption, SynAckUnsolicitedOption),
			hsACK,
		},
		verdict: Complete,
	},
	{
		name:   "ts_echo_mismatch",
		reason: "RFC 7323 §4.3: the SYN-ACK's TSecr echoes the SYN's TSval",
		steps: []step{
			c(fSYN, 1000, 0).opts(ts(100, 0)).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1001).opts(ts(900, 99)).want(RoleSYNACK, SynSent, SynReceived, TSEchoMismatch),
			hsACK,
		},
		verdict: Complete,
	},
	{
		name:   "synack_resent_different_seq",
		reason: "RFC 9293 §3.4: a resent SYN-ACK keeps its ISN (Suricata 3whs_synack_resend_with_diff_seq)",
		steps: []step{
			hsSYN, hsSYNACK,
			s(fSYNACK, 6000, 1001).want(RoleSYNACKRetransmit, SynSent, SynReceived, SynAckChangedSeq),
		},
		verdict: Malformed,
	},
	{
		name:   "synack_resent_different_ack",
		reason: "RFC 9293 §3.10.7.4: a resent SYN-ACK acknowledges the same SYN (Suricata 3whs_synack_resend_with_diff_ack)",
		steps: []step{
			c(fSYN, 1000, 0).data(5).want(RoleSYN, SynSent, Listen, SynDataWithoutFastOpen),
			s(fSYNACK, 5000, 1006).want(RoleSYNACK, SynSent, SynReceived),
			s(fSYNACK, 5000, 1001).want(RoleSYNACKRetransmit, SynSent, SynReceived, SynAckChangedAck),
		},
		verdict: Malformed,
	},
	{
		name:   "ack_without_synack",
		reason: "RFC 9293 §3.5 Figure 6: the ACK answers a SYN-ACK; none captured, so the attempt stays half_open",
		steps: []step{
			hsSYN,
			c(fACK, 1001, 5001).want(RoleACK, SynSent, SynReceived, AckWithoutSynAck),
			c(fPSHACK, 1001, 5001).data(100).want(RoleData, SynSent, SynReceived),
			c(fPSHACK, 1101, 5001).data(100).want(RoleData, SynSent, SynReceived),
		},
		verdict: HalfOpen,
	},
	{
		name:   "rst_answering_ack_without_synack",
		reason: "RFC 9293 §3.10.7.1: an RST answering the client's ACK segment carries no ACK; it is not an answer to the SYN",
		steps: []step{
			hsSYN,
			c(fACK, 1001, 5001).want(RoleACK, SynSent, SynReceived, AckWithoutSynAck),
			s(fRST, 5001, 0).want(RoleRST, Closed, Closed),
		},
		verdict: HalfOpen,
	},
	{
		name:   "ack_without_synack_wrong_seq",
		reason: "RFC 9293 §3.10.7.4 first check, RFC 7323 §2.2: without a captured SYN-ACK the client's first ACK lies within ISN+1 … ISN+1+65535, the largest window a SYN-ACK can offer",
		steps: []step{
			hsSYN,
			c(fACK, 67537, 5001).want(RoleACK, SynSent, SynReceived, AckWrongSeq, AckWithoutSynAck),
		},
		verdict: Malformed,
	},
	{
		name:   "ack_without_synack_seq_in_window",
		reason: "RFC 9293 §3.10.7.4 first check: SYN-ACK and final ACK not captured, the client's data at ISN+1+2506 is in any window the SYN-ACK offered",
		steps: []step{
			hsSYN,
			c(fPSHACK, 3507, 5001).data(100).want(RoleData, SynSent, SynReceived, DataNotCaptured, AckWithoutSynAck),
		},
		verdict: HalfOpen,
	},
	{
		name:   "synack_not_captured_server_data",
		reason: "RFC 9293 §3.10.7.3: the client's ACK of 5001 shows it processed a SYN-ACK the capture lacks; the server's data is that connection's, not a final ACK in the wrong direction (synack-not-captured.pcap)",
		steps: []step{
			hsSYN,
			c(fACK, 1001, 5001).want(RoleACK, SynSent, SynReceived, AckWithoutSynAck),
			s(fPSHACK, 5001, 1001).data(200).want(RoleData, SynSent, SynReceived),
			c(fPSHACK, 1001, 5201).data(50).want(RoleData, SynSent, SynReceived),
			s(fACK, 5201, 1051).want(RoleACK, SynSent, SynReceived),
			s(fRSTACK, 5201, 1051).want(RoleRST, Closed, Closed),
		},
		verdict: HalfOpen,
	},
	{
		name:   "server_ack_before_client_evidence",
		reason: "RFC 9293 §3.10.7.3 fourth: with neither a SYN-ACK nor a client ACK captured, a server ACK is still a final ACK in the wrong direction",
		steps: []step{
			hsSYN,
			s(fPSHACK, 5001, 1001).data(20).want(RoleData, SynSent, Listen, AckFromServer),
		},
		verdict: Malformed,
	},
	{
		name:   "invalid_option_length",
		reason: "RFC 9293 §3.2 MUST-7: an illegal option length should reset the connection",
		steps: []step{
			c(fSYN, 1000, 0).opts(decode.Options{Present: decode.OptBad, BadKind: 8}).want(RoleSYN, SynSent, Listen, InvalidOptionLength),
			hsSYNACK, hsACK,
		},
		verdict: Malformed,
	},
	{
		name:   "checksum_bad",
		reason: "CONTRACT.md: wrong checksums (offload) do not change a verdict",
		steps: []step{
			hsSYN.badSum().want(RoleSYN, SynSent, Listen, ChecksumBad),
			hsSYNACK, hsACK,
		},
		verdict: Complete,
	},
	{
		name:   "fragment_overlap",
		reason: "RFC 1858 §4, RFC 5722: a SYN reassembled from fragments overlapping with different bytes is informational",
		steps: []step{
			hsSYN.fragged(decode.FragOverlap).want(RoleSYN, SynSent, Listen, FragmentOverlap),
			hsSYNACK, hsACK,
		},
		verdict: Complete,
	},
	{
		name:   "tiny_fragment",
		reason: "RFC 1858 §3: a SYN whose first fragment split the TCP header; the final ACK in plain fragments raises nothing",
		steps: []step{
			hsSYN.fragged(decode.FragTiny).want(RoleSYN, SynSent, Listen, TinyFragment),
			hsSYNACK, hsACK.fragged(0),
		},
		verdict: Complete,
	},
	{
		name:   "capture_reordered",
		reason: "RFC 9293 §3.5: replayed in protocol order, a SYN-ACK captured before its SYN still completes",
		steps: []step{
			hsSYN.atUS(300).reordered().want(RoleSYN, SynSent, Listen, CaptureReordered),
			hsSYNACK.atUS(1),
			hsACK.atUS(400),
		},
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.HasSYNToSYNACK {
				t.Errorf("negative SYNToSYNACK %d reported", r.SYNToSYNACK)
			}
		},
	},
	{
		name:   "teardown_server_first",
		reason: "RFC 9293 §3.6 Figure 12: normal close initiated by the server",
		steps: hs(
			s(fFINACK, 5001, 1001).want(RoleFIN, CloseWait, FinWait1),
			c(fACK, 1001, 5002).want(RoleACK, CloseWait, FinWait2),
			c(fFINACK, 1001, 5002).want(RoleFIN, LastAck, TimeWait),
		),
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.Close != ServerFIN {
				t.Errorf("Close = %v", r.Close)
			}
		},
	},
	{
		name:   "simultaneous_close",
		reason: "RFC 9293 §3.6 Figure 13: both FINs cross, both pass through CLOSING to TIME-WAIT",
		steps: hs(
			c(fFINACK, 1001, 5001).want(RoleFIN, FinWait1, CloseWait),
			s(fFINACK, 5001, 1001).want(RoleFIN, Closing, LastAck),
			c(fACK, 1002, 5002).want(RoleACK, Closing, Closed),
			s(fACK, 5002, 1002).want(RoleACK, TimeWait, Closed),
		),
		verdict: Complete,
	},
	{
		name:   "after_complete_not_judged",
		reason: "CONTRACT.md: only the handshake is judged; what follows completion never changes complete",
		steps: hs(
			c(fACK, 1001, 5001).want(RoleDuplicateACK, Established, Established),
			c(0, 1, 2).want(RoleACK, Established, Established),
			c(fSYN, 1000, 0).want(RoleSYNRetransmit, Established, Established),
			s(fSYNACK, 5000, 1001).want(RoleSYNACKRetransmit, Established, Established),
			s(fRSTACK, 77, 1).want(RoleRST, Closed, Closed),
		),
		verdict: Complete,
		check: func(t *testing.T, r Result) {
			if r.DuplicateACKs != 1 || r.SYNRetransmits != 1 || r.SYNACKRetransmits != 1 || r.Close != ServerRST {
				t.Errorf("dup %d syn %d synack %d close %v", r.DuplicateACKs, r.SYNRetransmits, r.SYNACKRetransmits, r.Close)
			}
		},
	},
	{
		name:   "server_data_before_final_ack",
		reason: "RFC 7413 §4.2.2: a server in SYN-RECEIVED may send data after accepting Fast Open data",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1101).want(RoleSYNACK, SynSent, SynReceived),
			s(fPSHACK, 5001, 1101).data(200).want(RoleData, SynSent, SynReceived),
			c(fACK, 1101, 5001).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
	},
	{
		name: "server_segments_after_synack_not_judged",
		reason: "RFC 9293 §3.10.7.3: the client that processed the SYN-ACK is ESTABLISHED and takes later server segments by the " +
			"§3.10.7.4 ESTABLISHED rules; the server's handshake segment is its SYN-ACK, so its ACKs and data are never judged as a final ACK",
		steps: []step{
			hsSYN, hsSYNACK,
			s(fACK, 5001, 1500).want(RoleACK, SynSent, SynReceived),
			s(fPSHACK, 7000, 1001).data(20).want(RoleData, SynSent, SynReceived),
			s(fPSHACK, 5001, 1001).data(20).want(RoleData, SynSent, SynReceived),
			c(fACK, 1001, 5021).want(RoleFinalACK, Established, Established),
		},
		verdict: Complete,
	},
	{
		name: "synack_changed_seq_client_accepts_second",
		reason: "RFC 9293 §3.4: one ISN per connection, so the second SYN-ACK ISN is fatal; §3.10.7.3: the client takes IRS from the " +
			"SYN-ACK it processes and acknowledges IRS+1, so its ACK completes the handshake against that ISN and what follows is " +
			"not a handshake segment (suricata-verify tcp-fastopen-10-syn-data-ignore)",
		steps: []step{
			c(fSYN, 1000, 0).opts(tfo(8)).data(100).want(RoleSYN, SynSent, Listen),
			s(fSYNACK, 5000, 1001).want(RoleSYNACK, SynSent, SynReceived, SynAckTFODataIgnored),
			c(fSYN, 1000, 0).want(RoleSYNRetransmit, SynSent, SynReceived),
			s(fSYNACK, 9000, 1001).want(RoleSYNACKRetransmit, SynSent, SynReceived, SynAckChangedSeq),
			s(fSYNACK, 5000, 1001).want(RoleSYNACKRetransmit, SynSent, SynReceived),
			s(fSYNACK, 9000, 1001).want(RoleSYNACKRetransmit, SynSent, SynReceived, SynAckChangedSeq),
			c(fPSHACK, 1001, 9001).data(100).want(RoleFinalACK, Established, Established),
			s(fSYNACK, 9000, 1001).want(RoleSYNACKRetransmit, Established, Established),
			c(fACK, 1101, 9001).want(RoleACK, Established, Established),
			s(fACK, 9001, 1101).want(RoleACK, Established, Established),
			c(fPSHACK, 1101, 9001).data(50).want(RoleData, Established, Established),
			s(fFINACK, 9001, 1151).want(RoleFIN, CloseWait, FinWait1),
			c(fFINACK, 1151, 9001).want(RoleFIN, LastAck, Closing),
			c(fRST, 1152, 0).want(RoleRST, Closed, Closed),
			s(fSYNACK, 5000, 1001).want(RoleSYNACKRetransmit, Closed, Closed),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			var codes []Code
			for _, a := range r.Evidence {
				codes = append(codes, a.Code)
			}
			want := []Code{SynAckTFODataIgnored, SynAckChangedSeq, SynAckChangedSeq}
			if !slices.Equal(codes, want) || r.ServerISN != 9000 || r.ACKFrame != 7 || r.SYNACKFrame != 2 || r.Close != ClientRST {
				t.Errorf("evidence %v, server ISN %d, frames %d/%d, close %v", codes, r.ServerISN, r.SYNACKFrame, r.ACKFrame, r.Close)
			}
		},
	},
	{
		name: "synack_changed_seq_client_accepts_first",
		reason: "RFC 9293 §3.4: the changed SYN-ACK is fatal whichever ISN the client takes; §3.10.7.3: acknowledging the first ISN " +
			"completes against it, and an ack of neither is wrong (§3.10.7.4 fifth check)",
		steps: []step{
			hsSYN, hsSYNACK,
			s(fSYNACK, 9000, 1001).want(RoleSYNACKRetransmit, SynSent, SynReceived, SynAckChangedSeq),
			c(fACK, 1001, 7777).want(RoleACK, Established, SynReceived, AckWrongAck),
			c(fACK, 1001, 5001).want(RoleFinalACK, Established, Established),
		},
		verdict: Malformed,
		check: func(t *testing.T, r Result) {
			if r.ServerISN != 5000 || r.Evidence[1].Expected != 5001 {
				t.Errorf("server ISN %d, evidence %v", r.ServerISN, r.Evidence)
			}
		},
	},
	{
		name:   "split_handshake_server_ack_wrong_seq",
		reason: "RFC 9293 §3.10.7.4 first check: the server's ACK in a split handshake must carry its ISN+1",
		steps: []step{
			hsSYN,
			s(fSYN, 3000, 0).want(RoleSimultaneousSYN, SynSent, SynSent),
			c(fSYNACK, 1000, 3001).want(RoleSYNACK, SynReceived, Established),
			s(fACK, 3005, 1001).want(RoleACK, SynReceived, Established, AckWrongSeq),
			c(fSYNACK, 1000, 3001).want(RoleSYNACKRetransmit, SynReceived, Established),
			c(fSYNACK, 1000, 3002).want(RoleSYNACKRetransmit, SynReceived, Established, SynAckChangedAck),
		},
		verdict: Malformed,
	},
}

// run feeds sc to fresh machines and returns every event and the results of
// the attempts in order. It reports mismatches through t when t is not nil.
func run(t *testing.T, sc scenario) (events []Event, results []Result) {
	client, server := cli4, srv4
	switch {
	case sc.v6:
		client, server = cli6, srv6
	case sc.self:
		client, server = loop, loop
	}
	var m Machine
	var now int64 = 1_700_000_000_000_000_000
	aIsClient := true // whether the machine's client is the address steps call client
	flipped := false  // whether the current attempt's roles were swapped
	for i, st := range sc.steps {
		at := now + 100*us
		if st.at != 0 || i == 0 {
			at = 1_700_000_000_000_000_000 + st.at
		}
		now = at
		seg := decode.Segment{
			Timestamp: at, Frame: uint64(i + 1), Seq: decode.Seq(st.seq), Ack: decode.Seq(st.ack),
			Flags: st.flags, PayloadLen: st.n, Options: st.opt, Window: 65535,
			Src: client, Dst: server,
		}
		if st.wnd != 0 {
			seg.Window = st.wnd
		}
		if !st.client {
			seg.Src, seg.Dst = server, client
		}
		if st.bad {
			seg.Checksum = decode.ChecksumBad
		}
		seg.IPFrag = st.frag
		var ev Event
		switch {
		case st.icmp:
			ev = m.ICMP(&seg, decode.ICMPError{From: server.Addr(), Type: 3, Code: 3}, st.client == aIsClient)
		default:
			before := len(m.evidence())
			if st.reorder {
				m.NoteReordered(&seg)
			}
			ev = m.Step(&seg, st.client == aIsClient)
			if st.reorder {
				ev.Anomalies = m.evidence()[before:]
			}
			if ev.NewAttempt {
				if t != nil && !st.fresh {
					t.Errorf("step %d: unexpected NewAttempt", i+1)
				}
				if ev.Role != RoleNone || ev.Anomalies != nil {
					t.Errorf("step %d: NewAttempt with role %v, anomalies %v", i+1, ev.Role, ev.Anomalies)
				}
				events = append(events, ev)
				results = append(results, m.Result())
				m = Machine{}
				aIsClient, flipped = st.client, false // the new attempt's client sent its SYN
				ev = m.Step(&seg, true)
				if ev.NewAttempt {
					t.Fatalf("step %d: a fresh machine returned NewAttempt", i+1)
				}
			} else if t != nil && st.fresh {
				t.Errorf("step %d: NewAttempt not reported", i+1)
			}
		}
		events = append(events, ev)
		if t == nil {
			continue
		}
		// Event.FromClient: the caller's direction, in the roles known
		// after the segment; on a self-connect only a SYN-ACK is the server's.
		flipped = flipped || ev.Flipped
		wantFrom := st.client == aIsClient != flipped
		if sc.self {
			wantFrom = st.flags&fSYNACK != fSYNACK
		}
		if ev.FromClient != wantFrom {
			t.Errorf("step %d: FromClient %v, want %v", i+1, ev.FromClient, wantFrom)
		}
		var got []Code
		for _, a := range ev.Anomalies {
			got = append(got, a.Code)
		}
		if !slices.Equal(got, st.codes) || ev.Role != st.role || ev.Client != st.cs || ev.Server != st.ss {
			t.Errorf("step %d (%v seq=%d ack=%d):\n got %v %v/%v %v\nwant %v %v/%v %v",
				i+1, st.flags, st.seq, st.ack, ev.Role, ev.Client, ev.Server, got, st.role, st.cs, st.ss, st.codes)
		}
	}
	results = append(results, m.Result())
	return events, results
}

func TestScenarios(t *testing.T) {
	names := map[string]bool{}
	for _, sc := range scenarios {
		if sc.reason == "" {
			t.Fatalf("scenario %q: reason must be provided", sc.name)
		}
		if names[sc.name] {
			t.Fatalf("scenario %q: duplicate name", sc.name)
		}
		names[sc.name] = true
		t.Run(sc.name, func(t *testing.T) {
			_, results := run(t, sc)
			var got []Verdict
			for _, r := range results {
				got = append(got, r.Verdict)
			}
			want := append(slices.Clone(sc.earlier), sc.verdict)
			if !slices.Equal(got, want) {
				t.Errorf("verdicts %v, want %v (reason: %s)", got, want, sc.reason)
			}
			last := results[len(results)-1]
			checkInvariants(t, last)
			if sc.check != nil {
				sc.check(t, last)
			}
		})
	}
}

// checkInvariants holds for every Result.
func checkInvariants(t *testing.T, r Result) {
	t.Helper()
	fatal := false
	for _, a := range r.Evidence {
		if !a.Code.Valid() {
			t.Errorf("invalid code in evidence: %v", a)
		}
		fatal = fatal || a.Code.Fatal()
	}
	if fatal != (r.Verdict == Malformed) {
		t.Errorf("verdict %v with fatal evidence %v: %v", r.Verdict, fatal, r.Evidence)
	}
	if (r.Verdict == Complete || r.Verdict == Refused) && !r.HasClientISN {
		t.Errorf("verdict %v without a SYN", r.Verdict)
	}
	if r.Verdict >= numVerdicts {
		t.Errorf("verdict %d out of range", r.Verdict)
	}
}

// TestCoverage fails when a Code, State, Role or Verdict is reached by no
// scenario.
func TestCoverage(t *testing.T) {
	codes, states, roles, verdicts := map[Code]bool{}, map[State]bool{}, map[Role]bool{}, map[Verdict]bool{}
	var zero Machine
	r0 := zero.Result()
	states[r0.ClientState], states[r0.ServerState] = true, true
	for _, sc := range scenarios {
		events, results := run(nil, sc)
		for _, ev := range events {
			roles[ev.Role], states[ev.Client], states[ev.Server] = true, true, true
			for _, a := range ev.Anomalies {
				codes[a.Code] = true
			}
		}
		for _, r := range results {
			verdicts[r.Verdict] = true
		}
	}
	for _, c := range Codes() {
		if !codes[c] && c != DecidedEarly { // raised by reassembly's memory bound
			t.Errorf("code %v is produced by no scenario", c)
		}
	}
	for _, s := range States() {
		if !states[s] {
			t.Errorf("state %v is reached by no scenario", s)
		}
	}
	for r := range numRoles {
		if !roles[r] {
			t.Errorf("role %v is reached by no scenario", r)
		}
	}
	for _, v := range Verdicts() {
		if !verdicts[v] {
			t.Errorf("verdict %v is reached by no scenario", v)
		}
	}
}

func TestStrings(t *testing.T) {
	verdicts := map[Verdict]string{
		Complete: "complete", HalfOpen: "half_open", Refused: "refused", Malformed: "malformed", Midstream: "midstream",
	}
	if len(verdicts) != int(numVerdicts) {
		t.Fatalf("pinned %d verdicts, have %d", len(verdicts), numVerdicts)
	}
	for v, want := range verdicts {
		b, err := v.MarshalText()
		if err != nil || string(b) != want || v.String() != want {
			t.Errorf("%d: %q %v %q, want %q", v, b, err, v.String(), want)
		}
		if p, err := ParseVerdict(want); err != nil || p != v {
			t.Errorf("ParseVerdict(%q) = %v, %v", want, p, err)
		}
	}
	if _, err := ParseVerdict("open"); err == nil {
		t.Error("ParseVerdict accepted an unknown word")
	}
	if _, err := Verdict(200).MarshalText(); err == nil {
		t.Error("invalid verdict marshalled")
	}

	codes := map[Code]string{
		SynAckWrongAck: "synack_wrong_ack", SynAckChangedSeq: "synack_changed_seq", SynAckChangedAck: "synack_changed_ack",
		SynAckFromClient: "synack_from_client", AckWrongSeq: "ack_wrong_seq", AckWrongAck: "ack_wrong_ack",
		AckFromServer: "ack_from_server", RstWithoutAck: "rst_without_ack", RstWrongAck: "rst_wrong_ack",
		SynFin: "syn_fin", SynRst: "syn_rst", NullFlags: "null_flags", XmasFlags: "xmas_flags", NoAckFlag: "no_ack_flag",
		InvalidOptionLength: "invalid_option_length", AckSetWithoutFlag: "ack_set_without_flag",
		SynDataWithoutFastOpen: "syn_data_without_fastopen", SynAckTFODataIgnored: "synack_tfo_data_ignored",
		MSSZero: "mss_zero", WindowScaleTooLarge: "window_scale_too_large", SynAckUnsolicitedOption: "synack_unsolicited_option",
		TSEchoMismatch: "ts_echo_mismatch", AckWithoutSynAck: "ack_without_synack", RstWrongSeq: "rst_wrong_seq",
		ICMPError: "icmp_error", ChecksumBad: "checksum_bad", CaptureReordered: "capture_reordered",
		DataNotCaptured: "data_not_captured", ScanProbe: "scan_probe", DecidedEarly: "decided_early",
		FragmentOverlap: "fragment_overlap", TinyFragment: "tiny_fragment", ServerSynNotCaptured: "server_syn_not_captured",
	}
	if len(codes) != len(Codes()) {
		t.Fatalf("pinned %d codes, have %d", len(codes), len(Codes()))
	}
	fatal := map[Code]bool{SynAckWrongAck: true, SynAckChangedSeq: true, SynAckChangedAck: true, SynAckFromClient: true,
		AckWrongSeq: true, AckWrongAck: true, AckFromServer: true, RstWithoutAck: true, RstWrongAck: true, SynFin: true,
		SynRst: true, NullFlags: true, XmasFlags: true, NoAckFlag: true, InvalidOptionLength: true}
	for c, want := range codes {
		b, err := c.MarshalText()
		if err != nil || string(b) != want || c.String() != want {
			t.Errorf("%d: %q %v, want %q", c, b, err, want)
		}
		var p Code
		if err := p.UnmarshalText([]byte(want)); err != nil || p != c {
			t.Errorf("UnmarshalText(%q) = %v, %v", want, p, err)
		}
		if c.Fatal() != fatal[c] {
			t.Errorf("%v: Fatal() = %v", c, c.Fatal())
		}
		if c.RFC() == "" {
			t.Errorf("%v: no RFC clause", c)
		}
	}
	if Code(0).Valid() || Code(0).Fatal() || Code(0).RFC() != "" {
		t.Error("the zero Code is valid")
	}
	if _, err := Code(0).MarshalText(); err == nil {
		t.Error("zero Code marshalled")
	}

	states := map[State]string{Closed: "CLOSED", Listen: "LISTEN", SynSent: "SYN_SENT", SynReceived: "SYN_RCVD",
		Established: "ESTABLISHED", FinWait1: "FIN_WAIT_1", FinWait2: "FIN_WAIT_2", CloseWait: "CLOSE_WAIT",
		Closing: "CLOSING", LastAck: "LAST_ACK", TimeWait: "TIME_WAIT"}
	if len(states) != int(numStates) {
		t.Fatalf("pinned %d states, have %d", len(states), numStates)
	}
	for s, want := range states {
		if b, _ := s.MarshalText(); string(b) != want {
			t.Errorf("%d: %q, want %q", s, b, want)
		}
	}
	fo := map[FastOpen]string{FastOpenNone: "none", FastOpenCookieRequest: "cookie_request", FastOpenCookie: "cookie",
		FastOpenDataAccepted: "data_accepted", FastOpenDataRejected: "data_rejected"}
	for f, want := range fo {
		if b, _ := f.MarshalText(); string(b) != want {
			t.Errorf("%d: %q, want %q", f, b, want)
		}
	}
	cl := map[Close]string{NotClosed: "", ClientFIN: "client_fin", ServerFIN: "server_fin", ClientRST: "client_rst", ServerRST: "server_rst"}
	for k, want := range cl {
		if b, _ := k.MarshalText(); string(b) != want {
			t.Errorf("%d: %q, want %q", k, b, want)
		}
	}
	a := Anomaly{Code: SynAckWrongAck, Frame: 2, Field: FieldAck, Seen: 1002, Expected: 1001, HasValues: true}
	if got := a.String(); got != "synack_wrong_ack frame=2 ack seen=1002 expected=1001" {
		t.Errorf("Anomaly.String() = %q", got)
	}
}

// TestStepNoAllocs: a segment that raises no anomaly allocates nothing.
func TestStepNoAllocs(t *testing.T) {
	segs := []decode.Segment{
		{Src: cli4, Dst: srv4, Flags: fSYN, Seq: 1000, Options: ts(1, 0)},
		{Src: srv4, Dst: cli4, Flags: fSYNACK, Seq: 5000, Ack: 1001, Options: ts(2, 1)},
		{Src: cli4, Dst: srv4, Flags: fACK, Seq: 1001, Ack: 5001},
		{Src: cli4, Dst: srv4, Flags: fPSHACK, Seq: 1001, Ack: 5001, PayloadLen: 100},
	}
	allocs := testing.AllocsPerRun(100, func() {
		var m Machine
		for i := range segs {
			m.Step(&segs[i], segs[i].Src == cli4)
		}
		_ = m.Result()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per handshake, want 0", allocs)
	}
}

// TestSeqInRange checks decode.Seq.InRange, which every number check here
// relies on, against a slow version in 64-bit arithmetic, across the wrap.
func TestSeqInRange(t *testing.T) {
	slow := func(s, lo decode.Seq, n uint32) bool {
		d := (int64(s) - int64(lo) + 1<<32) % (1 << 32)
		return d <= int64(n)
	}
	for _, lo := range []decode.Seq{0, 1, 1000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff} {
		for _, n := range []uint32{0, 1, 100, 1 << 20} {
			for _, d := range []int64{-2, -1, 0, 1, 2, 99, 100, 101, 1 << 20, 1<<20 + 1} {
				s := decode.Seq(uint32(int64(lo) + d))
				if got, want := s.InRange(lo, n), slow(s, lo, n); got != want {
					t.Errorf("Seq(%d).InRange(%d, %d) = %v, want %v", s, lo, n, got, want)
				}
			}
		}
	}
}
