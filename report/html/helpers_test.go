package html

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// mixPcap is the 200-flow mix every format's tests use.
const mixPcap = "../../testdata/pcaps/mix-200.pcap"

// buildReport analyses paths as one capture, as the command does, and
// returns the HTML page with the statistics it was written from.
func buildReport(t testing.TB, opts Options, paths ...string) ([]byte, *report.Stats) {
	t.Helper()
	return build(t, opts, nil, paths...)
}

// buildReportWith is buildReport with default options that passes the
// Writer to inspect once it is closed.
func buildReportWith(t testing.TB, inspect func(*Writer), paths ...string) []byte {
	t.Helper()
	page, _ := build(t, Options{}, inspect, paths...)
	return page
}

func build(t testing.TB, opts Options, inspect func(*Writer), paths ...string) ([]byte, *report.Stats) {
	t.Helper()
	var files []*capture.File
	for i, p := range paths {
		f, err := capture.Open(p, nil, i)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	var buf bytes.Buffer
	w := New(&buf, opts)
	var stats report.Stats
	sum, err := analyze.Run(files, analyze.Options{Tracker: reassembly.Options{Trace: w.Trace}}, func(f *reassembly.Flow) {
		stats.Add(f)
		if err := w.Flow(f); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Files == nil {
		var desc []File
		for i, f := range files {
			m := f.Metadata()
			desc = append(desc, File{Name: paths[i], Comments: m.Comments, Interfaces: m.Interfaces})
		}
		w.SetFiles(desc)
	}
	c := &report.Capture{Files: paths, Packets: sum.Packets, TCPPackets: sum.TCPPackets, Decoded: sum.Decoded,
		Warnings: len(sum.Warnings), FirstTS: sum.FirstTS, LastTS: sum.LastTS}
	if err := w.Close(c, &stats); err != nil {
		t.Fatal(err)
	}
	if inspect != nil {
		inspect(w)
	}
	return buf.Bytes(), &stats
}

// hostile is the text a hostile capture puts wherever it can.
const hostile = `</script><script>alert(1)</script><img src=x onerror=alert(2)>"'&`

// writeHostilePcapng writes a pcapng capture whose section comment,
// interface name and description and a packet comment hold hostile, with a
// malformed handshake (a SYN-ACK acknowledging ISN+7) so that the page has
// a ladder to draw, and returns its path. Its file name is hostile too.
func writeHostilePcapng(t testing.TB) string {
	t.Helper()
	c, s := netip.MustParseAddrPort("192.0.2.66:40000"), netip.MustParseAddrPort("198.51.100.9:443")
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	b := pcapgen.AppendNgSectionHeader(nil, pcapgen.NgOption{Code: pcapgen.NgComment, Value: hostile})
	b = pcapgen.AppendNgInterface(b, pcapgen.NgOption{Code: pcapgen.NgIfName, Value: hostile},
		pcapgen.NgOption{Code: pcapgen.NgIfDescription, Value: "<b>desc</b>"})
	segs := []pcapgen.Seg{
		{Time: t0, Src: c, Dst: s, Seq: 1000, Flags: pcapgen.SYN},
		{Time: t0.Add(time.Millisecond), Src: s, Dst: c, Seq: 5000, Ack: 1007, Flags: pcapgen.SYN | pcapgen.ACK},
		{Time: t0.Add(2 * time.Millisecond), Src: c, Dst: s, Seq: 1007, Flags: pcapgen.RST},
	}
	for i, sg := range segs {
		var opts []pcapgen.NgOption
		if i == 1 {
			opts = append(opts, pcapgen.NgOption{Code: pcapgen.NgComment, Value: hostile})
		}
		var err error
		if b, err = pcapgen.AppendNgPacket(b, 0, sg, opts...); err != nil {
			t.Fatal(err)
		}
	}
	// The slashes of </script> make directories of the name.
	path := filepath.Join(t.TempDir(), `a"><img src=x onerror=alert(3)></script><script>alert(4)</script>.pcapng`)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
