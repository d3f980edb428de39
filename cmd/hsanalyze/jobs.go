package main

import (
	"errors"
	"os"
	"slices"
	"sync"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/partial"
	"github.com/hsanalyze/hsanalyze/reassembly"
)

// runJobs analyses several captures that follow one another in time
// (rotated files) in parallel, --jobs at a time: each file alone into a
// partial result in a temporary file, then the partials merged, which
// reports exactly what one analysis of them all would. ok is false when it
// does not apply (one file, --jobs 1, standard input, --flow) or when the
// files turn out to overlap in time: the caller then analyses them as one
// capture, merged in timestamp order.
func runJobs(cfg *config, files []*capture.File, h *hooks, emit func(*reassembly.Flow)) (sum analyze.Summary, err error, ok bool) {
	if cfg.jobs < 2 || len(files) < 2 || cfg.flow != "" || slices.Contains(cfg.files, "-") {
		return sum, nil, false
	}
	dir, derr := os.MkdirTemp("", "hsanalyze-jobs-")
	if derr != nil {
		return sum, nil, false
	}
	defer os.RemoveAll(dir)

	jobs := min(cfg.jobs, len(files))
	// Each job holds an attempt table of its own (bounded by --max-memory):
	// the collector's soft limit makes room for all of them, then for the
	// merge's table and one part's boundary.
	limitMemoryFor(cfg.maxMem, jobs)
	defer limitMemoryFor(cfg.maxMem, 2)
	results := make([]jobResult, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range jobs {
		wg.Go(func() {
			for i := range next {
				results[i] = runJob(dir, i, cfg)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	paths := make([]string, len(files))
	var errs []error
	for i, r := range results {
		if r.path == "" { // the job could not even start: do it the plain way
			return sum, nil, false
		}
		paths[i] = r.path
		errs = append(errs, r.err)
	}
	limitMemoryFor(cfg.maxMem, 2)
	plan, perr := partial.OpenWritten(paths, nil)
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
// analysis error. No path means the partial could not be written.
type jobResult struct {
	path string
	sum  analyze.Summary
	err  error
}

// runJob analyses cfg.files[i] alone into a partial in dir.
func runJob(dir string, i int, cfg *config) (r jobResult) {
	f, err := capture.Open(cfg.files[i], nil, 0)
	if err != nil {
		return r
	}
	defer f.Close()
	out, err := os.CreateTemp(dir, "part-*.partial")
	if err != nil {
		return r
	}
	o := analysisOptions(cfg, nil)
	if cfg.workers == 0 {
		// The jobs keep the CPUs busy: a job's own pipeline would only add
		// hand-offs between goroutines.
		o.Workers = 1
	}
	sum, runErr := partial.WriteTemporary(out, []*capture.File{f}, cfg.files[i:i+1], o, version())
	if cerr := out.Close(); cerr != nil || (runErr != nil && !isAnalysisError(runErr)) {
		return r
	}
	r.path, r.sum, r.err = out.Name(), sum, runErr
	return r
}

// isAnalysisError reports whether err is one analyze.Run reports after
// results (a file of no supported link type), not a failure to write.
func isAnalysisError(err error) bool {
	var ue *analyze.UnsupportedLinkError
	return errors.As(err, &ue)
}
