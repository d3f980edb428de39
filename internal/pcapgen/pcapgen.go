// Package pcapgen writes synthetic TCP captures for tests, the scenario
// captures in testdata/pcaps and the benchmark workload generator.
//
// Frames are built by hand (Ethernet, IPv4 or IPv6, TCP with options) with
// correct IP and TCP checksums, so that every decoder, hsanalyze's and
// tshark's alike, sees well-formed packets unless a test asks otherwise.
package pcapgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TCP flag bits as they appear in byte 13 of the TCP header; NS is bit 0 of
// byte 12 and is passed as bit 8.
const (
	FIN = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

// Seg describes one TCP segment to write. The zero values of the optional
// fields give a plain segment: no options, no payload, window 65535 unless
// Window is set, a correct checksum.
type Seg struct {
	// Time is the capture timestamp.
	Time time.Time
	// Src and Dst must both be IPv4 or both IPv6.
	Src, Dst netip.AddrPort
	Seq, Ack uint32
	// Flags is a set of the flag constants above (NS as bit 8).
	Flags uint16
	// Window is the advertised window; 0 means 65535.
	Window uint16
	// Options is the raw TCP option list; Write pads it to 4 bytes with EOL.
	Options []byte
	// Payload is the TCP payload.
	Payload []byte
	// BadChecksum stores a deliberately wrong TCP checksum.
	BadChecksum bool
	// Encap lists tunnel levels to wrap the frame in, outermost first.
	Encap []Encap
	// Fragments, if set, sends the frame's outermost IP packet as these
	// IP fragments instead, one record each, the i-th i µs after Time.
	Fragments []Frag
}

// Writer writes Ethernet frames to a pcap stream. It is not safe for
// concurrent use.
type Writer struct {
	w    *pcapgo.Writer
	buf  []byte
	link uint32 // 0 or 1: Ethernet; else frames are relinked
}

// NewWriter writes a pcap file header (Ethernet, nanosecond timestamps when
// nano is set) to w and returns a Writer for its records.
func NewWriter(w io.Writer, nano bool) (*Writer, error) {
	var pw *pcapgo.Writer
	if nano {
		pw = pcapgo.NewWriterNanos(w)
	} else {
		pw = pcapgo.NewWriter(w)
	}
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("pcapgen: write header: %w", err)
	}
	return &Writer{w: pw, buf: make([]byte, 0, 2048)}, nil
}

// Write appends one segment as a frame of the Writer's link type, or as
// the fragments s.Fragments asks for.
func (w *Writer) Write(s Seg) error {
	frame, err := AppendFrame(w.buf[:0], s)
	if err != nil {
		return err
	}
	w.buf = frame
	if len(s.Fragments) == 0 {
		return w.writeFrame(s.Time, frame)
	}
	frames, err := fragment(frame, s.Fragments)
	if err != nil {
		return err
	}
	for i, f := range frames {
		if err := w.writeFrame(s.Time.Add(time.Duration(i)*time.Microsecond), f); err != nil {
			return err
		}
	}
	return nil
}

// writeFrame writes the Ethernet frame f, relinked to the Writer's link
// type, as one record captured at t.
func (w *Writer) writeFrame(t time.Time, f []byte) error {
	if w.link > linkEthernet {
		var err error
		if f, err = Relink(w.link, f); err != nil {
			return err
		}
	}
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(f), Length: len(f)}
	if err := w.w.WritePacket(ci, f); err != nil {
		return fmt.Errorf("pcapgen: write packet: %w", err)
	}
	return nil
}

// Ethernet addresses used for every frame: locally administered, fixed, so
// that generated captures are byte-for-byte reproducible.
var (
	macA = [6]byte{0x02, 0, 0, 0, 0, 0x0a}
	macB = [6]byte{0x02, 0, 0, 0, 0, 0x0b}
)

