package report

import (
	"errors"
	"io"
	"runtime"
	"sync/atomic"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// flowFormat appends f, the n-th flow of the output (from 0), to dst. Each
// goroutine of writeSorted has a flowFormat of its own.
type flowFormat func(dst []byte, f *reassembly.Flow, n uint64) []byte

// chunkFlows is how many flows one chunk of writeSorted carries: enough to
// make the hand-offs rare, few enough that the chunks in flight (three per
// goroutine, each with its formatted output, about 1 MB for JSON) stay
// small.
const chunkFlows = 1024

// writeSorted writes the flows of s, sorted (flowStore.each), each
// formatted by a flowFormat from newFormat, to w. With workers > 1, the
// records are cut into chunks of consecutive flows that workers
// goroutines decode and format at once, while the caller's goroutine
// writes their output in order: the same bytes as one goroutine writes,
// in about 1/workers of the time. workers 0 is GOMAXPROCS.
func (s *flowStore) writeSorted(w io.Writer, workers int, newFormat func() flowFormat) error {
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers < 2 || s.n <= chunkFlows {
		format, buf, n := newFormat(), []byte(nil), uint64(0)
		return s.each(func(f *reassembly.Flow) error {
			buf = format(buf[:0], f, n)
			n++
			_, err := w.Write(buf)
			return err
		})
	}
	var (
		jobs  = make(chan *flowChunk, workers)
		order = make(chan *flowChunk, 3*workers)
		free  = make(chan *flowChunk, 3*workers)
		stop  atomic.Bool // the writer failed: the reader ends early
		rdErr error
	)
	for range cap(free) {
		free <- &flowChunk{done: make(chan struct{}, 1)}
	}
	for range workers {
		go func() {
			format := newFormat()
			var f reassembly.Flow
			for c := range jobs {
				c.format(format, &f)
				c.done <- struct{}{}
			}
		}()
	}
	go func() {
		defer close(order)
		defer close(jobs)
		c, n := <-free, uint64(0)
		send := func() {
			jobs <- c
			order <- c
		}
		rdErr = s.eachRecord(func(rec []byte) error {
			if stop.Load() {
				return errStopped
			}
			if len(c.ends) == 0 {
				c.first = n
			}
			c.recs = append(c.recs, rec...)
			c.ends = append(c.ends, len(c.recs))
			n++
			if len(c.ends) == chunkFlows {
				send()
				c = <-free
			}
			return nil
		})
		if len(c.ends) > 0 {
			send()
		}
	}()
	var err error
	for c := range order {
		<-c.done
		if err == nil {
			if err = c.err; err == nil {
				_, err = w.Write(c.out)
			}
			if err != nil {
				stop.Store(true)
			}
		}
		c.recs, c.ends, c.out, c.err = c.recs[:0], c.ends[:0], c.out[:0], nil
		free <- c
	}
	// order is closed: the reader is done and rdErr set.
	if err != nil {
		return err
	}
	if rdErr != errStopped {
		return rdErr
	}
	return nil
}

// errStopped ends writeSorted's reading after the writer failed.
var errStopped = errors.New("writing the flows failed")

// flowChunk is consecutive flow records of writeSorted and, once done is
// signalled, their formatted output or the first decoding error.
type flowChunk struct {
	first uint64 // the output index of the first flow
	recs  []byte // records, back to back
	ends  []int  // the end of each record in recs
	out   []byte
	err   error
	done  chan struct{}
}

// format decodes the chunk's records into f one by one and formats them.
func (c *flowChunk) format(format flowFormat, f *reassembly.Flow) {
	start := 0
	for i, end := range c.ends {
		if c.err = decodeFlowRecord(c.recs[start:end], f); c.err != nil {
			return
		}
		c.out = format(c.out, f, c.first+uint64(i))
		start = end
	}
}
