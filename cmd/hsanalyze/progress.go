package main

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/hsanalyze/hsanalyze/capture"
)

// progress draws one status line on stderr while a long analysis runs:
// bytes read of the total, packets per second and the time left. It
// redraws a few times a second from its own goroutine and erases itself on
// stop.
type progress struct {
	w       io.Writer
	files   []*capture.File
	packets atomic.Uint64
	done    chan struct{}
	stopped chan struct{}
}

// progressDelay is how long a run must last before the line appears: quick
// runs stay silent.
const progressDelay = 500 * time.Millisecond

func startProgress(w io.Writer, files []*capture.File) *progress {
	p := &progress{w: w, files: files, done: make(chan struct{}), stopped: make(chan struct{})}
	go p.loop()
	return p
}

func (p *progress) loop() {
	defer close(p.stopped)
	start := time.Now()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	drawn := false
	for {
		select {
		case <-p.done:
			if drawn {
				fmt.Fprint(p.w, "\r\x1b[K")
			}
			return
		case now := <-tick.C:
			if now.Sub(start) < progressDelay {
				continue
			}
			fmt.Fprint(p.w, "\r\x1b[K"+p.line(now.Sub(start)))
			drawn = true
		}
	}
}

// line formats the status for the time elapsed.
func (p *progress) line(elapsed time.Duration) string {
	var read, total int64
	known := true
	for _, f := range p.files {
		read += f.BytesRead()
		if sz := f.Size(); sz >= 0 {
			total += sz
		} else {
			known = false
		}
	}
	secs := elapsed.Seconds()
	rate := float64(p.packets.Load()) / secs
	s := fmt.Sprintf("hsanalyze: %s", mib(read))
	if known && total > 0 {
		frac := float64(read) / float64(total)
		s += fmt.Sprintf(" of %s (%.0f%%)", mib(total), 100*frac)
		if frac > 0 {
			left := time.Duration(secs * (1 - frac) / frac * float64(time.Second))
			s += fmt.Sprintf(", %s left", left.Round(time.Second))
		}
	}
	return s + fmt.Sprintf(", %.2f M packets/s", rate/1e6)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// stop erases the line and waits for the goroutine to end.
func (p *progress) stop() {
	close(p.done)
	<-p.stopped
}
