package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

const (
	pcapHeaderLen = 24 // file header: magic, version, thiszone, sigfigs, snaplen, linktype
	pcapRecHdrLen = 16 // record header: ts_sec, ts_frac, incl_len, orig_len

	// pcapMaxRecord is the longest record taken when the file's snap length
	// is smaller: libpcap's MAXIMUM_SNAPLEN and Wireshark's limit for most
	// link types, so real packets always fit and fuzzed lengths are caught.
	pcapMaxRecord = 262144
	// maxRecord caps a record or block whatever the file header says, so a
	// corrupt length cannot make the reader allocate gigabytes.
	maxRecord = 64 << 20
)

// pcapReader reads a pcap file straight from its buffered reader: a
// record that fits the buffer is returned where it lies (no copy, as
// pcapgo's ZeroCopyReadPacketData but without reading the header twice),
// the timestamp is computed without pcapgo's 32-bit overflow for
// out-of-range sub-second fields, and absurd lengths are rejected before
// anything is read.
type pcapReader struct {
	br       *bufio.Reader
	order    binary.ByteOrder
	fracNs   int64  // nanoseconds per unit of the sub-second field: 1000 or 1
	linkType uint32 // low 16 bits of the header's link-type field
	limit    uint32 // largest acceptable captured length
	off      int64  // offset of the next record header
	buf      []byte // for records longer than the buffer
}

// newPcapReader checks the file header at the start of br and consumes it.
func newPcapReader(br *bufio.Reader) (*pcapReader, error) {
	hdr, err := br.Peek(pcapHeaderLen)
	p := &pcapReader{br: br, off: pcapHeaderLen}
	switch m := binary.LittleEndian.Uint32(hdr); m { // Open checked len(hdr) >= 4
	case 0xa1b2c3d4:
		p.order, p.fracNs = binary.LittleEndian, 1000
	case 0xa1b23c4d:
		p.order, p.fracNs = binary.LittleEndian, 1
	case 0xd4c3b2a1:
		p.order, p.fracNs = binary.BigEndian, 1000
	case 0x4d3cb2a1:
		p.order, p.fracNs = binary.BigEndian, 1
	default:
		return nil, unknownMagic(hdr)
	}
	if len(hdr) < pcapHeaderLen {
		return nil, readErr(0, "pcap file header", len(hdr), pcapHeaderLen, err)
	}
	// The version is checked here so that the error says which sentinel;
	// pcapgo reads version 2.4 only (libpcap also takes older 2.x files).
	if major, minor := p.order.Uint16(hdr[4:6]), p.order.Uint16(hdr[6:8]); major != 2 || minor != 4 {
		return nil, errAt(0, ErrUnsupportedVersion, "pcap version %d.%d unsupported (only 2.4 is read)", major, minor)
	}
	snaplen := p.order.Uint32(hdr[16:20])
	// Bits 16-31 of the link-type field are reserved or FCS information
	// (draft-ietf-opsawg-pcap); LINKTYPE_ values fit in the low 16 bits.
	p.linkType = p.order.Uint32(hdr[20:24]) & 0xffff
	p.limit = max(min(snaplen, maxRecord), pcapMaxRecord)

	if _, err := br.Discard(pcapHeaderLen); err != nil {
		return nil, readErr(0, "pcap file header", 0, pcapHeaderLen, err)
	}
	return p, nil
}

func (p *pcapReader) next(rec *Record) error {
	hdr, err := p.br.Peek(pcapRecHdrLen)
	if len(hdr) < pcapRecHdrLen {
		if len(hdr) == 0 && err == io.EOF {
			return io.EOF
		}
		return readErr(p.off, "record header", len(hdr), pcapRecHdrLen, err)
	}
	sec := p.order.Uint32(hdr[0:4])
	frac := p.order.Uint32(hdr[4:8])
	caplen := p.order.Uint32(hdr[8:12])
	origLen := p.order.Uint32(hdr[12:16])
	if caplen > p.limit {
		return errAt(p.off, ErrBadRecord, "record claims %d-byte packet, bigger than maximum of %d", caplen, p.limit)
	}

	// A captured length above the original length is read as it is, as
	// Wireshark and libpcap do (pcapgo refuses it).
	var data []byte
	if n := pcapRecHdrLen + int(caplen); n <= p.br.Size() {
		var rec []byte
		rec, err = p.br.Peek(n)
		if err == nil {
			data = rec[pcapRecHdrLen:]
			_, err = p.br.Discard(n) // cannot fail: n bytes are buffered
		}
	} else {
		data, err = p.readOwn(int(caplen))
	}
	if err != nil {
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return errAt(p.off, ErrTruncated, "record data cut short (%d bytes claimed)", caplen)
		}
		return &FileError{Offset: p.off, Err: fmt.Errorf("reading record: %w", err)}
	}

	rec.Data = data
	// Seconds are unsigned 32 bits: no overflow of int64 nanoseconds. A
	// sub-second field of a second or more is invalid (tcpdump's
	// timestamp_invalid_*.pcap tests have 1e6 and 2^31 µs); taking it as
	// is would move the packet by up to 71 minutes and split its
	// connection on the idle timeout, so the record is stamped at its
	// whole second instead.
	fracNs := int64(frac) * p.fracNs
	if fracNs >= 1e9 {
		fracNs = 0
	}
	rec.Timestamp = int64(sec)*1e9 + fracNs
	rec.OrigLen = int(origLen)
	rec.LinkType = p.linkType
	rec.Interface = 0
	rec.Offset = p.off
	p.off += pcapRecHdrLen + int64(caplen)
	return nil
}

// readOwn reads a record header and n bytes of data into p.buf.
func (p *pcapReader) readOwn(n int) ([]byte, error) {
	if _, err := p.br.Discard(pcapRecHdrLen); err != nil {
		return nil, err
	}
	var err error
	p.buf, err = readFull(p.br, p.buf, n)
	return p.buf, err
}

// readFull reads n bytes from r into buf, reusing its storage, and returns
// the bytes read. A length comes from the file, so beyond 1 MiB the buffer
// grows with the bytes actually read: a short file cannot make it allocate
// the whole claimed length.
func readFull(r io.Reader, buf []byte, n int) ([]byte, error) {
	const chunk = 1 << 20
	buf = buf[:0]
	for len(buf) < n {
		k := min(n-len(buf), max(len(buf), chunk))
		buf = slices.Grow(buf, k)
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+k])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
