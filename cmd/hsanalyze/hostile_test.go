package main

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hsanalyze/hsanalyze/internal/junitcheck"
	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// hostileText is what an attacker puts in a capture's strings and file
// name: a separator and line breaks for TSV and CSV, markup for XML and
// Markdown, a workflow command for GitHub Actions, invalid UTF-8.
const hostileText = "evil\ttab\nnew::error::line\r<script>alert(1)</script>&amp;|`x`\xff\xfe%0A"

// pcapngBlock appends a pcapng block of type typ with body and options.
func pcapngBlock(dst []byte, typ uint32, body []byte, opts [][2]any) []byte {
	var o []byte
	for _, op := range opts {
		code, val := op[0].(uint16), op[1].(string)
		o = binary.LittleEndian.AppendUint16(o, code)
		o = binary.LittleEndian.AppendUint16(o, uint16(len(val)))
		o = append(o, val...)
		for len(o)%4 != 0 {
			o = append(o, 0)
		}
	}
	if len(o) > 0 {
		o = append(o, 0, 0, 0, 0) // opt_endofopt
	}
	body = append(body, o...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	dst = binary.LittleEndian.AppendUint32(dst, typ)
	dst = binary.LittleEndian.AppendUint32(dst, n)
	dst = append(dst, body...)
	return binary.LittleEndian.AppendUint32(dst, n)
}

// hostilePcapng is a pcapng whose section comment, interface name,
// description and comment and packet comments hold hostileText, carrying
// a malformed handshake (a SYN-ACK acknowledging the wrong number) and a
// complete one.
func hostilePcapng(t *testing.T) []byte {
	t.Helper()
	var b []byte
	shb := binary.LittleEndian.AppendUint32(nil, 0x1A2B3C4D)
	shb = binary.LittleEndian.AppendUint16(shb, 1)
	shb = binary.LittleEndian.AppendUint16(shb, 0)
	shb = binary.LittleEndian.AppendUint64(shb, ^uint64(0))
	b = pcapngBlock(b, 0x0A0D0D0A, shb, [][2]any{{uint16(1), hostileText}, {uint16(4), hostileText}})
	idb := binary.LittleEndian.AppendUint16(nil, 1) // Ethernet
	idb = binary.LittleEndian.AppendUint16(idb, 0)
	idb = binary.LittleEndian.AppendUint32(idb, 0)
	b = pcapngBlock(b, 1, idb, [][2]any{{uint16(2), hostileText}, {uint16(3), hostileText}, {uint16(1), hostileText}})
	c1 := netip.MustParseAddrPort("192.0.2.1:40000")
	c2 := netip.MustParseAddrPort("192.0.2.1:40001")
	s := netip.MustParseAddrPort("198.51.100.2:80")
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	segs := []pcapgen.Seg{
		{Time: t0, Src: c1, Dst: s, Seq: 1000, Flags: pcapgen.SYN, Payload: []byte(hostileText)},
		{Time: t0.Add(time.Millisecond), Src: s, Dst: c1, Seq: 5000, Ack: 900, Flags: pcapgen.SYN | pcapgen.ACK},
		{Time: t0.Add(2 * time.Millisecond), Src: c2, Dst: s, Seq: 2000, Flags: pcapgen.SYN},
		{Time: t0.Add(3 * time.Millisecond), Src: s, Dst: c2, Seq: 6000, Ack: 2001, Flags: pcapgen.SYN | pcapgen.ACK},
		{Time: t0.Add(4 * time.Millisecond), Src: c2, Dst: s, Seq: 2001, Ack: 6001, Flags: pcapgen.ACK, Payload: []byte(hostileText)},
	}
	for _, sg := range segs {
		frame, err := pcapgen.AppendFrame(nil, sg)
		if err != nil {
			t.Fatal(err)
		}
		us := uint64(sg.Time.UnixMicro())
		epb := binary.LittleEndian.AppendUint32(nil, 0)
		epb = binary.LittleEndian.AppendUint32(epb, uint32(us>>32))
		epb = binary.LittleEndian.AppendUint32(epb, uint32(us))
		epb = binary.LittleEndian.AppendUint32(epb, uint32(len(frame)))
		epb = binary.LittleEndian.AppendUint32(epb, uint32(len(frame)))
		epb = append(epb, frame...)
		for len(epb)%4 != 0 {
			epb = append(epb, 0)
		}
		b = pcapngBlock(b, 6, epb, [][2]any{{uint16(1), hostileText}})
	}
	return b
}

// TestHostileInput feeds a capture whose strings and file name are
// hostile to every format and checks each still parses as its consumers
// read it and carries nothing it should not: no raw markup, no line that
// starts a workflow command, no broken record.
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, strings.ReplaceAll(hostileText, "/", "_")+".pcapng")
	if err := os.WriteFile(name, hostilePcapng(t), 0o644); err != nil {
		t.Skipf("cannot create a file with a hostile name here: %v", err)
	}
	for _, format := range []string{"table", "json", "ndjson", "csv", "zeek", "zeek-json", "junit", "html"} {
		t.Run(format, func(t *testing.T) {
			summary := filepath.Join(dir, format+".md")
			env := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": summary}
			r := runCLI(t, nil, env, "--format", format, "--fail-on", "malformed", "--no-color", name)
			if r.code != exitFailOn {
				t.Fatalf("exit %d, want 1: %s", r.code, r.stderr)
			}
			checkFormat(t, format, r.stdout)
			// stderr: hsanalyze's lines and our workflow commands only:
			// the file name's line breaks and "::error::" cannot start a
			// command of their own, and property values escape : and ,.
			commands := 0
			for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
				switch {
				case strings.HasPrefix(l, "::error file="):
					commands++
					props, _, ok := strings.Cut(strings.TrimPrefix(l, "::error "), "::")
					if !ok || strings.Contains(props, "::error") || strings.Count(props, ",") != 1 {
						t.Errorf("annotation properties not escaped: %q", l)
					}
				case strings.HasPrefix(l, "hsanalyze: "):
				default:
					t.Errorf("stderr line %q", l)
				}
				if strings.ContainsAny(l, "\r") || !utf8.ValidString(l) {
					t.Errorf("stderr line carries raw control bytes or invalid UTF-8: %q", l)
				}
			}
			if commands != 1 {
				t.Errorf("%d annotations, want 1:\n%s", commands, r.stderr)
			}
			md, err := os.ReadFile(summary)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(md, []byte("<script>")) || !utf8.Valid(md) {
				t.Errorf("job summary carries raw markup or invalid UTF-8:\n%s", md)
			}
		})
	}
}

