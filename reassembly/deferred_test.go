package reassembly

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/decode"
)

// deferRun feeds pkts to a Tracker, with Options.Defer set (each Deferred
// built into its Flow later, after the next packet, as another goroutine
// would) or not, and returns the flows in order, the Early counters and
// how many attempts were deferred, decided early among them.
func deferRun(t *testing.T, opts Options, pkts []*decode.Packet, deferred bool) (flows []*Flow, early EarlyStats, n, nEarly int) {
	t.Helper()
	var queue []Deferred
	b := NewBuilder(opts)
	drain := func() {
		for i := range queue {
			flows = append(flows, keep(b.Flow(&queue[i])))
		}
		queue = queue[:0]
	}
	emit := func(f *Flow) {
		drain() // the deferred attempts came first
		flows = append(flows, keep(f))
	}
	if deferred {
		opts.Defer = func(d *Deferred) {
			queue = append(queue, *d)
			n++
			if d.hasEarly {
				nEarly++
			}
		}
	}
	tr := New(opts, emit)
	for _, p := range pkts {
		q := *p
		tr.Add(&q)
	}
	tr.Flush()
	drain()
	return flows, tr.Early(), n, nEarly
}

// TestDeferredSameFlows: attempts decided while compact and built later by
// a Builder are the flows the Tracker emits itself, in the same order,
// with the same early decisions and tombstones, at any memory bound.
func TestDeferredSameFlows(t *testing.T) {
	syns := randomSYNs(rand.New(rand.NewPCG(7, 8)), 3000)
	mix := interleave(mixGens(rand.New(rand.NewPCG(1, 2))))
	for _, tc := range []struct {
		name string
		opts Options
		pkts []*decode.Packet
	}{
		{"syns", Options{}, syns},
		{"syns-idle", Options{IdleTimeout: 3 * time.Second}, syns},
		{"syns-bounded", Options{MaxMemory: memoryFor(200)}, syns},
		{"syns-bounded-noconn", Options{MaxMemory: memoryFor(200), NoConnState: true}, syns},
		{"mix", Options{IdleTimeout: 5 * time.Second}, mix},
		{"mix-bounded", Options{MaxMemory: memoryFor(20)}, mix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, wantEarly, _, _ := deferRun(t, tc.opts, tc.pkts, false)
			got, gotEarly, n, nEarly := deferRun(t, tc.opts, tc.pkts, true)
			if n == 0 || tc.opts.MaxMemory > 0 && nEarly == 0 {
				t.Fatalf("%d attempts deferred, %d decided early: the test shows nothing", n, nEarly)
			}
			if len(got) != len(want) {
				t.Fatalf("%d flows deferred, %d emitted", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("flow %d differs:\ndeferred %+v\n emitted %+v", i, got[i], want[i])
				}
			}
			if gotEarly != wantEarly {
				t.Errorf("early counters %+v deferred, %+v emitted", gotEarly, wantEarly)
			}
		})
	}
}
