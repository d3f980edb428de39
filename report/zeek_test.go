package report_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/report"
)

// zeekHeader is the start of every conn.log Zeek's ASCII writer opens.
var zeekHeader = []string{"#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn"}

// TestZeekShape checks the TSV the way zeek-cut and Zeek log readers read
// it: the header lines in order, #fields and #types of equal length with
// Zeek's conn.log fields first, one value per field in every record, and
// #close last; and that zeek-json has the same records with unset fields
// left out.
func TestZeekShape(t *testing.T) {
	a := analyzeFiles(t, goldenCases[0].files)
	out := render(t, a, "zeek", report.Options{})
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	for i, h := range zeekHeader {
		if lines[i] != h {
			t.Fatalf("header line %d %q, want %q", i+1, lines[i], h)
		}
	}
	if !strings.HasPrefix(lines[5], "#open\t") || !strings.HasPrefix(lines[len(lines)-1], "#close\t") {
		t.Fatalf("#open %q, #close %q", lines[5], lines[len(lines)-1])
	}
	fields := strings.Split(strings.TrimPrefix(lines[6], "#fields\t"), "\t")
	types := strings.Split(strings.TrimPrefix(lines[7], "#types\t"), "\t")
	zeek := strings.Fields("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents ip_proto")
	if len(fields) != len(types) || len(fields) < len(zeek) || strings.Join(fields[:len(zeek)], " ") != strings.Join(zeek, " ") {
		t.Fatalf("#fields %q\n#types %q", fields, types)
	}
	records := lines[8 : len(lines)-1]
	want := 0
	for _, f := range a.flows {
		want += 1 + len(f.ConnPrior)
	}
	if len(records) != want || want == len(a.flows) {
		t.Errorf("%d records, want %d for %d flows (syn-retransmit-3x is two Zeek connections)", len(records), want, len(a.flows))
	}
	uids := map[string]bool{}
	for i, r := range records {
		uid := strings.Split(r, "\t")[1]
		if uids[uid] || !strings.HasPrefix(uid, "C") {
			t.Errorf("record %d: uid %q repeated or not Zeek's form", i+1, uid)
		}
		uids[uid] = true
		if n := len(strings.Split(r, "\t")); n != len(fields) {
			t.Errorf("record %d has %d fields, want %d: %q", i+1, n, len(fields), r)
		}
	}

	js := render(t, a, "zeek-json", report.Options{})
	sc := bufio.NewScanner(bytes.NewReader(js))
	n := 0
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		vals := strings.Split(records[n], "\t")
		for j, f := range fields {
			v, ok := m[f]
			if ok == (vals[j] == "-") {
				t.Errorf("record %d %s: TSV %q, JSON %v (present %v)", n+1, f, vals[j], v, ok)
			}
		}
		n++
	}
	if n != len(records) {
		t.Errorf("%d JSON lines, %d TSV records", n, len(records))
	}
}