// AppendFrame appends the Ethernet frame for s to dst and returns it.
func AppendFrame(dst []byte, s Seg) ([]byte, error) {
	src, dstIP := s.Src.Addr(), s.Dst.Addr()
	if src.Is4() != dstIP.Is4() || !src.IsValid() || !dstIP.IsValid() {
		return nil, fmt.Errorf("pcapgen: addresses %v and %v are not of one IP version", s.Src, s.Dst)
	}
	opts := len(s.Options)
	optLen := (opts + 3) &^ 3
	tcpLen := 20 + optLen + len(s.Payload)
	if optLen > 40 {
		return nil, fmt.Errorf("pcapgen: %d bytes of TCP options, at most 40 fit", opts)
	}

	// Ethernet: destination, source, EtherType.
	frameStart := len(dst)
	dst = append(dst, macB[:]...)
	dst = append(dst, macA[:]...)
	var ipStart int
	if src.Is4() {
		dst = append(dst, 0x08, 0x00)
		ipStart = len(dst)
		a, b := src.As4(), dstIP.As4()
		dst = append(dst,
			0x45, 0, // version 4, IHL 5; DSCP/ECN 0
			byte((20+tcpLen)>>8), byte(20+tcpLen), // total length
			0, 0, 0x40, 0, // ID 0; flags DF, fragment offset 0
			64, 6, 0, 0) // TTL 64; protocol TCP; checksum (below)
		dst = append(dst, a[:]...)
		dst = append(dst, b[:]...)
		binary.BigEndian.PutUint16(dst[ipStart+10:], Checksum(0, dst[ipStart:ipStart+20]))
	} else {
		dst = append(dst, 0x86, 0xdd)
		ipStart = len(dst)
		a, b := src.As16(), dstIP.As16()
		dst = append(dst,
			0x60, 0, 0, 0, // version 6, traffic class 0, flow label 0
			byte(tcpLen>>8), byte(tcpLen), // payload length
			6, 64) // next header TCP; hop limit 64
		dst = append(dst, a[:]...)
		dst = append(dst, b[:]...)
	}

	tcpStart := len(dst)
	win := s.Window
	if win == 0 {
		win = 65535
	}
	dst = binary.BigEndian.AppendUint16(dst, s.Src.Port())
	dst = binary.BigEndian.AppendUint16(dst, s.Dst.Port())
	dst = binary.BigEndian.AppendUint32(dst, s.Seq)
	dst = binary.BigEndian.AppendUint32(dst, s.Ack)
	dst = append(dst,
		byte((20+optLen)/4)<<4|byte(s.Flags>>8&1), // data offset; NS bit
		byte(s.Flags))
	dst = binary.BigEndian.AppendUint16(dst, win)
	dst = append(dst, 0, 0, 0, 0) // checksum (below), urgent pointer 0
	dst = append(dst, s.Options...)
	for i := opts; i < optLen; i++ {
		dst = append(dst, 0) // EOL padding
	}
	dst = append(dst, s.Payload...)

	// TCP checksum over the pseudo-header and the segment.
	var sum uint32
	if src.Is4() {
		sum = SumWords(sum, dst[ipStart+12:ipStart+20])
	} else {
		sum = SumWords(sum, dst[ipStart+8:ipStart+40])
	}
	sum += 6 + uint32(tcpLen)
	c := Checksum(sum, dst[tcpStart:])
	if s.BadChecksum {
		c ^= 0xbeef
	}
	binary.BigEndian.PutUint16(dst[tcpStart+16:], c)
	if len(s.Encap) > 0 {
		f, err := encapsulate(dst[frameStart:], s.Encap)
		if err != nil {
			return nil, err
		}
		return append(dst[:frameStart], f...), nil
	}
	return dst, nil
}

// SumWords adds b to the running one's-complement sum as 16-bit words, for
// a checksum over several pieces (a pseudo-header, then a segment).
func SumWords(sum uint32, b []byte) uint32 {
	for ; len(b) >= 2; b = b[2:] {
		sum += uint32(b[0])<<8 | uint32(b[1])
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

// Checksum returns the Internet checksum (RFC 1071) of b on top of sum.
func Checksum(sum uint32, b []byte) uint16 {
	sum = SumWords(sum, b)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// MSS returns a maximum-segment-size option (kind 2).
func MSS(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }

// WindowScale returns a window-scale option (kind 3).
func WindowScale(shift uint8) []byte { return []byte{3, 3, shift} }

// SACKPermitted returns a SACK-permitted option (kind 4).
func SACKPermitted() []byte { return []byte{4, 2} }

// Timestamps returns a timestamps option (kind 8).
func Timestamps(val, ecr uint32) []byte {
	b := []byte{8, 10}
	b = binary.BigEndian.AppendUint32(b, val)
	return binary.BigEndian.AppendUint32(b, ecr)
}

// FastOpen returns a TCP Fast Open option (kind 34, RFC 7413); an empty
// cookie is a cookie request.
func FastOpen(cookie []byte) []byte { return append([]byte{34, byte(2 + len(cookie))}, cookie...) }

// NOP returns a no-operation option (kind 1).
func NOP() []byte { return []byte{1} }

// Opts concatenates options.
func Opts(list ...[]byte) []byte {
	var b []byte
	for _, o := range list {
		b = append(b, o...)
	}
	return b
}

// WriteICMPError appends an ICMPv4 error of type typ and code, sent at t by
// from (a router, or the destination host) to the sender of quoted, quoting
// quoted's IPv4 header and the first 8 bytes of its TCP header as RFC 792
// prescribes. quoted must be IPv4 and carry no tunnel.
func (w *Writer) WriteICMPError(t time.Time, from netip.Addr, typ, code uint8, quoted Seg) error {
	if !from.Is4() || !quoted.Src.Addr().Is4() || len(quoted.Encap) > 0 {
		return fmt.Errorf("pcapgen: ICMP errors are IPv4 without tunnels here")
	}
	orig, err := AppendFrame(nil, quoted)
	if err != nil {
		return err
	}
	inner := orig[14 : 14+20+8] // IP header and 8 bytes of TCP
	icmpLen := 8 + len(inner)
	frame := append(w.buf[:0], macA[:]...)
	frame = append(frame, macB[:]...)
	frame = append(frame, 0x08, 0x00)
	ip := len(frame)
	a, b := from.As4(), quoted.Src.Addr().As4()
	frame = append(frame, 0x45, 0, byte((20+icmpLen)>>8), byte(20+icmpLen), 0, 0, 0, 0, 64, 1, 0, 0)
	frame = append(frame, a[:]...)
	frame = append(frame, b[:]...)
	binary.BigEndian.PutUint16(frame[ip+10:], Checksum(0, frame[ip:ip+20]))
	ic := len(frame)
	frame = append(frame, typ, code, 0, 0, 0, 0, 0, 0)
	frame = append(frame, inner...)
	binary.BigEndian.PutUint16(frame[ic+2:], Checksum(0, frame[ic:]))
	w.buf = frame
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(frame), Length: len(frame)}
	if err := w.w.WritePacket(ci, frame); err != nil {
		return fmt.Errorf("pcapgen: write packet: %w", err)
	}
	return nil
}
