package pcapgen

import (
	"encoding/binary"
	"time"
)

// pcapng option codes the builders below take.
const (
	// NgComment is opt_comment, valid in every block (shb_comment in an SHB).
	NgComment = 1
	// NgIfName is if_name and NgIfDescription if_description, in an IDB.
	NgIfName        = 2
	NgIfDescription = 3
)

// NgOption is one pcapng option: a code and its value.
type NgOption struct {
	Code  uint16
	Value string
}

// appendNgBlock appends a little-endian pcapng block of type typ with body
// and options, padded, with both length fields.
func appendNgBlock(dst []byte, typ uint32, body []byte, opts []NgOption) []byte {
	for _, o := range opts {
		body = binary.LittleEndian.AppendUint16(body, o.Code)
		body = binary.LittleEndian.AppendUint16(body, uint16(len(o.Value)))
		body = append(body, o.Value...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	if len(opts) > 0 {
		body = append(body, 0, 0, 0, 0) // opt_endofopt
	}
	n := uint32(12 + len(body))
	dst = binary.LittleEndian.AppendUint32(dst, typ)
	dst = binary.LittleEndian.AppendUint32(dst, n)
	dst = append(dst, body...)
	return binary.LittleEndian.AppendUint32(dst, n)
}

// AppendNgSectionHeader appends a pcapng Section Header Block (version 1.0,
// little-endian, section length unknown) with opts.
func AppendNgSectionHeader(dst []byte, opts ...NgOption) []byte {
	body := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	body = binary.LittleEndian.AppendUint16(body, 1)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint64(body, ^uint64(0))
	return appendNgBlock(dst, 0x0a0d0d0a, body, opts)
}

// AppendNgInterface appends an Interface Description Block for Ethernet
// (microsecond timestamps, the default resolution) with opts.
func AppendNgInterface(dst []byte, opts ...NgOption) []byte {
	body := binary.LittleEndian.AppendUint16(nil, linkEthernet)
	body = binary.LittleEndian.AppendUint16(body, 0)
	body = binary.LittleEndian.AppendUint32(body, snapLen)
	return appendNgBlock(dst, 1, body, opts)
}

// AppendNgPacket appends s as an Enhanced Packet Block of interface iface
// with opts.
func AppendNgPacket(dst []byte, iface uint32, s Seg, opts ...NgOption) ([]byte, error) {
	frame, err := AppendFrame(nil, s)
	if err != nil {
		return dst, err
	}
	t := s.Time
	if t.IsZero() {
		t = time.Now()
	}
	us := uint64(t.UnixMicro())
	body := binary.LittleEndian.AppendUint32(nil, iface)
	body = binary.LittleEndian.AppendUint32(body, uint32(us>>32))
	body = binary.LittleEndian.AppendUint32(body, uint32(us))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(frame)))
	body = binary.LittleEndian.AppendUint32(body, uint32(len(frame)))
	body = append(body, frame...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return appendNgBlock(dst, 6, body, opts), nil
}
