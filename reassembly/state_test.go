package reassembly

import (
	"reflect"
	"slices"
	"testing"
)

// TestStateCoversEntry fails when an attempt's table slot gains a field
// that State does not carry: Snapshot and Restore (state.go) must then
// carry it too, or partial results lose it across a cut.
func TestStateCoversEntry(t *testing.T) {
	carried := []string{"key", "bits" /* the client, Attempt.Client; eClosed is linkage, eZeek allocation */, "expTS", "seq", "file", "swap", "m"}
	links := []string{"prev", "next", "stamp"} // the table's own linkage and order
	et := reflect.TypeFor[entry]()
	for i := range et.NumField() {
		if name := et.Field(i).Name; !slices.Contains(carried, name) && !slices.Contains(links, name) {
			t.Errorf("entry.%s is not carried by State: add it to Attempt, Snapshot and Restore in state.go", name)
		}
	}
}
