// Package differential checks hsanalyze's verdicts against an independent
// dissector, tshark (Wireshark 4.0 or later), on every capture the project
// has: testdata/pcaps (recursively: *.pcap, *.pcapng, *.gz) and the shared
// third-party captures listed in ../shared/pcaps/MANIFEST.tsv.
//
// The package is test-only in spirit: its exported helpers exist for its
// own tests (TestAgainstTshark) and import nothing of hsanalyze. hsanalyze
// is treated as a black box: the test builds ./cmd/hsanalyze and reads its
// --format json output (CONTRACT.md), so the comparison does not change
// when the packages behind the command do.
//
// # What tshark says
//
// tshark groups segments into streams (tcp.stream) by its own rules and
// gives each a completeness bit set (tcp.completeness: 1 SYN, 2 SYN-ACK,
// 4 ACK, 8 DATA, 16 FIN, 32 RST; read with -2 so every packet shows the
// stream's final value). The bits alone cannot tell who sent the RST or
// whether an ACK was the handshake's, so [Derive] also reads each packet's
// direction and flags (tcp.flags) in frame order. It checks no sequence or
// acknowledgment number: that is what hsanalyze adds. Packets inside ICMP
// errors (a quoted TCP header) are not segments and are ignored (CONTRACT.md).
//
// The client is the sender of the stream's first SYN without ACK; failing
// that the receiver of its first SYN-ACK; failing that the sender of its
// first packet (CONTRACT.md). Then, first rule that applies:
//
//  1. a segment with no flags, SYN+FIN or SYN+RST, or one with neither
//     ACK, SYN nor RST (a FIN or Xmas probe), before the handshake
//     completed → malformed (flags are visible to tshark); so are segments
//     in the wrong direction: a server segment with ACK and neither SYN nor
//     RST
//     answering the SYN before any SYN-ACK and before any client ACK
//     segment (which shows a SYN-ACK the capture lacks) → malformed;
//  2. no SYN without ACK (completeness bit 1 unset) → midstream;
//  3. a SYN-ACK from the server after the client's SYN, then a segment from
//     the client with ACK and neither SYN nor RST (a bare ACK, data or FIN)
//     → complete; crossing SYNs answered by SYN-ACKs both ways (a client
//     SYN-ACK counts as answering a server SYN, captured or not: whether
//     its seq is the client's ISN is a number hsanalyze verifies)
//     (simultaneous open), or by a client SYN-ACK and a server ACK (split
//     handshake) → complete;
//  4. a SYN-ACK from the server but no such final segment (nothing more, or
//     a client RST) → half_open;
//  5. the first RST from the server, before any SYN-ACK: with ACK → refused,
//     without ACK → malformed, unless a client ACK segment came first (the
//     RST then resets the connection that ACK showed: rule 6);
//  6. otherwise (SYN only, retransmitted or not, perhaps a client RST, or
//     a client ACK without a captured SYN-ACK) → half_open.
//
// # How verdicts are compared
//
// hsanalyze's flows are matched to tshark streams by the frames they name
// (syn_frame, synack_frame, ack_frame, evidence frames) when that frame's
// stream has the flow's 4-tuple, otherwise by the flow's first_ts, on the
// same 4-tuple. A tshark stream then agrees with hsanalyze when:
//
//   - the verdicts are equal; or
//   - hsanalyze says malformed and every fatal anomaly it names is a wrong
//     seq or ack number (evidence field "seq" or "ack") whose "seen" value
//     is the number tshark decoded in that frame (tcp.seq_raw, tcp.ack_raw):
//     tshark checks no numbers, so its verdict is the one the flags alone
//     give, and the number hsanalyze objects to is verified to be real.
//
// One tshark stream may hold several hsanalyze flows: tshark keeps a
// 4-tuple in one stream across a new SYN with another ISN unless the old
// connection was closed, while hsanalyze starts a new attempt (CONTRACT.md,
// port reuse). Then the stream's verdict is compared with the LAST of those
// flows, the attempt whose packets end the stream; the earlier ones are
// counted as "earlier attempts" and not compared. A stream without any flow
// compares as hsanalyze "none"; a flow without a stream as tshark "none".
//
// Every other difference must be listed, with the reason hsanalyze is
// right, in testdata/tshark-differences.md (see [ParseAllowList]); an entry
// that matches no difference fails the test as well, so the list stays true.
//
// tcptrace -n counts (complete and reset connections) are logged beside the
// figures for information only; see testdata/tshark-differences.md for what
// they disagree on and why.
package differential
