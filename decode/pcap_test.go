package decode

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// pcapDir holds the shared real-world captures (see its MANIFEST.tsv).
const pcapDir = "../../shared/pcaps"

// decodeCapture decodes every record of the capture at path (pcap or
// pcapng, optionally gzipped) and returns the decoder's counters. pcapgo
// is used here only: the capture package is the real reader.
func decodeCapture(path string) (Counters, error) {
	f, err := os.Open(path)
	if err != nil {
		return Counters{}, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return Counters{}, err
		}
		r = zr
	}
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return Counters{}, err
	}
	d := NewDecoder(DecoderOptions{VerifyChecksums: true})
	var p Packet
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return Counters{}, err
		}
		for {
			data, ci, err := ng.ZeroCopyReadPacketData()
			if err != nil {
				return d.Counters(), ignoreEOF(err)
			}
			iface, err := ng.Interface(ci.InterfaceIndex)
			if err != nil {
				return d.Counters(), err
			}
			d.Decode(uint32(iface.LinkType), data, ci.Length, &p)
		}
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return Counters{}, err
	}
	for {
		data, ci, err := pr.ZeroCopyReadPacketData()
		if err != nil {
			return d.Counters(), ignoreEOF(err)
		}
		d.Decode(uint32(pr.LinkType()), data, ci.Length, &p)
	}
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func skipWithoutPcaps(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(pcapDir); err != nil {
		t.Skipf("shared captures not available at %s: %v", pcapDir, err)
	}
}

// TestDecodeCaptures decodes real captures of each link type and checks
// the number of TCP segments against tshark's count (oracle/summary.tsv).
func TestDecodeCaptures(t *testing.T) {
	skipWithoutPcaps(t)
	tests := []struct {
		path        string
		tcp         uint64
		whatItTests string
	}{
		{"suricata-verify/decode-sll2-01/input.pcap", 5, "LINKTYPE_LINUX_SLL2"},
		{"pcapplusplus/sll.pcap", 483, "LINKTYPE_LINUX_SLL"},
		{"pcapplusplus/null_loopback.pcap", 1, "LINKTYPE_NULL, IPv6"},
		{"pcapplusplus/linktype_ipv6.pcap", 1, "LINKTYPE_IPV6"},
		{"pcapplusplus/raw_ip.pcap", 92, "LINKTYPE_RAW, IPv4 and IPv6"},
		{"suricata-verify/linktype-228/flow-test-01.pcap", 7, "LINKTYPE_IPV4"},
		{"zeek/http-qinq-0.pcap", 14, "802.1ad QinQ"},
		{"gopacket/test_loopback.pcap", 24, "LINKTYPE_NULL, IPv6 ::1"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			c, err := decodeCapture(filepath.Join(pcapDir, tc.path))
			if err != nil {
				t.Fatalf("%s: %v", tc.whatItTests, err)
			}
			if got := c.ByKind[KindTCP]; got != tc.tcp {
				t.Errorf("%s: %d TCP segments, want %d (counters %v)", tc.whatItTests, got, tc.tcp, c.ByKind)
			}
		})
	}
}

// oracleExceptions lists captures whose TCP count differs from tshark's,
// with the reason.
var oracleExceptions = map[string]string{
	"suricata-verify/bug-76/input.pcap": "crafted evasion test: 2 frames with an IP total length beyond the frame (KindBadPacket) " +
		"and 1 with a data offset past the IP payload (KindBadTCP); tshark dissects them anyway",
	"gopacket/linux_sll_oversized_addr.pcapng": "damaged capture: 9 frames with an IP total length beyond the frame (KindBadPacket), " +
		"1 with data offset 0 (KindBadTCP); tshark dissects them anyway",
	"suricata-verify/defrag-ipv4-tcp-syn/frag-ip-tcp-syn.pcap":                   "SYN split over IPv4 fragments: decode alone hands out fragments (KindFragment); package defrag reassembles them",
	"suricata-verify/defrag-eth-vlan-ipv4-tcp-syn/frag-eth-vlan-ip-tcp-syn.pcap": "SYN split over IPv4 fragments: decode alone hands out fragments (KindFragment); package defrag reassembles them",
	"suricata-verify/defrag-ppp-ipv4-tcp-syn/frag-ppp-ip-tcp-syn.pcap":           "SYN split over IPv4 fragments: decode alone hands out fragments (KindFragment); package defrag reassembles them",
	"zeek/ipv4/fragmented-syn.pcap":                                              "SYN split over IPv4 fragments: decode alone hands out fragments (KindFragment); package defrag reassembles them",
	"zeek/tunnels/Teredo.pcap": "22 segments inside Teredo between a client and relay on ports other than 3544: tshark's Teredo heuristic is off by default; " +
		"hsanalyze decodes them, as Zeek does (its baseline logs that inner connection)",
	"pcapplusplus/pcapng-example.pcapng": "pcapgo v1.7.7 NgReader stops after 59 of its 159 EPBs (a test-reader limit)",
}

// TestDecodeOracle decodes every capture listed in oracle/summary.tsv and
// compares the number of TCP segments with the packets tshark put in TCP
// streams.
func TestDecodeOracle(t *testing.T) {
	skipWithoutPcaps(t)
	data, err := os.ReadFile(filepath.Join(pcapDir, "oracle/summary.tsv"))
	if err != nil {
		t.Skipf("no oracle: %v", err)
	}
	want := map[string]uint64{}
	var order []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 6 || strings.HasPrefix(line, "#") || f[0] == "capture" {
			continue
		}
		n, err := strconv.ParseUint(f[5], 10, 64)
		if err != nil {
			t.Fatalf("summary.tsv: %q: %v", line, err)
		}
		name := strings.TrimPrefix(f[0], "files/")
		if _, ok := want[name]; !ok {
			order = append(order, name)
		}
		want[name] += n
	}
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			if why, ok := oracleExceptions[name]; ok {
				t.Skip(why)
			}
			c, err := decodeCapture(filepath.Join(pcapDir, name))
			if err != nil && c.Total() == 0 {
				t.Skipf("pcapgo cannot read it: %v", err)
			}
			if got := c.ByKind[KindTCP]; got != want[name] {
				t.Errorf("%d TCP segments, tshark %d (counters %v, read error %v)", got, want[name], c.ByKind, err)
			}
		})
	}
}
