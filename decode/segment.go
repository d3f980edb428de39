package decode

import (
	"net/netip"
	"strings"
)

// Flags is the set of TCP control bits of a segment, as in the TCP header's
// 9 flag bits (NS is the former ECN nonce bit, RFC 3540, now reserved).
type Flags uint16

// The TCP control bits, in header bit order.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

var flagNames = [...]struct {
	f    Flags
	name string
}{
	{SYN, "SYN"}, {ACK, "ACK"}, {FIN, "FIN"}, {RST, "RST"}, {PSH, "PSH"},
	{URG, "URG"}, {ECE, "ECE"}, {CWR, "CWR"}, {NS, "NS"},
}

// Has reports whether every bit of want is set in f.
func (f Flags) Has(want Flags) bool { return f&want == want }

// String returns the set flags joined by "|", such as "SYN|ACK", or "none".
func (f Flags) String() string {
	if f == 0 {
		return "none"
	}
	var b strings.Builder
	for _, n := range flagNames {
		if f&n.f != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n.name)
		}
	}
	return b.String()
}

// OptionSet records which TCP options a segment carried.
type OptionSet uint16

// Options present in a segment. OptBad marks a malformed option list (an
// option length below 2, or running past the header); parsing stops there.
const (
	OptMSS OptionSet = 1 << iota
	OptWindowScale
	OptSACKPermitted
	OptTimestamps
	OptFastOpen // RFC 7413 option kind 34, or experimental kind 254 with magic 0xF989
	OptBad
	OptTruncated // the option list was cut by the capture's snap length
)

// Options holds the TCP options that matter to a handshake. A field is valid
// iff its bit is set in Present.
type Options struct {
	Present OptionSet
	// MSS is the maximum segment size (valid iff Present has OptMSS).
	MSS uint16
	// WindowScale is the shift count (valid iff Present has OptWindowScale).
	WindowScale uint8
	// CookieLen is the Fast Open cookie length; 0 is a cookie request
	// (valid iff Present has OptFastOpen).
	CookieLen uint8
	// TSval and TSecr are the timestamps (valid iff Present has OptTimestamps).
	TSval, TSecr uint32
	// BadKind is the kind of the first malformed option (valid iff Present
	// has OptBad).
	BadKind uint8
}

// Has reports whether every option in want is present.
func (o *Options) Has(want OptionSet) bool { return o.Present&want == want }

// ChecksumState says whether a segment's TCP checksum was verified.
type ChecksumState uint8

// Checksum states. ChecksumUnknown is the zero value: not checked, or not
// checkable because the packet was truncated by the snap length.
const (
	ChecksumUnknown ChecksumState = iota
	ChecksumGood
	ChecksumBad
)

// Segment is one decoded TCP segment: a small comparable value that holds
// copies of every field, never a pointer into the packet buffer. The zero
// Segment is not a valid segment.
type Segment struct {
	// Timestamp is the capture time in nanoseconds since the Unix epoch.
	Timestamp int64
	// Frame is the 1-based record number within the input file, as
	// Wireshark numbers frames.
	Frame uint64
	// File is the index of the input file among those analysed together.
	File int
	// Interface is the pcapng interface ID (0 for pcap).
	Interface int
	// Src and Dst are the innermost IP addresses and the TCP ports.
	Src, Dst netip.AddrPort
	Seq, Ack Seq
	Flags    Flags
	Window   uint16
	// PayloadLen is the TCP payload length according to the IP header,
	// whether or not the payload was captured.
	PayloadLen int
	// PayloadCut is set when the snap length cut part of the payload.
	PayloadCut bool
	// IPLen is the length of the (innermost) IP packet per its header:
	// the IPv4 total length, or 40 + the IPv6 payload length (the frame's
	// length when the header says 0, as for TSO captures), as Zeek counts
	// ip_bytes.
	IPLen    int
	Options  Options
	Checksum ChecksumState
	// IPFrag says how the segment's IP datagram was fragmented; 0 when it
	// was not.
	IPFrag FragFlags
}

// FragFlags describes a segment that came reassembled from IP fragments
// (package defrag sets them).
type FragFlags uint8

// Fragmentation facts of a segment.
const (
	// FragReassembled: the segment's datagram came in fragments.
	FragReassembled FragFlags = 1 << iota
	// FragOverlap: fragments overlapped with different bytes.
	FragOverlap
	// FragTiny: the first fragment did not hold the whole TCP header.
	FragTiny
)
