package handshake

import "fmt"

// Code names one kind of anomaly. Its text form is a stable snake_case word
// (docs/anomalies.md lists them all). A fatal Code makes the attempt
// Malformed; an informational one never changes a verdict. The zero Code is
// not a valid code.
type Code uint8

// Fatal codes: each makes the attempt Malformed.
const (
	_ Code = iota
	// SynAckWrongAck: a SYN-ACK whose ack is not ISN+1 (+ SYN data length)
	// of the SYN it answers, including one acknowledging data never sent.
	SynAckWrongAck
	// SynAckChangedSeq: a SYN-ACK whose seq differs from the ISN its sender
	// already used (an earlier SYN-ACK, or its own SYN in a simultaneous
	// open).
	SynAckChangedSeq
	// SynAckChangedAck: a SYN-ACK resent with a different ack.
	SynAckChangedAck
	// SynAckFromClient: the client sent a SYN-ACK although the server sent
	// no SYN.
	SynAckFromClient
	// AckWrongSeq: a handshake segment with ACK (the final ACK, or data
	// before completion) whose seq is not its sender's ISN+1.
	AckWrongSeq
	// AckWrongAck: a final ACK (the client's, or the server's in a split
	// handshake), or data or FIN in its place, whose ack does not
	// acknowledge exactly the peer's SYN (+ its data and what it sent
	// since). Server segments after the server's SYN-ACK are not judged.
	AckWrongAck
	// AckFromServer: the server sent an ACK, data or FIN without any SYN of
	// its own: a final ACK in the wrong direction.
	AckFromServer
	// RstWithoutAck: an RST answering a SYN without the ACK flag.
	RstWithoutAck
	// RstWrongAck: an RST answering a SYN whose ack is not ISN+1 (+ SYN
	// data length).
	RstWrongAck
	// SynFin: SYN and FIN together.
	SynFin
	// SynRst: SYN and RST together.
	SynRst
	// NullFlags: none of SYN, ACK, FIN, RST, PSH, URG set.
	NullFlags
	// XmasFlags: FIN, PSH and URG without ACK (an nmap Xmas probe).
	XmasFlags
	// NoAckFlag: a segment other than SYN or RST without ACK.
	NoAckFlag
	// InvalidOptionLength: a handshake segment whose option list is
	// malformed (decode.OptBad).
	InvalidOptionLength

	// Informational codes: recorded as evidence, never change a verdict.

	// AckSetWithoutFlag: a non-zero acknowledgment field while ACK is clear.
	AckSetWithoutFlag
	// SynDataWithoutFastOpen: a SYN carrying data without a Fast Open option.
	SynDataWithoutFastOpen
	// SynAckTFODataIgnored: the SYN carried data that the SYN-ACK does not
	// acknowledge.
	SynAckTFODataIgnored
	// MSSZero: an MSS option of 0.
	MSSZero
	// WindowScaleTooLarge: a window scale shift above 14.
	WindowScaleTooLarge
	// SynAckUnsolicitedOption: a SYN-ACK with window scale or timestamps the
	// SYN did not offer.
	SynAckUnsolicitedOption
	// TSEchoMismatch: a SYN-ACK TSecr equal to no captured SYN's TSval.
	TSEchoMismatch
	// AckWithoutSynAck: the client acknowledged, or a Fast Open server
	// acknowledged the SYN's data, while no SYN-ACK was captured.
	AckWithoutSynAck
	// RstWrongSeq: an RST (other than one answering a SYN) whose seq is not
	// exactly the next expected sequence number, nor the ack of an
	// unacceptable segment of the peer (the <SEQ=SEG.ACK><CTL=RST> reply
	// RFC 9293 §3.10.7.2-4 prescribes, which is accepted).
	RstWrongSeq
	// ICMPError: an ICMP error quoted a segment of the attempt.
	ICMPError
	// ChecksumBad: decode verified the TCP checksum and it was wrong.
	ChecksumBad
	// CaptureReordered: the capture held a reply before the SYN it answers;
	// the segments were replayed in protocol order (package reassembly).
	CaptureReordered
	// DataNotCaptured: a client segment before completion whose seq lies
	// past everything captured from the client but inside the server's
	// receive window, or whose ack acknowledges Fast Open data of the
	// server past what was captured: the segments before it were not
	// captured.
	DataNotCaptured
	// ScanProbe: the first segment of an attempt is a scanner's probe
	// (NULL, FIN, Xmas, or an ACK or FIN+ACK with ack 0), not a SYN.
	ScanProbe
	// DecidedEarly: the attempt was emitted before it was over because the
	// attempt table reached its memory bound (--max-memory); its verdict is
	// what it had seen (package reassembly, early.go).
	DecidedEarly
	// FragmentOverlap: the segment came in IP fragments that overlap with
	// different bytes (package defrag kept the bytes captured first).
	FragmentOverlap
	// TinyFragment: the segment came in IP fragments and the first one
	// did not hold the whole TCP header (RFC 1858 §3).
	TinyFragment
	// ServerSynNotCaptured: the client's SYN-ACK repeats its ISN and
	// answers a server SYN (simultaneous open) the capture lacks.
	ServerSynNotCaptured
	numCodes
)