// checkFormat parses out as format's consumers do.
func checkFormat(t *testing.T, format, out string) {
	t.Helper()
	switch format {
	case "json":
		if !json.Valid([]byte(out)) {
			t.Errorf("not JSON:\n%s", out)
		}
	case "ndjson", "zeek-json":
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if !json.Valid([]byte(l)) {
				t.Errorf("line is not JSON: %q", l)
			}
		}
	case "csv":
		rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Errorf("CSV: %v, %d rows", err, len(rows))
		}
	case "zeek":
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		var fields int
		for _, l := range lines {
			if strings.HasPrefix(l, "#fields\t") {
				fields = strings.Count(l, "\t")
			} else if !strings.HasPrefix(l, "#") && strings.Count(l, "\t")+1 != fields {
				t.Errorf("record has %d fields, #fields %d: %q", strings.Count(l, "\t")+1, fields, l)
			}
			if !utf8.ValidString(l) || strings.ContainsAny(l, "\r") {
				t.Errorf("TSV line not clean: %q", l)
			}
		}
	case "junit":
		junitcheck.Validate(t, []byte(out))
		if err := xml.Unmarshal([]byte(out), new(struct{})); err != nil {
			t.Errorf("not XML: %v", err)
		}
		if strings.Contains(out, "<script>") {
			t.Errorf("raw markup in XML:\n%s", out)
		}
	case "html":
		if strings.Contains(out, "<script>alert") {
			t.Errorf("raw hostile markup in HTML")
		}
	case "table":
		if strings.Contains(out, "\x1b") {
			t.Errorf("escape sequences in the table")
		}
	}
}
