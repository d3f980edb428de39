package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
	"github.com/hsanalyze/hsanalyze/internal/scenarios"
)

// zeekLog reads a Zeek TSV log into one map per record, keyed by field
// name.
func zeekLog(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fields []string
	var recs []map[string]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "#fields\t"); ok {
			fields = strings.Split(rest, "\t")
			continue
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		vals := strings.Split(line, "\t")
		rec := map[string]string{}
		for i, name := range fields {
			if i < len(vals) {
				rec[name] = vals[i]
			}
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestZeekTunnels checks the Zeek tunnel captures against the inner TCP
// connections Zeek logs for them (conn.log records with tunnel_parents):
// each must be an hsanalyze flow with the same endpoints, a complete
// handshake where Zeek's history has S, h and A, and a tunnel field of
// Zeek's tunnel type between the parent's outer endpoints (the parent is
// a UDP connection in conn.log, or a tunnel.log record for GRE).
func TestZeekTunnels(t *testing.T) {
	tests := []struct {
		pcap, baseline, tunnel string
	}{
		{"zeek/tunnels/vxlan-encapsulated-http.pcap", "core.tunnels.analyzer-confirmation", "vxlan"},
		{"zeek/tunnels/gre-sample.pcap", "core.tunnels.gre", "gre"},
		{"zeek/tunnels/Teredo.pcap", "core.tunnels.teredo", "teredo"},
	}
	for _, tt := range tests {
		t.Run(tt.pcap, func(t *testing.T) {
			path := filepath.Join(sharedPcaps, tt.pcap)
			base := filepath.Join(sharedPcaps, "zeek/Baseline", tt.baseline)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("capture not available: %v", err)
			}
			conns := zeekLog(t, filepath.Join(base, "conn.log"))
			outer := map[string][2]string{} // parent uid → outer endpoints
			for _, c := range conns {
				outer[c["uid"]] = [2]string{c["id.orig_h"], c["id.resp_h"]}
			}
			if _, err := os.Stat(filepath.Join(base, "tunnel.log")); err == nil {
				for _, r := range zeekLog(t, filepath.Join(base, "tunnel.log")) {
					outer[r["uid"]] = [2]string{r["id.orig_h"], r["id.resp_h"]}
				}
			}
			rep, code, stderr := runJSON(t, path)
			if code != exitOK || stderr != "" {
				t.Fatalf("exit %d stderr %q", code, stderr)
			}
			inner := 0
			for _, c := range conns {
				if c["proto"] != "tcp" || c["tunnel_parents"] == "-" {
					continue
				}
				inner++
				client := c["id.orig_h"] + ":" + c["id.orig_p"]
				if strings.Contains(c["id.orig_h"], ":") {
					client = "[" + c["id.orig_h"] + "]:" + c["id.orig_p"]
				}
				var got *jsonFlow
				for i := range rep.Flows {
					if f := &rep.Flows[i]; f.client() == client && f.ServerIP == c["id.resp_h"] {
						got = f
					}
				}
				if got == nil {
					t.Errorf("Zeek's %s → %s:%s (%s) is not a flow:\n%s", client, c["id.resp_h"], c["id.resp_p"], c["history"], describe(rep.Flows))
					continue
				}
				h := c["history"]
				if strings.Contains(h, "S") && strings.Contains(h, "h") && strings.Contains(h, "A") && got.Verdict != "complete" {
					t.Errorf("%s: verdict %s, Zeek history %s completes the handshake", client, got.Verdict, h)
				}
				ends, ok := outer[c["tunnel_parents"]]
				if !ok {
					t.Fatalf("%s: parent %s not in the baseline", client, c["tunnel_parents"])
				}
				if len(got.Tunnel) != 1 || got.Tunnel[0].Type != tt.tunnel {
					t.Errorf("%s: tunnel %q, want %s", client, got.tunnel(), tt.tunnel)
					continue
				}
				l := got.Tunnel[0]
				if [2]string{l.OuterSrc, l.OuterDst} != ends && [2]string{l.OuterDst, l.OuterSrc} != ends {
					t.Errorf("%s: outer endpoints %s, %s; Zeek's parent %v", client, l.OuterSrc, l.OuterDst, ends)
				}
			}
			if inner == 0 {
				t.Fatal("the baseline logs no tunnelled TCP connection")
			}
			for _, f := range rep.Flows {
				if len(f.Tunnel) > 0 && f.Tunnel[0].Type != tt.tunnel {
					t.Errorf("flow %s in an unexpected tunnel %s", f.client(), f.tunnel())
				}
			}
		})
	}
}

// TestNothingAnalysedNotice checks that a capture of IP packets none of
// which yields a TCP segment says so on stderr in one line naming the most
// common reason, and that summary.not_analysed counts the reasons.
func TestNothingAnalysedNotice(t *testing.T) {
	ipv4 := func(proto byte, payload []byte) []byte {
		h := []byte{0x45, 0, 0, byte(20 + len(payload)), 0, 0, 0x40, 0, 64, proto, 0, 0, 203, 0, 113, 1, 203, 0, 113, 2}
		return append(append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}, h...), payload...)
	}
	greARP := ipv4(47, append([]byte{0, 0, 0x08, 0x06}, make([]byte, 28)...)) // GRE carrying ARP
	udp := ipv4(17, []byte{0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0})               // UDP 12345 → 53, empty
	data := pcapgen.AppendFileHeader(nil, false)
	for i, f := range [][]byte{greARP, greARP, greARP, udp} {
		data = pcapgen.AppendRawRecord(data, scenarios.Start.Add(time.Duration(i)*time.Millisecond), f, false)
	}
	path := filepath.Join(t.TempDir(), "no-tcp.pcap")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"--format", "json", "--fail-on", "malformed,half_open", path}, strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	want := "hsanalyze: warning: 4 IP packets but no TCP segment could be analysed; most common reason: unknown encapsulation (3 packets)\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
	var rep struct {
		Summary struct {
			NotAnalysed map[string]uint64 `json:"not_analysed"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	wantNA := map[string]uint64{"non_tcp": 1, "unknown_encap": 3, "incomplete_fragments": 0, "unsupported_link": 0, "bad_headers": 0}
	if !maps.Equal(rep.Summary.NotAnalysed, wantNA) {
		t.Errorf("not_analysed %v, want %v", rep.Summary.NotAnalysed, wantNA)
	}
}

// TestTimelineTunnels checks that --flow shows the attempts of a 4-tuple
// in every tunnel context, each attempt header naming its tunnel.
func TestTimelineTunnels(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"--flow", "192.0.2.1:40000-198.51.100.2:80", "../../testdata/pcaps/tunnel-vxlan-two-vnis.pcap"},
		strings.NewReader(""), &stdout, &stderr, noEnv)
	if code != exitOK || stderr.Len() > 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"Attempt 1: 192.0.2.1:40000 → 198.51.100.2:80  complete  via vxlan=100", "Attempt 2: 192.0.2.1:40000 → 198.51.100.2:80  refused  via vxlan=200"} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline lacks %q:\n%s", want, out)
		}
	}
}
