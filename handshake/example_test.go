package handshake_test

import (
	"fmt"
	"net/netip"

	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/handshake"
)

// A SYN-ACK that acknowledges one byte too many: the attempt is malformed.
func Example() {
	c := netip.MustParseAddrPort("10.0.0.1:40000")
	s := netip.MustParseAddrPort("10.0.0.2:80")
	segs := []struct {
		seg        decode.Segment
		fromClient bool
	}{
		{decode.Segment{Frame: 1, Src: c, Dst: s, Flags: decode.SYN, Seq: 1000}, true},
		{decode.Segment{Frame: 2, Src: s, Dst: c, Flags: decode.SYN | decode.ACK, Seq: 5000, Ack: 1002}, false},
	}
	var m handshake.Machine
	for _, x := range segs {
		ev := m.Step(&x.seg, x.fromClient)
		fmt.Println(ev.Role, ev.Client, ev.Server, ev.Anomalies)
	}
	r := m.Result()
	fmt.Println(r.Verdict, r.Evidence[0])
	// Output:
	// syn SYN_SENT LISTEN []
	// synack SYN_SENT SYN_RCVD [synack_wrong_ack frame=2 ack seen=1002 expected=1001]
	// malformed synack_wrong_ack frame=2 ack seen=1002 expected=1001
}
