package scenarios

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// mixKinds are the per-flow templates the interleaved mix draws from.
var mixKinds = []struct {
	verdict string
	build   func(c *conv, cisn, sisn uint32)
}{
	{"complete", func(c *conv, cisn, sisn uint32) { c.handshake(cisn, sisn).closeFIN(cisn, sisn) }},
	{"half_open", func(c *conv, cisn, sisn uint32) { c.cs(S, cisn, 0).after(time.Second).cs(S, cisn, 0) }},
	{"half_open", func(c *conv, cisn, sisn uint32) { c.cs(S, cisn, 0).sc(S|A, sisn, cisn+1) }},
	{"refused", func(c *conv, cisn, sisn uint32) { c.cs(S, cisn, 0).sc(R|A, 0, cisn+1) }},
	{"malformed", func(c *conv, cisn, sisn uint32) { c.cs(S, cisn, 0).sc(S|A, sisn, cisn+7).cs(R, cisn+7, 0) }},
	{"malformed", func(c *conv, cisn, sisn uint32) { c.cs(S, cisn, 0).sc(S|A, sisn, cisn+1).cs(A, cisn+1, sisn+3) }},
	{"midstream", func(c *conv, cisn, sisn uint32) { c.cs(P|A, cisn, sisn).data(10).sc(A, sisn, cisn+10) }},
}

// mix builds n flows drawn from mixKinds with a fixed seed, each from its
// own client port, started 1 ms apart so that their segments interleave,
// and returns them merged in time order with the expectations.
func mix(n int) ([]pcapgen.Seg, []Expect) {
	rng := rand.New(rand.NewPCG(2026, 11))
	var segs []pcapgen.Seg
	expects := make([]Expect, 0, n)
	for i := range n {
		k := mixKinds[rng.IntN(len(mixKinds))]
		client := fmt.Sprintf("192.0.2.%d:%d", 1+i%50, 30000+i)
		server := fmt.Sprintf("198.51.100.%d:%d", 1+i%7, []int{22, 80, 443}[i%3])
		c := newConv(client, server, time.Duration(i)*time.Millisecond)
		k.build(c, rng.Uint32(), rng.Uint32())
		segs = append(segs, c.segs...)
		expects = append(expects, Expect{Client: client, Verdict: k.verdict})
	}
	slices.SortStableFunc(segs, func(a, b pcapgen.Seg) int { return a.Time.Compare(b.Time) })
	return segs, expects
}

func mixScenario() Scenario {
	_, exp := mix(200)
	counts := map[string]int{}
	for _, e := range exp {
		counts[e.Verdict]++
	}
	return Scenario{
		File: "mix-200.pcap",
		About: fmt.Sprintf("200 interleaved flows started 1 ms apart, drawn with a fixed seed: %d complete, %d half_open, %d refused, %d malformed, %d midstream.",
			counts["complete"], counts["half_open"], counts["refused"], counts["malformed"], counts["midstream"]),
		Expect: exp,
		Segments: func() []pcapgen.Seg {
			segs, _ := mix(200)
			return segs
		},
	}
}

// MixPcap renders n interleaved flows drawn like mix-200.pcap's as a pcap
// file, with their expected verdicts, for tests that need a larger capture.
func MixPcap(n int) ([]byte, []Expect, error) {
	segs, exp := mix(n)
	s := Scenario{File: fmt.Sprintf("mix-%d.pcap", n), Segments: func() []pcapgen.Seg { return segs }}
	b, err := s.Pcap()
	return b, exp, err
}
