package capture

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

func TestMetadata(t *testing.T) {
	b := pcapgen.AppendNgSectionHeader(nil, pcapgen.NgOption{Code: pcapgen.NgComment, Value: "taken at the edge"})
	b = pcapgen.AppendNgInterface(b, pcapgen.NgOption{Code: pcapgen.NgIfName, Value: "eth0"},
		pcapgen.NgOption{Code: pcapgen.NgIfDescription, Value: "uplink"},
		pcapgen.NgOption{Code: pcapgen.NgComment, Value: "bad \xff byte " + strings.Repeat("x", 300)})
	b = pcapgen.AppendNgInterface(b) // no name: not listed
	b, err := pcapgen.AppendNgPacket(b, 0, pcapgen.Seg{
		Time: time.Unix(1e9, 0), Src: netip.MustParseAddrPort("192.0.2.1:1000"), Dst: netip.MustParseAddrPort("192.0.2.2:80"),
		Flags: pcapgen.SYN,
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "meta.pcapng")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rec Record
	for f.Next(&rec) != io.EOF {
	}
	m := f.Metadata()
	if want := []string{"eth0 – uplink"}; !slices.Equal(m.Interfaces, want) {
		t.Errorf("interfaces %q, want %q", m.Interfaces, want)
	}
	if len(m.Comments) != 2 || m.Comments[0] != "taken at the edge" {
		t.Fatalf("comments %q", m.Comments)
	}
	if c := m.Comments[1]; len(c) > maxMetaLen+4 || !strings.HasPrefix(c, "bad \uFFFD byte x") {
		t.Errorf("second comment %q (%d bytes): want it valid UTF-8 and cut near %d bytes", c, len(c), maxMetaLen)
	}
}

func TestMetadataBounded(t *testing.T) {
	b := pcapgen.AppendNgSectionHeader(nil)
	for range maxMetaEntries + 10 {
		b = pcapgen.AppendNgInterface(b, pcapgen.NgOption{Code: pcapgen.NgIfName, Value: "if"})
	}
	b, _ = pcapgen.AppendNgPacket(b, 0, pcapgen.Seg{Time: time.Unix(1e9, 0), Src: netip.MustParseAddrPort("192.0.2.1:1"), Dst: netip.MustParseAddrPort("192.0.2.2:2"), Flags: pcapgen.SYN})
	path := filepath.Join(t.TempDir(), "many.pcapng")
	os.WriteFile(path, b, 0o644)
	f, err := Open(path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := f.Metadata()
	if len(m.Interfaces) != maxMetaEntries || m.Dropped != 10 {
		t.Errorf("%d interfaces, %d dropped; want %d and 10", len(m.Interfaces), m.Dropped, maxMetaEntries)
	}
}
