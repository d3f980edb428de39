// Package handshake judges TCP three-way handshakes: a pure, validating state
// machine following RFC 9293 §3.4, §3.5 and §3.10.7.3-4, RFC 5961 §3-5,
// RFC 7413 (Fast Open), RFC 7323 (window scale, timestamps) and RFC 3168
// (ECN setup). It does no I/O, reads no clock and keeps no global state:
// decode.Segment values go in, a Verdict and Anomaly evidence come out.
//
// One Machine judges one connection attempt; package reassembly groups
// segments into attempts and starts a Machine for each. All sequence
// arithmetic is modulo 2^32 (decode.Seq).
//
// # Verdicts
//
// Result.Verdict follows CONTRACT.md: Malformed if any fatal Code was
// raised (it takes precedence over everything); else Midstream if the
// attempt's SYN was not captured; else Complete when both SYNs were
// acknowledged with every number right (a textbook handshake, a
// simultaneous open, a split handshake, or a handshake completed by data);
// else Refused when an acceptable RST (ACK set, ack = ISN+1, + SYN data)
// answered the SYN before any SYN-ACK; else HalfOpen. Only the handshake is
// judged: after completion nothing raises an anomaly.
//
// # Anomalies
//
// Each Code is fatal or informational; Codes lists them, Code.RFC names the
// clause, and docs/anomalies.md explains each with an example and the
// nearest Zeek and Suricata names. An Anomaly records one occurrence: the
// frame, and where a number or flag set was wrong, the field with the value
// seen and the value expected.
//
// # Limits
//
// The machine trusts the direction its caller gives, except for a
// self-connect (Src == Dst), where a SYN-ACK is taken as the server's and
// every other segment as the client's. It does not reassemble data or check
// sequence numbers after the handshake; FIN and RST after completion only
// drive the teardown states. The final ACK's seq is judged by RFC 9293's
// window test: ISN+1 (up to ISN+1+len with SYN data) is right, a seq past
// what the capture shows the client sent but inside the server's receive
// window completes with the informational DataNotCaptured (the capture
// lost what came before), anything else is AckWrongSeq. Without a captured
// SYN-ACK only the client's first ACK segment is judged (one-sided
// captures), and the server's segments after it are not errors: the
// client's ACK proves the SYN-ACK existed. A first segment shaped like a
// port scanner's probe raises ScanProbe; its flags decide the verdict. The server's part of the handshake is its SYN-ACK: its ACK,
// data and FIN segments after it are not judged (only a split handshake's
// server ACK is a final ACK). When the server offered several ISNs, the
// client's final ACK picks the one the handshake completes against.
package handshake
