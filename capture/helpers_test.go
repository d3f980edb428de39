package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// byteOrder reads and appends in one byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// pkt is one packet of a test capture.
type pkt struct {
	ts   int64 // ns since the epoch
	data []byte
	orig int // 0: len(data)
}

func (p pkt) origLen() int {
	if p.orig == 0 {
		return len(p.data)
	}
	return p.orig
}

// frame returns n recognisable bytes: seed, seed+1, ...
func frame(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// pcapLE writes a little-endian pcap file with pcapgo.Writer, microsecond
// or nanosecond, with link type Ethernet and snap length 65535.
func pcapLE(t testing.TB, nanos bool, pkts ...pkt) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if nanos {
		w = pcapgo.NewWriterNanos(&buf)
	}
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.ts), CaptureLength: len(p.data), Length: p.origLen()}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// pcapHeader builds a pcap file header by hand.
func pcapHeader(order byteOrder, magic uint32, major, minor uint16, snaplen, linkType uint32) []byte {
	b := order.AppendUint32(nil, magic) // magic: a1b2c3d4 µs, a1b23c4d ns, in the file's order
	b = order.AppendUint16(b, major)    // version_major
	b = order.AppendUint16(b, minor)    // version_minor
	b = order.AppendUint32(b, 0)        // thiszone
	b = order.AppendUint32(b, 0)        // sigfigs
	b = order.AppendUint32(b, snaplen)  // snaplen
	b = order.AppendUint32(b, linkType) // linktype (low 16 bits) and FCS bits
	return b
}

// pcapRecord appends a pcap record header and data by hand.
func pcapRecord(b []byte, order byteOrder, sec, frac, caplen, orig uint32, data []byte) []byte {
	b = order.AppendUint32(b, sec)    // ts_sec
	b = order.AppendUint32(b, frac)   // ts_usec or ts_nsec
	b = order.AppendUint32(b, caplen) // incl_len
	b = order.AppendUint32(b, orig)   // orig_len
	return append(b, data...)
}

// pcapBE writes a big-endian pcap file by hand (pcapgo writes little-endian
// only), with link type Ethernet and snap length 65535.
func pcapBE(nanos bool, pkts ...pkt) []byte {
	magic, unit := uint32(0xa1b2c3d4), int64(1000)
	if nanos {
		magic, unit = 0xa1b23c4d, 1
	}
	b := pcapHeader(binary.BigEndian, magic, 2, 4, 65535, 1)
	for _, p := range pkts {
		b = pcapRecord(b, binary.BigEndian, uint32(p.ts/1e9), uint32(p.ts%1e9/unit), uint32(len(p.data)), uint32(p.origLen()), p.data)
	}
	return b
}

// gz compresses b with gzip.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ng builds a pcapng file block by block, in one byte order per section.
type ng struct {
	order byteOrder
	b     []byte
}

// block appends a block: type, total length, body padded to 4 bytes, total
// length again. It returns the block's offset.
func (n *ng) block(typ uint32, body []byte) int64 {
	off := int64(len(n.b))
	for len(body)%4 != 0 {
		body = append(body, 0) // padding to 32 bits
	}
	total := uint32(12 + len(body))
	n.b = n.order.AppendUint32(n.b, typ)   // block type
	n.b = n.order.AppendUint32(n.b, total) // block total length
	n.b = append(n.b, body...)             // block body
	n.b = n.order.AppendUint32(n.b, total) // block total length, again
	return off
}

// shb starts a section in byte order order.
func (n *ng) shb(order byteOrder, major, minor uint16) int64 {
	n.order = order
	body := order.AppendUint32(nil, 0x1a2b3c4d)        // byte-order magic
	body = order.AppendUint16(body, major)             // major version
	body = order.AppendUint16(body, minor)             // minor version
	body = order.AppendUint64(body, ^uint64(0))        // section length: unknown
	body = opt(order, body, 4, []byte("capture test")) // shb_userappl
	body = order.AppendUint32(body, 0)                 // opt_endofopt
	return n.block(blockSHB, body)
}

