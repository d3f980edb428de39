package handshake

import (
	"reflect"
	"testing"

	"github.com/hsanalyze/hsanalyze/decode"
)

// replay feeds segs to m and returns every event and the final Result.
func replay(m *Machine, segs []decode.Segment, icmp, client []bool) ([]Event, Result) {
	var evs []Event
	for i := range segs {
		if icmp[i] {
			evs = append(evs, m.ICMP(&segs[i], decode.ICMPError{Type: 3}, client[i]))
		} else {
			evs = append(evs, m.Step(&segs[i], client[i]))
		}
	}
	return evs, m.Result()
}

// FuzzReset checks that a Machine Reset after any attempt (its ring,
// out-of-range values, offered ISNs and unacceptable acks kept for reuse)
// judges the next attempt exactly as a zero Machine does, and that a
// Result taken before the Reset keeps its evidence.
func FuzzReset(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, first, next []byte) {
		segs, icmp, client := fuzzSegments(first)
		var m Machine
		_, before := replay(&m, segs, icmp, client)
		kept := append([]Anomaly(nil), before.Evidence...)
		m.Reset()
		segs, icmp, client = fuzzSegments(next)
		gotEv, got := replay(&m, segs, icmp, client)
		var fresh Machine
		segs, icmp, client = fuzzSegments(next)
		wantEv, want := replay(&fresh, segs, icmp, client)
		if !reflect.DeepEqual(gotEv, wantEv) {
			t.Fatalf("events after Reset differ:\n got %+v\nwant %+v", gotEv, wantEv)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("result after Reset differs:\n got %+v\nwant %+v", got, want)
		}
		if !reflect.DeepEqual(before.Evidence, kept) {
			t.Fatalf("the Reset changed an earlier Result's evidence:\n got %+v\nwant %+v", before.Evidence, kept)
		}
	})
}
