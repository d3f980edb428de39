package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// graceperiod is how long hsanalyze keeps reading after SIGINT or SIGTERM:
// in `tcpdump -w - | hsanalyze -` Ctrl-C signals both, and tcpdump still
// flushes what it captured before it exits.
const graceperiod = 2 * time.Second

// Exit statuses after a signal: 128 + the signal number, as a shell
// reports a command killed by it.
const (
	exitSIGINT  = 130
	exitSIGTERM = 143
)

// interruption follows the signals of one run: the first starts the grace
// period, after which reading stops (stop, cancel); a second one exits at
// once.
type interruption struct {
	stop   atomic.Bool   // analyze.Options.Stop
	cancel chan struct{} // closed when reading must stop: ends a blocked read
	status atomic.Int32  // exit status of the first signal, 0 if none
	once   sync.Once
}

// watchSignals starts following sigs (nil: no signal handling, as in the
// in-process tests) and returns the interruption; exit ends the process on
// a second signal.
func watchSignals(sigs <-chan os.Signal, stderr io.Writer, exit func(int)) *interruption {
	in := &interruption{cancel: make(chan struct{})}
	if sigs == nil {
		return in
	}
	go func() {
		for sig := range sigs {
			status := int32(exitSIGINT)
			if sig == syscall.SIGTERM {
				status = exitSIGTERM
			}
			if !in.status.CompareAndSwap(0, status) {
				fmt.Fprintf(stderr, "hsanalyze: %v again: quitting without a report\n", sig)
				exit(int(status))
				return
			}
			fmt.Fprintf(stderr, "hsanalyze: %v: reading what is still delivered for up to %v, then reporting (again to quit at once)\n", sig, graceperiod)
			time.AfterFunc(graceperiod, in.stopReading)
		}
	}()
	return in
}

// stopReading ends reading: analyze stops before the next record, and a
// read blocked on standard input returns end of input.
func (in *interruption) stopReading() {
	in.once.Do(func() {
		in.stop.Store(true)
		close(in.cancel)
	})
}

// interrupted returns the exit status of the signal received, 0 if none.
func (in *interruption) interrupted() int { return int(in.status.Load()) }

// cancelReader reads r until cancel is closed, then reports end of input
// at once, even while a read of r is blocked (that read is abandoned: the
// process is about to report and exit).
type cancelReader struct {
	r       io.Reader
	cancel  <-chan struct{}
	res     chan readResult
	buf     []byte
	data    []byte // read but not yet returned
	err     error  // to return once data is drained
	pending bool   // a read of r is in flight
}

type readResult struct {
	n   int
	err error
}

func newCancelReader(r io.Reader, cancel <-chan struct{}) *cancelReader {
	return &cancelReader{r: r, cancel: cancel, res: make(chan readResult, 1), buf: make([]byte, 64<<10)}
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 && c.err != nil {
		return 0, c.err
	}
	if len(c.data) == 0 {
		if !c.pending {
			c.pending = true
			go func() {
				n, err := c.r.Read(c.buf)
				c.res <- readResult{n, err}
			}()
		}
		select {
		case r := <-c.res:
			c.pending = false
			c.data, c.err = c.buf[:r.n], r.err
		case <-c.cancel:
			c.err = io.EOF
			return 0, io.EOF
		}
	}
	n := copy(p, c.data)
	c.data = c.data[n:]
	if len(c.data) == 0 && c.err != nil {
		return n, c.err
	}
	return n, nil
}

// flusher flushes a buffered writer at most every interval while records
// arrive, so that a live pipeline sees each record at most that late; the
// writer is shared with the analysis goroutine under mu.
type flusher struct {
	mu sync.Mutex
	w  interface {
		io.Writer
		Flush() error
		Buffered() int
	}
	done chan struct{}
	wg   sync.WaitGroup
}

// flushInterval bounds how late a decided record reaches a pipe.
const flushInterval = 100 * time.Millisecond

func startFlusher(w interface {
	io.Writer
	Flush() error
	Buffered() int
}) *flusher {
	f := &flusher{w: w, done: make(chan struct{})}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(flushInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				f.mu.Lock()
				if f.w.Buffered() > 0 {
					f.w.Flush()
				}
				f.mu.Unlock()
			case <-f.done:
				return
			}
		}
	}()
	return f
}

func (f *flusher) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w.Write(p)
}

// stop ends the flushing goroutine; the caller flushes the rest.
func (f *flusher) stop() {
	close(f.done)
	f.wg.Wait()
}

// isPipe reports whether w is a pipe or FIFO.
func isPipe(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeNamedPipe != 0
}

// readsLiveStdin reports whether the run reads a capture from a live
// standard input: one of the captures is "-" and standard input is a pipe
// or a terminal. A run over named files is never live, whatever standard
// input is: a shell pipeline or a terminal hands every command a pipe or a
// tty there, and tracking files packet by packet would cost one hand-off
// between goroutines per packet.
func readsLiveStdin(files []string, stdin io.Reader) bool {
	return slices.Contains(files, "-") && isLiveInput(stdin)
}

// isLiveInput reports whether standard input, as a capture, is fed live
// (a pipe or a terminal, not a regular file).
func isLiveInput(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && !st.Mode().IsRegular()
}
