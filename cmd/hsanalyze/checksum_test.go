package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// TestChecksumFlag: a handshake whose SYN-ACK has a wrong TCP checksum (as
// checksum offload produces in host captures) is complete either way;
// --checksum reports checksum_bad, without it nothing is said.
func TestChecksumFlag(t *testing.T) {
	c, s := netip.MustParseAddrPort("192.0.2.1:40000"), netip.MustParseAddrPort("198.51.100.2:80")
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	w, err := pcapgen.NewWriter(&buf, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, seg := range []pcapgen.Seg{
		{Src: c, Dst: s, Flags: pcapgen.SYN, Seq: 1000},
		{Src: s, Dst: c, Flags: pcapgen.SYN | pcapgen.ACK, Seq: 5000, Ack: 1001, BadChecksum: true},
		{Src: c, Dst: s, Flags: pcapgen.ACK, Seq: 1001, Ack: 5001},
	} {
		seg.Time = at.Add(time.Duration(i) * time.Millisecond)
		if err := w.Write(seg); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "bad-checksum.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--checksum"}, true}} {
		rep, code, stderr := runJSON(t, append(tt.args, path)...)
		if code != exitOK || stderr != "" || len(rep.Flows) != 1 {
			t.Fatalf("%v: exit %d, stderr %q, %d flows", tt.args, code, stderr, len(rep.Flows))
		}
		f := rep.Flows[0]
		if f.Verdict != "complete" || slices.Contains(f.Anomalies, "checksum_bad") != tt.want {
			t.Errorf("%v: verdict %s anomalies %v; want complete, checksum_bad reported: %v", tt.args, f.Verdict, f.Anomalies, tt.want)
		}
		if tt.want && (len(f.Evidence) != 1 || f.Evidence[0].Frame != 2) {
			t.Errorf("%v: evidence %+v, want one at frame 2", tt.args, f.Evidence)
		}
	}
}
