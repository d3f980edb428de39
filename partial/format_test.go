package partial

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/decode"
	"github.com/hsanalyze/hsanalyze/internal/rezip"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// mixPartial returns the partial of the 200-flow mix.
func mixPartial(t testing.TB, ao analyze.Options) []byte {
	t.Helper()
	f, err := capture.Open("../testdata/pcaps/mix-200.pcap", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := Write(&buf, []*capture.File{f}, []string{"mix-200.pcap"}, ao, "test"); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenRefusesDamage checks that a truncated or corrupted partial is
// refused by Open, naming the file, before anything is merged.
func TestOpenRefusesDamage(t *testing.T) {
	good := mixPartial(t, analyze.Options{})
	dir := t.TempDir()
	if _, err := Open([]string{writeFile(t, dir, "good", good)}, nil); err != nil {
		t.Fatalf("the intact partial: %v", err)
	}
	check := func(what string, b []byte) {
		t.Helper()
		path := writeFile(t, dir, "bad", b)
		_, err := Open([]string{path}, nil)
		var pe *Error
		if !errors.As(err, &pe) || pe.Path != path || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err %v, want an *Error naming %s", what, err, path)
		}
	}
	cuts, flips := 300, 100
	if testing.Short() {
		cuts, flips = 40, 20
	}
	for n := 0; n < len(good); n += max(1, len(good)/cuts) {
		check("truncated", good[:n])
	}
	body := rezip.BodyStart(good)
	for i := body; i < len(good); i += max(1, (len(good)-body)/flips) {
		b := bytes.Clone(good)
		b[i] ^= 0x5a
		check("flipped byte", b)
	}
	check("trailing garbage", append(bytes.Clone(good), 0))
	old := bytes.Replace(good, []byte(`"version":3`), []byte(`"version":2`), 1)
	check("older version", old)
	if _, err := Open([]string{writeFile(t, dir, "old", old)}, nil); err == nil || !strings.Contains(err.Error(), "partial format version 2; this hsanalyze reads version 3") {
		t.Errorf("a version 2 partial: %v, want the versions named", err)
	}
	check("newer version", bytes.Replace(good, []byte(`"version":3`), []byte(`"version":4`), 1))
	check("other layout", bytes.Replace(good, []byte(`"layout":"`), []byte(`"layout":"0`), 1))
	check("not a partial", []byte("\xd4\xc3\xb2\xa1 a pcap"))
	if _, err := Open([]string{filepath.Join(dir, "absent")}, nil); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("absent file: %v", err)
	}
}

// TestOpenRefusesOtherOptions checks that partials written with different
// tracking options are not merged.
func TestOpenRefusesOtherOptions(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a", mixPartial(t, analyze.Options{}))
	b := writeFile(t, dir, "b", mixPartial(t, analyze.Options{Tracker: reassembly.Options{IdleTimeout: time.Minute}}))
	_, err := Open([]string{a, b}, nil)
	if err == nil || !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), "--idle-timeout 1m0s") {
		t.Errorf("mixed options: %v", err)
	}
	want := ResolveOptions(analyze.Options{VerifyChecksums: true})
	if _, err := Open([]string{a}, &want); err == nil || !strings.Contains(err.Error(), "--checksum") {
		t.Errorf("options other than the command line's: %v", err)
	}
}

// FuzzOpen feeds arbitrary partials to Open and Run: they must be refused
// or merged, never crash.
func FuzzOpen(f *testing.F) {
	f.Add(mixPartial(f, analyze.Options{}))
	f.Add([]byte(Magic + "\n{}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := writeFile(t, dir, "p", b)
		plan, err := Open([]string{path}, nil)
		if err != nil {
			return
		}
		if err := plan.Run(func(*reassembly.Flow) {}, func(string) {}); err != nil {
			t.Logf("Run: %v", err)
		}
	})
}

// TestAddCounters checks that merging sums every decode counter.
func TestAddCounters(t *testing.T) {
	var a, b decode.Counters
	b.ByKind[1], b.IP = 3, 5
	addCounters(&a, &b)
	addCounters(&a, &b)
	if a.ByKind[1] != 6 || a.IP != 10 {
		t.Errorf("sum %+v", a)
	}
}

// TestOpenPlanDamage checks OpenPlan's promise: a damaged partial is
// refused, naming the file, either by OpenPlan or by the Plan's Run, never
// merged as if it were intact; damage inside a valid zstd stream (a flipped
// byte of a record) gets past OpenPlan only to be found by Run.
func TestOpenPlanDamage(t *testing.T) {
	good := mixPartial(t, analyze.Options{})
	dir := t.TempDir()
	// merge opens path with OpenPlan and runs the plan: it returns the
	// flows emitted, whether OpenPlan took the file, and the error.
	merge := func(path string) (n int, planned bool, err error) {
		p, err := OpenPlan([]string{path}, nil)
		if err != nil {
			return 0, false, err
		}
		err = p.Run(func(*reassembly.Flow) { n++ }, func(string) {})
		return n, true, err
	}
	want, _, err := merge(writeFile(t, dir, "good", good))
	if err != nil || want == 0 {
		t.Fatalf("the intact partial: %d flows, %v", want, err)
	}
	check := func(what string, b []byte) (atRun bool) {
		t.Helper()
		path := writeFile(t, dir, "bad", b)
		_, planned, err := merge(path)
		var pe *Error
		if !errors.As(err, &pe) || pe.Path != path {
			t.Errorf("%s: err %v, want an *Error naming %s", what, err, path)
		}
		if _, err := Open([]string{path}, nil); err == nil {
			t.Errorf("%s: Open took it", what)
		}
		return planned
	}
	cuts := 100
	if testing.Short() {
		cuts = 20
	}
	for n := 0; n < len(good); n += max(1, len(good)/cuts) {
		check("truncated", good[:n])
	}
	byRun := 0
	// Positions spread over about the records' length (the compressed
	// stream's, which is shorter), each taken modulo the records' length.
	size := len(good) - rezip.BodyStart(good)
	for k := range 60 {
		at := 1 + k*size/60
		b := rezip.Partial(t, good, func(r []byte) {
			if i := at % len(r); i < len(r)-8 { // not the end marker
				r[i] ^= 0xff
			}
		})
		path := writeFile(t, dir, "flip", b)
		n, _, err := merge(path)
		if err == nil {
			// A flip that still decodes must not have gone unseen by
			// Open either: both read the same records.
			if _, oerr := Open([]string{path}, nil); oerr != nil {
				t.Errorf("flip at %d: merged %d flows after OpenPlan, but Open refuses it: %v", at, n, oerr)
			}
			continue
		}
		if check("flipped record byte", b) {
			byRun++
		}
	}
	t.Logf("%d of 60 flipped records got past OpenPlan to be refused by Run", byRun)
	if byRun == 0 {
		t.Errorf("no flipped record got past OpenPlan: the test checks nothing of Run")
	}
}
