// Command readloop is the reference scripts/bench compares hsanalyze with:
// the least work that reads every packet of a capture.
//
// Usage:
//
//	readloop [-mode read|zerocopy|parse] FILE
//
// Modes:
//
//	read      pcapgo.Reader.ReadPacketData in a loop (a new slice per
//	          packet); the bare loop the benchmark ratios are taken to
//	zerocopy  ZeroCopyReadPacketData over a 1 MiB bufio.Reader
//	parse     zerocopy plus a gopacket DecodingLayerParser (Ethernet,
//	          IPv4, IPv6, TCP) and a map counting packets per 4-tuple
//
// FILE may be gzip-compressed (pcapgo detects it). It prints the number of
// packets read (and, for parse, TCP packets and distinct 4-tuples) on
// standard output; exit status 2 on any error.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	mode := flag.String("mode", "read", "read, zerocopy or parse")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: readloop [-mode read|zerocopy|parse] FILE")
		os.Exit(2)
	}
	if err := run(*mode, flag.Arg(0), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "readloop: %v\n", err)
		os.Exit(2)
	}
}

// tuple is a TCP 4-tuple as seen in one direction.
type tuple struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
}

func run(mode, path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var in io.Reader = f
	if mode != "read" {
		in = bufio.NewReaderSize(f, 1<<20)
	}
	r, err := pcapgo.NewReader(in)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var packets uint64
	switch mode {
	case "read":
		for {
			_, _, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: packet %d: %w", path, packets+1, err)
			}
			packets++
		}
	case "zerocopy":
		for {
			_, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: packet %d: %w", path, packets+1, err)
			}
			packets++
		}
	case "parse":
		var (
			eth     layers.Ethernet
			ip4     layers.IPv4
			ip6     layers.IPv6
			tcp     layers.TCP
			decoded = make([]gopacket.LayerType, 0, 4)
			flows   = map[tuple]uint32{}
			tcpPkts uint64
		)
		p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
		p.IgnoreUnsupported = true
		for {
			data, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: packet %d: %w", path, packets+1, err)
			}
			packets++
			if p.DecodeLayers(data, &decoded) != nil {
				continue
			}
			var k tuple
			for _, l := range decoded {
				switch l {
				case layers.LayerTypeIPv4:
					k.src, _ = netip.AddrFromSlice(ip4.SrcIP)
					k.dst, _ = netip.AddrFromSlice(ip4.DstIP)
				case layers.LayerTypeIPv6:
					k.src, _ = netip.AddrFromSlice(ip6.SrcIP)
					k.dst, _ = netip.AddrFromSlice(ip6.DstIP)
				case layers.LayerTypeTCP:
					k.srcPort, k.dstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
					flows[k]++
					tcpPkts++
				}
			}
		}
		_, err := fmt.Fprintf(out, "packets %d\ntcp_packets %d\ntuples %d\n", packets, tcpPkts, len(flows))
		return err
	default:
		return fmt.Errorf("unknown mode %q (read, zerocopy or parse)", mode)
	}
	_, err = fmt.Fprintf(out, "packets %d\n", packets)
	return err
}
