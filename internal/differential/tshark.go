package differential

import (
	"bufio"
	"bytes"
	"fmt"
	"math/big"
	"net/netip"
	"sort"
	"strconv"
	"strings"
)

// TCP flag bits as tshark prints them in tcp.flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

// TsharkFields is the -e list TsharkArgs asks for, in the order
// ParseTshark expects. Checked against tshark 4.0.
var TsharkFields = []string{
	"tcp.stream", "ip.src", "ipv6.src", "tcp.srcport",
	"ip.dst", "ipv6.dst", "tcp.dstport",
	"tcp.completeness", "tcp.flags", "frame.number",
	"tcp.seq_raw", "tcp.ack_raw", "tcp.len",
	"icmp.type", "icmpv6.type", "frame.time_epoch", "frame.protocols",
}

// TsharkArgs returns tshark's arguments to dissect file: two passes (so
// tcp.completeness is final on every packet), no name resolution, TCP
// packets only, the last occurrence of each field (the innermost header
// in a tunnel), Teredo's heuristic on.
func TsharkArgs(file string) []string {
	// Teredo between a client and a relay runs on any ports; tshark finds
	// it only with its heuristic, which hsanalyze's decoding matches.
	args := []string{"-2", "-n", "-o", "teredo.heuristic_teredo:TRUE", "-r", file, "-Y", "tcp",
		"-T", "fields", "-E", "separator=/t", "-E", "occurrence=l"}
	for _, f := range TsharkFields {
		args = append(args, "-e", f)
	}
	return args
}

// Packet is one TCP packet as tshark decoded it. Frame is tshark's frame
// number (1-based, counting every record of the file).
type Packet struct {
	Stream     int
	Src, Dst   netip.AddrPort
	Flags      uint16
	Frame      int
	Seq, Ack   uint32
	Len        int
	Complete   uint8 // tcp.completeness, the stream's final value
	ICMP       bool  // a TCP header quoted in an ICMP error, not a segment
	TimeNanos  int64 // capture time, nanoseconds since the Unix epoch
	HasTCPInfo bool  // seq, ack and flags were present
}

// Stream is one tshark tcp.stream, its packets in frame order.
type Stream struct {
	ID       int
	Tuple    Tuple
	Packets  []Packet
	Complete uint8
}

// Tuple is an unordered TCP 4-tuple: A sorts before B.
type Tuple struct{ A, B netip.AddrPort }

// MakeTuple orders two endpoints into a Tuple.
func MakeTuple(x, y netip.AddrPort) Tuple {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return Tuple{x, y}
}

func (t Tuple) String() string { return t.A.String() + "<->" + t.B.String() }

// ParseTshark parses the output of tshark run with TsharkArgs into streams,
// ordered by stream number. Lines that do not parse are returned as errors
// only when no line parsed at all.
func ParseTshark(out []byte) ([]*Stream, error) {
	byID := map[int]*Stream{}
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		p, err := parsePacket(line)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q: %v", line, err))
			continue
		}
		s := byID[p.Stream]
		if s == nil {
			s = &Stream{ID: p.Stream, Tuple: MakeTuple(p.Src, p.Dst)}
			byID[p.Stream] = s
		}
		s.Packets = append(s.Packets, p)
		s.Complete |= p.Complete
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(byID) == 0 && len(bad) > 0 {
		return nil, fmt.Errorf("no tshark line parsed; first: %s", bad[0])
	}
	streams := make([]*Stream, 0, len(byID))
	for _, s := range byID {
		sort.SliceStable(s.Packets, func(i, j int) bool { return s.Packets[i].Frame < s.Packets[j].Frame })
		streams = append(streams, s)
	}
	sort.Slice(streams, func(i, j int) bool { return streams[i].ID < streams[j].ID })
	return streams, nil
}

