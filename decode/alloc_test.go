package decode

import "testing"

// TestDecodeNoAllocs checks that decoding does not allocate once the
// Decoder is warm, for every TestDecode case: each link type, IPv6 with
// extension headers, ICMP errors, and the malformed inputs too.
func TestDecodeNoAllocs(t *testing.T) {
	for _, tc := range decodeCases() {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(DecoderOptions{VerifyChecksums: true})
			origLen := max(tc.origLen, len(tc.frame))
			var p Packet
			d.Decode(tc.link, tc.frame, origLen, &p) // warm up: grow the decoded slice
			if n := testing.AllocsPerRun(100, func() {
				d.Decode(tc.link, tc.frame, origLen, &p)
			}); n != 0 {
				t.Errorf("Decode allocates %v times per frame (kind %v)", n, p.Kind)
			}
		})
	}
}
