package html

import "github.com/hsanalyze/hsanalyze/handshake"

// about says in one sentence what each anomaly code means, for a reader
// who has not seen docs/anomalies.md (TestAboutEveryCode keeps it complete).
var about = map[handshake.Code]string{
	handshake.SynAckWrongAck:          "The SYN-ACK acknowledges something other than the client's SYN: its ack is not the client's ISN + 1 (+ SYN data).",
	handshake.SynAckChangedSeq:        "A SYN-ACK carries a different sequence number from the ISN its sender already used.",
	handshake.SynAckChangedAck:        "A retransmitted SYN-ACK acknowledges a different number from the first one.",
	handshake.SynAckFromClient:        "The client sent a SYN-ACK that answers no SYN of the server.",
	handshake.AckWrongSeq:             "A handshake segment with ACK has a sequence number other than its sender's ISN + 1 (+ what it sent since).",
	handshake.AckWrongAck:             "The final ACK (or data in its place) does not acknowledge exactly the peer's SYN.",
	handshake.AckFromServer:           "The server sent an ACK, data or FIN without a SYN of its own: a final ACK in the wrong direction.",
	handshake.RstWithoutAck:           "An RST answering a SYN lacks the ACK flag, so it cannot be an acceptable refusal.",
	handshake.RstWrongAck:             "An RST answering a SYN acknowledges something other than the SYN.",
	handshake.SynFin:                  "SYN and FIN set together: an impossible flag combination.",
	handshake.SynRst:                  "SYN and RST set together: an impossible flag combination.",
	handshake.NullFlags:               "A segment with no flags at all (a null scan probe).",
	handshake.XmasFlags:               "FIN, PSH and URG without ACK (an Xmas scan probe).",
	handshake.NoAckFlag:               "A segment other than SYN or RST without the ACK flag.",
	handshake.InvalidOptionLength:     "A handshake segment whose TCP option list is malformed.",
	handshake.AckSetWithoutFlag:       "A non-zero acknowledgment field while the ACK flag is clear (meaningless, not an error).",
	handshake.SynDataWithoutFastOpen:  "The SYN carries data without a TCP Fast Open option.",
	handshake.SynAckTFODataIgnored:    "The SYN carried Fast Open data that the SYN-ACK does not acknowledge.",
	handshake.MSSZero:                 "An MSS option of 0.",
	handshake.WindowScaleTooLarge:     "A window scale shift above 14.",
	handshake.SynAckUnsolicitedOption: "The SYN-ACK has window scaling or timestamps the SYN did not offer.",
	handshake.TSEchoMismatch:          "The SYN-ACK's TSecr echoes no captured SYN's TSval.",
	handshake.AckWithoutSynAck:        "The client acknowledged while no SYN-ACK was captured.",
	handshake.RstWrongSeq:             "An RST whose sequence number is not the next expected one.",
	handshake.ICMPError:               "An ICMP error quoted a segment of the attempt.",
	handshake.ChecksumBad:             "The TCP checksum is wrong (often checksum offload; never changes a verdict).",
	handshake.CaptureReordered:        "The capture held a reply before the SYN it answers; the segments were replayed in protocol order.",
	handshake.DataNotCaptured:         "A client segment lies past everything captured from the client but inside the server's window (or acknowledges Fast Open server data not captured): earlier segments were not captured.",
	handshake.ScanProbe:               "The attempt began with a scanner's probe (NULL, FIN, Xmas, or an ACK with ack 0), not a SYN.",
	handshake.ServerSynNotCaptured:    "The client's SYN-ACK repeats its ISN and answers a server SYN (simultaneous open) that was not captured.",
	handshake.DecidedEarly:            "hsanalyze decided the attempt before it was over: the attempt table reached --max-memory. Its verdict is what it had seen; its later segments were absorbed.",
	handshake.FragmentOverlap:         "The segment came in IP fragments that overlap with different bytes (an evasion technique); the bytes captured first were kept.",
	handshake.TinyFragment:            "The segment came in IP fragments and the first one did not hold the whole TCP header (RFC 1858).",
}