type codeInfo struct {
	name  string
	fatal bool
	rfc   string
}

var codeTable = [numCodes]codeInfo{
	SynAckWrongAck:          {"synack_wrong_ack", true, "RFC 9293 §3.10.7.3 (SYN-SENT: SND.UNA < SEG.ACK =< SND.NXT), RFC 7413 §3"},
	SynAckChangedSeq:        {"synack_changed_seq", true, "RFC 9293 §3.4 (one ISN per connection), §3.5 Figure 7"},
	SynAckChangedAck:        {"synack_changed_ack", true, "RFC 9293 §3.4, §3.10.7.4 (SYN-RECEIVED retransmits the same SYN-ACK)"},
	SynAckFromClient:        {"synack_from_client", true, "RFC 9293 §3.5 Figures 6-7, §3.10.7.3"},
	AckWrongSeq:             {"ack_wrong_seq", true, "RFC 9293 §3.10.7.4 (first check: RCV.NXT), §3.4"},
	AckWrongAck:             {"ack_wrong_ack", true, "RFC 9293 §3.10.7.4 (fifth check, SYN-RECEIVED: SND.UNA < SEG.ACK =< SND.NXT)"},
	AckFromServer:           {"ack_from_server", true, "RFC 9293 §3.10.7.3 (SYN-SENT, fourth: neither SYN nor RST, drop)"},
	RstWithoutAck:           {"rst_without_ack", true, "RFC 9293 §3.10.7.3 (SYN-SENT: RST acceptable only with an acceptable ACK), RFC 5961 §3"},
	RstWrongAck:             {"rst_wrong_ack", true, "RFC 9293 §3.10.7.3 (SYN-SENT: SEG.ACK =< ISS or > SND.NXT), RFC 5961 §3"},
	SynFin:                  {"syn_fin", true, "RFC 9293 §3.1, §3.5; CONTRACT.md (impossible flag combination)"},
	SynRst:                  {"syn_rst", true, "RFC 9293 §3.1, §3.5; CONTRACT.md (impossible flag combination)"},
	NullFlags:               {"null_flags", true, "RFC 9293 §3.1, §3.10.7.1-2; CONTRACT.md (no flags at all)"},
	XmasFlags:               {"xmas_flags", true, "RFC 9293 §3.1, §3.10.7.4 (fifth: ACK bit off, drop)"},
	NoAckFlag:               {"no_ack_flag", true, "RFC 9293 §3.1 (ACK always sent once synchronized), §3.10.7.4 (fifth: ACK bit off, drop)"},
	InvalidOptionLength:     {"invalid_option_length", true, "RFC 9293 §3.1 (option length), §3.2 MUST-7 (illegal length: reset)"},
	AckSetWithoutFlag:       {"ack_set_without_flag", false, "RFC 9293 §3.1 (ack field significant only if ACK set)"},
	SynDataWithoutFastOpen:  {"syn_data_without_fastopen", false, "RFC 9293 §3.10.7.2 (SYN text queued), RFC 7413 §1"},
	SynAckTFODataIgnored:    {"synack_tfo_data_ignored", false, "RFC 7413 §3, §4.2.2"},
	MSSZero:                 {"mss_zero", false, "RFC 9293 §3.7.1, RFC 6691 §2"},
	WindowScaleTooLarge:     {"window_scale_too_large", false, "RFC 7323 §2.3 (shift.cnt > 14: log, use 14)"},
	SynAckUnsolicitedOption: {"synack_unsolicited_option", false, "RFC 7323 §2.2, §3.2 (SYN-ACK option only if the SYN had it)"},
	TSEchoMismatch:          {"ts_echo_mismatch", false, "RFC 7323 §3.2, §4.3 (TSecr echoes TS.Recent)"},
	AckWithoutSynAck:        {"ack_without_synack", false, "RFC 9293 §3.5 Figure 6 (the ACK answers a SYN-ACK)"},
	RstWrongSeq:             {"rst_wrong_seq", false, "RFC 5961 §3.2 (RST seq must equal RCV.NXT), RFC 9293 §3.10.7.4 (<SEQ=SEG.ACK><CTL=RST> accepted)"},
	ICMPError:               {"icmp_error", false, "RFC 9293 §3.9.1 (MUST-56/57 soft errors), RFC 5927"},
	ChecksumBad:             {"checksum_bad", false, "RFC 9293 §3.1 (checksum); CONTRACT.md (offload: no verdict change)"},
	CaptureReordered:        {"capture_reordered", false, "RFC 9293 §3.5 (segment order); capture artefact"},
	DataNotCaptured:         {"data_not_captured", false, "RFC 9293 §3.10.7.4 (first check: any in-window SEG.SEQ is acceptable in SYN-RECEIVED), RFC 7413 §4.2.2; capture artefact"},
	FragmentOverlap:         {"fragment_overlap", false, "RFC 791 §3.2, RFC 1858 §4, RFC 5722 §4 (IPv6: overlaps forbidden); evasion, first captured bytes kept"},
	TinyFragment:            {"tiny_fragment", false, "RFC 1858 §3 (TCP header split across fragments), RFC 3128"},
	ScanProbe:               {"scan_probe", false, "RFC 9293 §3.10.7.1 (CLOSED: a segment without RST is answered by RST, what scanners exploit), §3.10.7.2"},
	DecidedEarly:            {"decided_early", false, "none: a resource limit of hsanalyze (--max-memory), not a protocol rule"},
	ServerSynNotCaptured:    {"server_syn_not_captured", false, "RFC 9293 §3.10.7.3 (SYN-SENT, fourth: a SYN is answered <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>), §3.5 Figure 7; capture artefact"},
}