func parsePacket(line string) (Packet, error) {
	f := strings.Split(line, "\t")
	if len(f) < len(TsharkFields) {
		return Packet{}, fmt.Errorf("%d fields, want %d", len(f), len(TsharkFields))
	}
	var p Packet
	var err error
	if p.Stream, err = strconv.Atoi(f[0]); err != nil {
		return p, fmt.Errorf("tcp.stream: %v", err)
	}
	src, dst := f[1], f[4]
	if f[2] != "" && innermostIPv6(f[16]) {
		src, dst = f[2], f[5]
	}
	if p.Src, err = addrPort(src, f[3]); err != nil {
		return p, err
	}
	if p.Dst, err = addrPort(dst, f[6]); err != nil {
		return p, err
	}
	if f[7] != "" {
		c, err := strconv.ParseUint(f[7], 0, 8)
		if err != nil {
			return p, fmt.Errorf("tcp.completeness: %v", err)
		}
		p.Complete = uint8(c)
	}
	if f[8] != "" {
		fl, err := strconv.ParseUint(f[8], 0, 16)
		if err != nil {
			return p, fmt.Errorf("tcp.flags: %v", err)
		}
		p.Flags = uint16(fl)
		p.HasTCPInfo = true
	}
	if p.Frame, err = strconv.Atoi(f[9]); err != nil {
		return p, fmt.Errorf("frame.number: %v", err)
	}
	if f[10] != "" {
		v, _ := strconv.ParseUint(f[10], 10, 32)
		p.Seq = uint32(v)
	}
	if f[11] != "" {
		v, _ := strconv.ParseUint(f[11], 10, 32)
		p.Ack = uint32(v)
	}
	p.Len, _ = strconv.Atoi(f[12])
	p.ICMP = f[13] != "" || f[14] != ""
	p.TimeNanos = epochNanos(f[15])
	return p, nil
}

// innermostIPv6 reports whether the last IP layer in frame.protocols
// ("eth:ethertype:ipv6:gre:ip:tcp") is IPv6: in a tunnel both ip.src and
// ipv6.src are present, and either may be the inner one. An empty list
// (older tshark output) counts IPv6 as innermost.
func innermostIPv6(protocols string) bool {
	v4, v6 := -1, -1
	for i, p := range strings.Split(protocols, ":") {
		switch p {
		case "ip":
			v4 = i
		case "ipv6":
			v6 = i
		}
	}
	return v6 >= v4
}

func addrPort(ip, port string) (netip.AddrPort, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q: %v", ip, err)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: %v", port, err)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(n)), nil
}

// epochNanos parses tshark's frame.time_epoch ("1700000000.123456789")
// exactly, without float rounding. It returns 0 when s does not parse.
func epochNanos(s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	n, ok := new(big.Int).SetString(sec, 10)
	if !ok {
		return 0
	}
	frac = (frac + "000000000")[:9]
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0
	}
	return n.Int64()*1e9 + f
}

