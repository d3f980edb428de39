package report

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// TestWriteSortedSameForWorkers checks that formatting the sorted flows on
// several goroutines writes the same bytes as one, in memory and from
// spilled runs, for counts around a chunk's size.
func TestWriteSortedSameForWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	flows := make([]reassembly.Flow, 3*chunkFlows+17)
	for i := range flows {
		fill(t, rng, reflect.ValueOf(&flows[i]).Elem())
		flows[i].FirstTS = int64(rng.IntN(500))
	}
	format := func() flowFormat {
		enc := flowEncoder{}
		return func(dst []byte, f *reassembly.Flow, n uint64) []byte {
			dst = fmt.Appendf(dst, "%d ", n)
			return append(enc.append(dst, f), '\n')
		}
	}
	for _, n := range []int{0, 1, chunkFlows, chunkFlows + 1, len(flows)} {
		for _, spillAt := range []int{0, 8192} {
			var want []byte
			for _, workers := range []int{1, 2, 3, 8} {
				s := flowStore{spillAt: spillAt}
				for i := range flows[:n] {
					if err := s.add(&flows[i]); err != nil {
						t.Fatal(err)
					}
				}
				var out bytes.Buffer
				err := s.writeSorted(&out, workers, format)
				s.close()
				if err != nil {
					t.Fatal(err)
				}
				if workers == 1 {
					want = out.Bytes()
					if got := bytes.Count(want, []byte("\n")); got != n {
						t.Fatalf("%d flows: %d lines", n, got)
					}
				} else if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("%d flows, spillAt %d: %d workers write other bytes than 1", n, spillAt, workers)
				}
			}
		}
	}
}

// failingWriter fails its writes after ok bytes.
type failingWriter struct{ ok int }

var errWrite = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.ok {
		return 0, errWrite
	}
	w.ok -= len(p)
	return len(p), nil
}

// TestWriteSortedWriteError: a failing writer ends writeSorted with its
// error, and every goroutine it started returns.
func TestWriteSortedWriteError(t *testing.T) {
	var s flowStore
	defer s.close()
	f := benchFlow()
	for range 20 * chunkFlows {
		if err := s.add(&f); err != nil {
			t.Fatal(err)
		}
	}
	format := func() flowFormat {
		enc := flowEncoder{}
		return func(dst []byte, f *reassembly.Flow, _ uint64) []byte { return enc.append(dst, f) }
	}
	before := runtime.NumGoroutine()
	for _, workers := range []int{1, 2, 4} {
		if err := s.writeSorted(&failingWriter{ok: 3 << 20}, workers, format); !errors.Is(err, errWrite) {
			t.Errorf("%d workers: %v, want %v", workers, err, errWrite)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left running", runtime.NumGoroutine()-before)
		}
	}
}