// Codes returns every defined Code, fatal ones first, in declaration order.
func Codes() []Code {
	c := make([]Code, 0, numCodes-1)
	for i := Code(1); i < numCodes; i++ {
		c = append(c, i)
	}
	return c
}

// Valid reports whether c is a defined code.
func (c Code) Valid() bool { return c > 0 && c < numCodes }

// String returns the snake_case form, such as "synack_wrong_ack".
func (c Code) String() string {
	if c.Valid() {
		return codeTable[c].name
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Fatal reports whether c makes an attempt Malformed.
func (c Code) Fatal() bool { return c.Valid() && codeTable[c].fatal }

// RFC returns the clauses c is judged by, such as "RFC 9293 §3.10.7.3 (...)".
func (c Code) RFC() string {
	if c.Valid() {
		return codeTable[c].rfc
	}
	return ""
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (c Code) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("handshake: invalid anomaly code %d", uint8(c))
	}
	return []byte(codeTable[c].name), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; see ParseCode.
func (c *Code) UnmarshalText(b []byte) error {
	p, err := ParseCode(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

// ParseCode returns the Code whose String form is s.
func ParseCode(s string) (Code, error) {
	for i := Code(1); i < numCodes; i++ {
		if codeTable[i].name == s {
			return i, nil
		}
	}
	return 0, fmt.Errorf("handshake: unknown anomaly code %q", s)
}

// Anomaly is one occurrence of a Code: the evidence behind it.
type Anomaly struct {
	Code Code
	// Frame and File locate the segment (decode.Segment.Frame and File).
	Frame uint64
	File  int
	// Field names the header field or option that was wrong ("ack", "seq",
	// "flags", "tsecr", "window_scale", "mss", "options"), or is "" when no
	// single number was wrong.
	Field string
	// Seen is the value captured and Expected the value the protocol
	// required; both are valid iff HasValues. For a range of acceptable
	// values Expected is its most likely member (see docs/anomalies.md).
	Seen, Expected uint64
	HasValues      bool
}

// Evidence field names used by Anomaly.Field.
const (
	FieldAck         = "ack"
	FieldSeq         = "seq"
	FieldFlags       = "flags"
	FieldTSecr       = "tsecr"
	FieldWindowScale = "window_scale"
	FieldMSS         = "mss"
	FieldOptions     = "options"
)

// String formats a like "synack_wrong_ack frame=2 ack seen=1002 expected=1001".
func (a Anomaly) String() string {
	s := fmt.Sprintf("%v frame=%d", a.Code, a.Frame)
	if a.Field != "" {
		s += " " + a.Field
	}
	if a.HasValues {
		s += fmt.Sprintf(" seen=%d expected=%d", a.Seen, a.Expected)
	}
	return s
}