// CompletenessString spells a tcp.completeness bit set, as tshark does.
func CompletenessString(c uint8) string {
	names := []string{"SYN", "SYN-ACK", "ACK", "DATA", "FIN", "RST"}
	var parts []string
	for i, n := range names {
		if c&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// Expectation is the verdict the flags of a tshark stream imply (see the
// package doc), with the rule that gave it.
type Expectation struct {
	Verdict string
	Client  netip.AddrPort
	Rule    string
}

// Derive applies the package doc's rules to a stream.
func Derive(s *Stream) Expectation {
	var pkts []Packet
	for _, p := range s.Packets {
		if !p.ICMP && p.HasTCPInfo {
			pkts = append(pkts, p)
		}
	}
	if len(pkts) == 0 {
		return Expectation{Verdict: "none", Rule: "only TCP headers quoted in ICMP errors"}
	}
	has := func(p Packet, f uint16) bool { return p.Flags&f != 0 }
	isSyn := func(p Packet) bool { return has(p, flagSYN) && !has(p, flagACK) }
	isSynAck := func(p Packet) bool { return has(p, flagSYN) && has(p, flagACK) }

	var client netip.AddrPort
	found := false
	for _, p := range pkts {
		if isSyn(p) {
			client, found = p.Src, true
			break
		}
	}
	if !found {
		for _, p := range pkts {
			if isSynAck(p) {
				client, found = p.Dst, true
				break
			}
		}
	}
	if !found {
		client = pkts[0].Src
	}
	e := Expectation{Client: client}

	// Walk the handshake in frame order.
	sawSyn, sawSynAck, serverSyn, clientSynAck := false, false, false, false
	clientAcked := false // a client ACK segment after its SYN, before any SYN-ACK
	for _, p := range pkts {
		fromClient := p.Src == client
		impossible := p.Flags&0x1ff == 0 ||
			(has(p, flagSYN) && has(p, flagFIN)) || (has(p, flagSYN) && has(p, flagRST))
		if impossible {
			e.Verdict, e.Rule = "malformed", fmt.Sprintf("impossible flags 0x%03x in frame %d", p.Flags, p.Frame)
			return e
		}
		if !has(p, flagACK|flagSYN|flagRST) {
			e.Verdict, e.Rule = "malformed", fmt.Sprintf("no ACK on a segment other than SYN or RST in frame %d", p.Frame)
			return e
		}
		switch {
		case isSyn(p) && fromClient:
			sawSyn = true
		case isSyn(p) && !fromClient:
			serverSyn = true
		case isSynAck(p) && !fromClient && sawSyn:
			sawSynAck = true
		case isSynAck(p) && fromClient && serverSyn:
			clientSynAck = true
		case isSynAck(p) && fromClient && sawSyn:
			// It answers a server SYN the capture lacks when its seq is
			// the client's ISN (numbers tshark's flags do not show): a
			// simultaneous open.
			serverSyn, clientSynAck = true, true
		case !sawSyn:
			// midstream traffic before any SYN: decided below
		case has(p, flagRST) && !fromClient && !sawSynAck && clientAcked:
			// resets the connection the client's ACK showed (RFC 9293
			// §3.10.7.1 answer to that ACK, or an ABORT): half_open below
		case has(p, flagRST) && !fromClient && !sawSynAck:
			if has(p, flagACK) {
				e.Verdict, e.Rule = "refused", fmt.Sprintf("RST+ACK from the server in frame %d before any SYN-ACK", p.Frame)
			} else {
				e.Verdict, e.Rule = "malformed", fmt.Sprintf("RST without ACK from the server in frame %d", p.Frame)
			}
			return e
		case fromClient && sawSynAck && has(p, flagACK) && !has(p, flagRST) && !has(p, flagSYN):
			e.Verdict, e.Rule = "complete", fmt.Sprintf("client ACK in frame %d after the SYN-ACK", p.Frame)
			return e
		case !fromClient && clientSynAck && has(p, flagACK) && !has(p, flagRST) && !has(p, flagSYN):
			e.Verdict, e.Rule = "complete", fmt.Sprintf("split handshake: server ACK in frame %d after the client's SYN-ACK", p.Frame)
			return e
		case !fromClient && !sawSynAck && !serverSyn && !clientAcked && has(p, flagACK) && !has(p, flagRST) && !has(p, flagSYN):
			e.Verdict, e.Rule = "malformed", fmt.Sprintf("ACK without SYN from the server in frame %d answering the SYN", p.Frame)
			return e
		case fromClient && !sawSynAck && !serverSyn && has(p, flagACK) && !has(p, flagRST) && !has(p, flagSYN):
			clientAcked = true
		}
		if sawSyn && serverSyn && sawSynAck && clientSynAck {
			e.Verdict, e.Rule = "complete", "simultaneous open: SYNs and SYN-ACKs both ways"
			return e
		}
	}
	switch {
	case !sawSyn:
		e.Verdict, e.Rule = "midstream", "no SYN"
	case sawSynAck:
		e.Verdict, e.Rule = "half_open", "SYN-ACK never acknowledged"
	case clientAcked:
		e.Verdict, e.Rule = "half_open", "client ACK without a captured SYN-ACK"
	default:
		e.Verdict, e.Rule = "half_open", "SYN never answered"
	}
	return e
}