// opt appends an option: code, length, value padded to 4 bytes.
func opt(order byteOrder, b []byte, code uint16, val []byte) []byte {
	b = order.AppendUint16(b, code)             // option code
	b = order.AppendUint16(b, uint16(len(val))) // option length
	b = append(b, val...)                       // value
	for len(b)%4 != 0 {
		b = append(b, 0) // padding
	}
	return b
}

// idbOpt is an IDB option.
type idbOpt struct {
	code uint16
	val  []byte
}

func tsresol(v byte) idbOpt { return idbOpt{optTSResol, []byte{v}} }

func tsoffset(order byteOrder, sec int64) idbOpt {
	return idbOpt{optTSOffset, order.AppendUint64(nil, uint64(sec))}
}

// idb describes an interface.
func (n *ng) idb(linkType uint16, snaplen uint32, opts ...idbOpt) int64 {
	body := n.order.AppendUint16(nil, linkType) // LinkType
	body = n.order.AppendUint16(body, 0)        // reserved
	body = n.order.AppendUint32(body, snaplen)  // SnapLen
	for _, o := range opts {
		body = opt(n.order, body, o.code, o.val)
	}
	if len(opts) > 0 {
		body = n.order.AppendUint32(body, 0) // opt_endofopt
	}
	return n.block(blockIDB, body)
}

// epb appends an Enhanced Packet Block with ts in the interface's units.
func (n *ng) epb(iface uint32, ts uint64, orig int, data []byte) int64 {
	body := n.order.AppendUint32(nil, iface)             // interface ID
	body = n.order.AppendUint32(body, uint32(ts>>32))    // timestamp (high)
	body = n.order.AppendUint32(body, uint32(ts))        // timestamp (low)
	body = n.order.AppendUint32(body, uint32(len(data))) // captured packet length
	body = n.order.AppendUint32(body, uint32(orig))      // original packet length
	body = append(body, data...)                         // packet data (padded by block)
	return n.block(blockEPB, body)
}

// pb appends an obsolete Packet Block.
func (n *ng) pb(iface uint16, ts uint64, orig int, data []byte) int64 {
	body := n.order.AppendUint16(nil, iface)             // interface ID
	body = n.order.AppendUint16(body, 0)                 // drops count
	body = n.order.AppendUint32(body, uint32(ts>>32))    // timestamp (high)
	body = n.order.AppendUint32(body, uint32(ts))        // timestamp (low)
	body = n.order.AppendUint32(body, uint32(len(data))) // captured packet length
	body = n.order.AppendUint32(body, uint32(orig))      // original packet length
	body = append(body, data...)                         // packet data
	return n.block(blockPB, body)
}

// spb appends a Simple Packet Block.
func (n *ng) spb(orig int, data []byte) int64 {
	body := n.order.AppendUint32(nil, uint32(orig)) // original packet length
	body = append(body, data...)                    // packet data
	return n.block(blockSPB, body)
}

// readAll opens b (as stdin) and reads it to the end. It returns the records
// (with Data copied), the warning that ended the file if any, and the
// error from Open.
func readAll(t testing.TB, b []byte) (recs []Record, warning, openErr error) {
	t.Helper()
	f, err := Open("-", bytes.NewReader(b), 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	for {
		var rec Record
		err := f.Next(&rec)
		if err == io.EOF {
			return recs, nil, nil
		}
		if err != nil {
			if !errors.As(err, new(*FileError)) {
				t.Errorf("warning %v is a %T, want *FileError", err, err)
			}
			if err2 := f.Next(&rec); err2 != io.EOF {
				t.Errorf("Next after warning = %v, want io.EOF", err2)
			}
			return recs, err, nil
		}
		rec.Data = bytes.Clone(rec.Data)
		recs = append(recs, rec)
	}
}

// offsetOf returns the Offset of a *FileError, or -2.
func offsetOf(err error) int64 {
	var fe *FileError
	if errors.As(err, &fe) {
		return fe.Offset
	}
	return -2
}
