package capture

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sharedDir holds the project's shared corpus of public captures.
const sharedDir = "../../shared/pcaps"

// sharedOutcome is what reading one shared capture gave.
type sharedOutcome struct {
	packets  int
	earliest int64 // smallest Timestamp (capinfos's "First packet time")
	warning  error // the *FileError ending a damaged file, if any
	refused  error // the error from Open, if any
}

func readShared(t *testing.T, path string) (out sharedOutcome) {
	t.Helper()
	f, err := Open(path, nil, 0)
	if err != nil {
		out.refused = err
		return out
	}
	defer f.Close()
	var rec Record
	for {
		err := f.Next(&rec)
		if err == io.EOF {
			return out
		}
		if err != nil {
			out.warning = err
			if err := f.Next(&rec); err != io.EOF {
				t.Errorf("Next after a warning = %v, want io.EOF", err)
			}
			return out
		}
		out.packets++
		if out.packets == 1 || rec.Timestamp < out.earliest {
			out.earliest = rec.Timestamp
		}
		if rec.Frame != uint64(out.packets) {
			t.Fatalf("record %d has Frame %d", out.packets, rec.Frame)
		}
	}
}

// TestSharedCaptures reads every capture of the shared corpus to its end and
// checks the damaged ones against the MANIFEST and tshark's oracle.
func TestSharedCaptures(t *testing.T) {
	manifest := filepath.Join(sharedDir, "MANIFEST.tsv")
	mf, err := os.Open(manifest)
	if err != nil {
		t.Skipf("shared captures not available (%v)", err)
	}
	defer mf.Close()

	// Expected outcomes of the damaged files (MANIFEST notes and
	// oracle/unreadable.tsv). Every other file must read cleanly.
	type want struct {
		refused error // sentinel Open must fail with
		warning error // sentinel of the part-way warning
		packets int   // records read before the warning
		offset  int64 // offset of the warning, -1: not checked
		reason  string
	}
	wants := map[string]want{
		"libpcap/pcap-invalid-version-1.pcap":                        {refused: ErrUnsupportedVersion, reason: "pcap major version 1 (tshark: major version 1 unsupported)"},
		"libpcap/pcapng-invalid-vers-1.pcapng":                       {refused: ErrUnsupportedVersion, reason: "SHB version 0.1 (tshark: unknown SHB version 0.1)"},
		"libpcap/shb-option-too-long.pcapng":                         {refused: ErrBadRecord, reason: "SHB option runs past its block (tshark: not enough data for option of length 12336)"},
		"suricata-verify/bug-1450-04/tls_DER-incomplete-header.pcap": {warning: ErrBadRecord, packets: 6, offset: -1, reason: "record 7 claims a 4325376-byte packet (tshark stops after 6)"},
		"suricata-verify/bug-6875-01/fuzz.pcap":                      {warning: ErrBadRecord, packets: 1, offset: 24 + 16 + 0xbc, reason: "record 2 claims a 16711424-byte packet"},
		"suricata-verify/http-mime-truncated/input.pcap":             {warning: ErrTruncated, offset: -1, packets: -1, reason: "cut short in the middle of the last packet"},
	}

	oracleCount := regexp.MustCompile(`(?m)^Number of packets:\s+(\d+)\s*$`)
	oracleFirst := regexp.MustCompile(`(?m)^First packet time:\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\s*$`)
	var clean, warned, refused, counted, timed int
	seen := map[string]bool{}
	sc := bufio.NewScanner(mf)
	sc.Scan() // header
	for sc.Scan() {
		local := strings.SplitN(sc.Text(), "\t", 2)[0]
		if local == "" {
			continue
		}
		seen[local] = true
		t.Run(local, func(t *testing.T) {
			out := readShared(t, filepath.Join(sharedDir, local))
			w, damaged := wants[local]
			switch {
			case out.refused != nil:
				refused++
				t.Logf("refused: %v", out.refused)
				if !damaged || w.refused == nil || !errors.Is(out.refused, w.refused) {
					t.Errorf("Open = %v, want %v", out.refused, w.refused)
				}
				return
			case out.warning != nil:
				warned++
				t.Logf("%d records, then warning: %v", out.packets, out.warning)
				if !damaged || w.warning == nil || !errors.Is(out.warning, w.warning) {
					t.Errorf("warning = %v, want %v", out.warning, w.warning)
				}
				if w.packets >= 0 && out.packets != w.packets {
					t.Errorf("read %d records before the warning, want %d", out.packets, w.packets)
				}
				var fe *FileError
				if errors.As(out.warning, &fe) && w.offset >= 0 && fe.Offset != w.offset {
					t.Errorf("warning at offset %d, want %d", fe.Offset, w.offset)
				}
			default:
				clean++
				if damaged {
					t.Errorf("read %d records cleanly, want %s", out.packets, w.reason)
				}
			}
			// tshark's packet count, where capinfos could read the file.
			if oracle, err := os.ReadFile(filepath.Join(sharedDir, "oracle", local+".txt")); err == nil {
				if m := oracleCount.FindSubmatch(oracle); m != nil {
					n, _ := strconv.Atoi(string(m[1]))
					if n != out.packets {
						t.Errorf("read %d records, tshark (capinfos) counts %d", out.packets, n)
					}
					counted++
				}
				// capinfos prints the earliest time stamp in UTC with
				// the file's precision; compare as many digits.
				if m := oracleFirst.FindSubmatch(oracle); m != nil && out.packets > 0 {
					want := string(m[1])
					digits := len(want) - strings.IndexByte(want, '.') - 1
					got := time.Unix(0, out.earliest).UTC().Format("2006-01-02 15:04:05.000000000")
					got = got[:len(got)-9+digits]
					if got != want {
						t.Errorf("earliest record at %s, capinfos says %s", got, want)
					}
					timed++
				}
			}
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for name := range wants {
		if !seen[name] {
			t.Errorf("%s: expected in MANIFEST.tsv", name)
		}
	}
	t.Logf("shared captures: %d clean, %d with a warning, %d refused; packet count checked against capinfos for %d, first timestamp for %d",
		clean, warned, refused, counted, timed)
}
