package pcapgen

import (
	"encoding/binary"
	"time"
)

// The bulk path. Writer goes through pcapgo.Writer, which makes two Write
// calls per packet; a generator writing millions of packets instead
// appends whole records to one reusable buffer with AppendFileHeader,
// AppendRecord and AppendRawRecord and writes the buffer out in large
// chunks. The bytes are exactly those Writer writes (TestAppendRecordMatchesWriter).

// pcap file format constants, as pcapgo writes them: version 2.4,
// little-endian, snap length 65535, LINKTYPE_ETHERNET.
const (
	magicMicros  = 0xa1b2c3d4
	magicNanos   = 0xa1b23c4d
	snapLen      = 65535
	linkEthernet = 1
	// RecordHeaderLen is the size of a pcap record header.
	RecordHeaderLen = 16
)

// AppendFileHeader appends the 24-byte pcap file header NewWriter writes
// (Ethernet; nanosecond timestamps when nano is set) to dst.
func AppendFileHeader(dst []byte, nano bool) []byte {
	magic := uint32(magicMicros)
	if nano {
		magic = magicNanos
	}
	dst = binary.LittleEndian.AppendUint32(dst, magic)
	dst = binary.LittleEndian.AppendUint16(dst, 2) // version major
	dst = binary.LittleEndian.AppendUint16(dst, 4) // version minor
	dst = binary.LittleEndian.AppendUint32(dst, 0) // time zone offset: UTC
	dst = binary.LittleEndian.AppendUint32(dst, 0) // sigfigs
	dst = binary.LittleEndian.AppendUint32(dst, snapLen)
	return binary.LittleEndian.AppendUint32(dst, linkEthernet)
}

// AppendRecord appends s as one pcap record (record header, then the
// Ethernet frame AppendFrame builds) to dst: the bytes Writer.Write would
// write for s to a writer made with the same nano setting. On error dst is
// returned unchanged. It does not allocate when dst has room.
func AppendRecord(dst []byte, s Seg, nano bool) ([]byte, error) {
	start := len(dst)
	frame, err := AppendFrame(append(dst, make([]byte, RecordHeaderLen)...), s)
	if err != nil {
		return dst[:start], err
	}
	if len(s.Fragments) > 0 {
		f := append([]byte(nil), frame[start+RecordHeaderLen:]...)
		out, err := appendFragmented(dst[:start], f, s, nano)
		if err != nil {
			return dst[:start], err
		}
		return out, nil
	}
	putRecordHeader(frame[start:], s.Time, len(frame)-start-RecordHeaderLen, nano)
	return frame, nil
}

// AppendRawRecord appends a pcap record holding frame unchanged, captured
// at t, to dst: for frames pcapgen does not build itself (UDP, ICMP, ARP).
func AppendRawRecord(dst []byte, t time.Time, frame []byte, nano bool) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, RecordHeaderLen)...)
	dst = append(dst, frame...)
	putRecordHeader(dst[start:], t, len(frame), nano)
	return dst
}

// putRecordHeader fills the 16-byte record header at b[0:16] for a frame of
// n bytes captured whole at t. Like pcapgo, it stamps the current time when
// t is zero, so that AppendRecord and Writer agree even then.
func putRecordHeader(b []byte, t time.Time, n int, nano bool) {
	if t.IsZero() {
		t = time.Now()
	}
	frac := t.Nanosecond()
	if !nano {
		frac /= 1000
	}
	binary.LittleEndian.PutUint32(b[0:4], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(b[4:8], uint32(frac))
	binary.LittleEndian.PutUint32(b[8:12], uint32(n))
	binary.LittleEndian.PutUint32(b[12:16], uint32(n))
}
