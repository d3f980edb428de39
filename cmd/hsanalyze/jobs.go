package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/partial"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// runJobs analyses several captures that follow one another in time
// (rotated files) in parallel, --jobs at a time: each file alone into a
// partial result held in memory, then the partials merged, which reports
// exactly what one analysis of them all would. ok is false when it
// does not apply (one file, --jobs 1, standard input, --flow, html) or when the
// files turn out to overlap in time: the caller then analyses them as one
// capture, merged in timestamp order.
//
// The jobs hold their partial results until the merge: at most
// jobsHeldFor(--max-memory) bytes of them. Past that the jobs stop, what
// they did is dropped and the files are analysed one after another (with
// a note on stderr), so that memory stays bounded however many files and
// flows there are.
func runJobs(cfg *config, files []*capture.File, h *hooks, stderr io.Writer, emit func(*reassembly.Flow)) (sum analyze.Summary, err error, ok bool) {
	// The HTML report, like --flow, follows every segment (a trace), which
	// a merge of partial results cannot replay: it is analysed as one.
	if cfg.jobs < 2 || len(files) < 2 || cfg.flow != "" || cfg.format == "html" || slices.Contains(cfg.files, "-") {
		return sum, nil, false
	}
	jobs := min(cfg.jobs, len(files))
	// Each job holds an attempt table of its own (bounded by --max-memory):
	// the collector's soft limit makes room for all of them, then for the
	// merge's table and one part's boundary.
	limitMemoryFor(cfg.maxMem, jobs)
	defer limitMemoryFor(cfg.maxMem, 2)
	run := newJobRun(cfg)
	defer run.close()
	results := make([]jobResult, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for i := range next {
				if run.over.Load() {
					continue // the run is given up: drain the files left
				}
				results[i] = runJob(i, cfg, run)
				limitMemoryHolding(cfg.maxMem, jobs, run.held.Load())
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	if run.over.Load() {
		fmt.Fprintf(stderr, "hsanalyze: note: --jobs: the partial results held for the merge passed %s (4 x --max-memory): analysing the files one after another instead; raise --max-memory to let --jobs hold more\n", formatSize(run.limit))
		return sum, nil, false
	}

	parts := make([]*partial.MemPart, len(files))
	var errs []error
	for i, r := range results {
		if r.part == nil { // the job could not even start: do it the plain way
			return sum, nil, false
		}
		parts[i] = r.part
		errs = append(errs, r.err)
	}
	limitMemoryHolding(cfg.maxMem, 2, run.held.Load())
	plan, perr := partial.MemPlan(parts, partial.ResolveOptions(analysisOptions(cfg, nil)))
	if perr != nil || plan.Overlapping() {
		return sum, nil, false
	}
	order := plan.Parts() // merged position -> file index
	m := plan.Merged()
	if m.HasStart {
		h.start(m.StartTS)
	}
	for _, p := range order {
		for _, fe := range results[p].sum.Warnings {
			h.warn(fe.Error())
			sum.Warnings = append(sum.Warnings, fe)
		}
	}
	var merged []string // inexact merges, see partial.Plan.Run
	runErr := plan.Run(func(f *reassembly.Flow) {
		f.File = order[f.File]
		for i := range f.Evidence {
			f.Evidence[i].File = order[f.Evidence[i].File]
		}
		emit(f)
	}, func(msg string) { merged = append(merged, msg) })
	for _, msg := range merged {
		h.warn(msg)
	}
	if runErr != nil {
		return sum, &abortError{runErr}, true
	}
	sum.Packets, sum.TCPPackets, sum.Decoded = m.Packets, m.TCPPackets, m.Decoded
	sum.Early, sum.Fragments, sum.Reassembled, sum.Duplicates = m.Early, m.Fragments, m.Reassembled, m.Duplicates
	sum.FirstTS, sum.LastTS = m.FirstTS, m.LastTS
	return sum, errors.Join(errs...), true
}

// jobResult is what one job left: its partial, its summary and its
// analysis error. No part means the analysis failed.
type jobResult struct {
	part *partial.MemPart
	sum  analyze.Summary
	err  error
}

// flowCodec is how the jobs hold their flows until they merge.
var flowCodec = partial.FlowCodec{Append: report.AppendFlowRecord, Decode: report.DecodeFlowRecord}

// jobsHeldFor is the most bytes of partial results the jobs of a run hold
// for the merge with --max-memory maxMem (0: no bound): four attempt
// tables' worth. A part of ordinary traffic holds about a sixth of its
// capture's size (some 100 bytes a flow and the packets of its first idle
// timeout, mostly as stubs), so at the default a run merges about 2 GB
// of capture in parallel.
func jobsHeldFor(maxMem int64) int64 { return 4 * maxMem }

// jobRun is what the jobs of one run share: the stop they analyse with
// (set by an interruption, as a sequential run's, or when what they hold
// passes limit) and the bytes held: the whole partial results of the jobs
// done, the flows of those still running.
type jobRun struct {
	stop  atomic.Bool
	over  atomic.Bool // held passed limit: the run is given up
	held  atomic.Int64
	limit int64         // 0: no bound
	done  chan struct{} // closed by close: ends the interruption's watcher
}

func newJobRun(cfg *config) *jobRun {
	run := &jobRun{limit: jobsHeldFor(cfg.maxMem), done: make(chan struct{})}
	if cfg.intr != nil {
		go func() {
			select {
			case <-cfg.intr.cancel:
				run.stop.Store(true)
			case <-run.done:
			}
		}()
	}
	return run
}

func (run *jobRun) close() { close(run.done) }

// hold counts n more bytes held and gives the run up past its limit.
func (run *jobRun) hold(n int64) {
	if run.held.Add(n) > run.limit && run.limit > 0 && !run.over.Load() {
		run.over.Store(true)
		run.stop.Store(true)
	}
}

// runJob analyses cfg.files[i] alone into a partial result in memory (on
// one goroutine: the jobs keep the CPUs busy).
func runJob(i int, cfg *config, run *jobRun) (r jobResult) {
	f, err := capture.Open(cfg.files[i], nil, 0)
	if err != nil {
		return r
	}
	defer f.Close()
	ao := analysisOptions(cfg, nil)
	ao.Stop = &run.stop
	ao.Workers = 1
	var flows int64 // bytes of this job's flows, counted in run as they come
	codec := flowCodec
	codec.Append = func(dst []byte, f *reassembly.Flow) []byte {
		n := len(dst)
		dst = flowCodec.Append(dst, f)
		flows += int64(len(dst) - n)
		run.hold(int64(len(dst) - n))
		return dst
	}
	part, sum, runErr := partial.WriteMemory([]*capture.File{f}, cfg.files[i:i+1], ao, codec)
	if part != nil {
		run.hold(part.Size() - flows) // the rest of the part, now known
	}
	if runErr != nil && !isAnalysisError(runErr) {
		return r
	}
	r.part, r.sum, r.err = part, sum, runErr
	return r
}

// isAnalysisError reports whether err is one analyze.Run reports after
// results (a file of no supported link type), not a failure to write.
func isAnalysisError(err error) bool {
	var ue *analyze.UnsupportedLinkError
	return errors.As(err, &ue)
}
