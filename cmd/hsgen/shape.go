package main

import (
	"fmt"
	"net/netip"
	"time"
)

// shape is the kind of traffic a capture holds: the templates its flows
// use, how fast they start and which addresses they have.
type shape uint8

const (
	// shapeMixed: the block mix of ordinary traffic (mix.go), about
	// -concurrency connections open at once.
	shapeMixed shape = iota
	// shapeSYNFlood: tFloodSYN only, from distinct spoofed sources to one
	// victim, at -rate attempts per second.
	shapeSYNFlood
	// shapeScan: one scanner probing one port per flow across a few hosts
	// (65535 ports each), at -rate probes per second; 3 of 4 ports are
	// closed (tScanClosed), the rest filtered (tScanFiltered).
	shapeScan
	// shapeSYNACKFlood: tFloodSYNACK only, the flood as captured at a
	// victim that answers every SYN: the same sources and rate as
	// shapeSYNFlood.
	shapeSYNACKFlood
	numShapes
)

var shapeNames = [numShapes]string{shapeMixed: "mixed", shapeSYNFlood: "synflood", shapeScan: "scan", shapeSYNACKFlood: "synackflood"}

// defaultRate is each shape's -rate when the flag is 0: a flood of 2 M
// attempts then spans about 280 s, a scan of 1 M ports about 100 s (nmap
// -T4 on a LAN). The mixed shape takes its rate from -concurrency.
var defaultRate = [numShapes]float64{shapeSYNFlood: 7300, shapeScan: 10000, shapeSYNACKFlood: 7300}

func (s shape) String() string { return shapeNames[s] }

// parseShape returns the shape named name.
func parseShape(name string) (shape, error) {
	for i, n := range shapeNames {
		if n == name {
			return shape(i), nil
		}
	}
	return 0, fmt.Errorf("unknown shape %q (mixed, synflood, synackflood or scan)", name)
}

// Addresses of the flood and the scan.
const (
	// floodBits is the width of the flood's source space: 24 bits of
	// address in 10.0.0.0/8 and 15 of port in 32768-65535.
	floodBits = 39
	// floodMul is odd, so i*floodMul mod 2^floodBits is a bijection: the
	// first 2^39 flood attempts have distinct sources.
	floodMul = 0x5851f42d4c957f2d & (1<<floodBits - 1)
	// scanPorts is the number of ports probed per scanned host (1-65535);
	// scanStride is coprime to it, so ports come in a scrambled order
	// without repeats, as nmap randomises them.
	scanPorts  = 65535
	scanStride = 7919
	scanHosts  = 250 * 250
	maxScan    = scanPorts * scanHosts
)

var (
	floodVictim = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 10}), 80)
	scanner     = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 66, 0, 1}), 51234)
)

// floodClient returns flood attempt i's spoofed source: distinct for
// every i below 2^floodBits, spread by off (drawn from the seed).
func floodClient(i uint32, off uint64) netip.AddrPort {
	p := (uint64(i)*floodMul + off) & (1<<floodBits - 1)
	a := uint32(p >> 15)
	ip := netip.AddrFrom4([4]byte{10, byte(a >> 16), byte(a >> 8), byte(a)})
	return netip.AddrPortFrom(ip, uint16(32768+p&0x7fff))
}

// scanTarget returns the host and port probe i of n goes to: probes
// cycle over ceil(n/scanPorts) hosts in 172.20.0.0/16, each seeing every
// port once, in an order scrambled by off.
func scanTarget(i uint32, n int, off uint64) netip.AddrPort {
	hosts := uint32((n + scanPorts - 1) / scanPorts)
	h, k := i%hosts, i/hosts
	port := 1 + (uint64(k)*scanStride+off)%scanPorts
	ip := netip.AddrFrom4([4]byte{172, 20, byte(1 + h/250), byte(1 + h%250)})
	return netip.AddrPortFrom(ip, uint16(port))
}

// endpoints returns flow i's client and server.
func (g *gen) endpoints(i uint32) (client, server netip.AddrPort) {
	switch g.p.shape {
	case shapeSYNFlood, shapeSYNACKFlood:
		return floodClient(i, g.addrOff), floodVictim
	case shapeScan:
		return scanner, scanTarget(i, g.p.flows, g.addrOff)
	}
	return clientOf(i), serverOf(i)
}

// interval returns the time between the starts of consecutive flows.
func (p params) interval() float64 {
	if p.shape == shapeMixed {
		return float64(meanLifetime(p.lifetime)) / float64(p.concurrency)
	}
	rate := p.rate
	if rate == 0 {
		rate = defaultRate[p.shape]
	}
	return float64(time.Second) / rate
}

// check validates p for its shape.
func (p params) check() error {
	limit := maxFlows
	if p.shape == shapeScan {
		limit = maxScan
	}
	switch {
	case p.shape >= numShapes:
		return fmt.Errorf("invalid shape %d", p.shape)
	case p.flows < 1 || p.flows > limit:
		return fmt.Errorf("flows must be between 1 and %d for shape %s", limit, p.shape)
	case p.concurrency < 1:
		return fmt.Errorf("concurrency must be at least 1")
	case p.lifetime <= 0:
		return fmt.Errorf("lifetime must be positive")
	case p.rate < 0 || p.rate > 1e9:
		return fmt.Errorf("rate must be between 0 (the shape's default) and 1e9 per second")
	}
	return nil
}

// pick returns the template of flow i for a shape other than mixed.
func (g *gen) pick() template {
	switch g.p.shape {
	case shapeSYNFlood:
		return tFloodSYN
	case shapeSYNACKFlood:
		return tFloodSYNACK
	}
	if g.rng.IntN(4) == 0 {
		return tScanFiltered
	}
	return tScanClosed
}
