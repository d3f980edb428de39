package decode_test

import (
	"fmt"

	"github.com/hsanalyze/hsanalyze/decode"
)

// Decode a raw IPv4 SYN (LINKTYPE_RAW) with checksum verification.
func ExampleDecoder_Decode() {
	frame := []byte{
		0x45, 0x00, 0x00, 0x2c, // IPv4, IHL 5, total length 44
		0x00, 0x01, 0x00, 0x00, // ID 1, no fragmentation
		0x40, 0x06, 0x00, 0x00, // TTL 64, TCP, header checksum (not checked)
		192, 0, 2, 1, // source 192.0.2.1
		198, 51, 100, 2, // destination 198.51.100.2
		0xc3, 0x50, 0x01, 0xbb, // ports 50000 → 443
		0x00, 0x00, 0x03, 0xe8, // seq 1000
		0x00, 0x00, 0x00, 0x00, // ack 0
		0x60, 0x02, 0xfa, 0xf0, // data offset 6, SYN, window 64240
		0xe8, 0x0a, 0x00, 0x00, // checksum, urgent pointer
		0x02, 0x04, 0x05, 0xb4, // MSS 1460
	}
	d := decode.NewDecoder(decode.DecoderOptions{VerifyChecksums: true})
	var p decode.Packet
	d.Decode(decode.LinkTypeRaw, frame, len(frame), &p)
	s := p.Segment
	fmt.Println(p.Kind, s.Src, "→", s.Dst, s.Flags, "seq", s.Seq, "mss", s.Options.MSS, "checksum ok:", s.Checksum == decode.ChecksumGood)
	// Output: tcp 192.0.2.1:50000 → 198.51.100.2:443 SYN seq 1000 mss 1460 checksum ok: true
}
