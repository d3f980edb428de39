package main

import (
	"errors"
	"slices"
	"sync"

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
func runJobs(cfg *config, files []*capture.File, h *hooks, emit func(*reassembly.Flow)) (sum analyze.Summary, err error, ok bool) {
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
	results := make([]jobResult, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held int64 // bytes of the partial results done
	for range jobs {
		wg.Go(func() {
			for i := range next {
				results[i] = runJob(i, cfg)
				if p := results[i].part; p != nil {
					mu.Lock()
					held += p.Size()
					limitMemoryHolding(cfg.maxMem, jobs, held)
					mu.Unlock()
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()

	parts := make([]*partial.MemPart, len(files))
	var errs []error
	for i, r := range results {
		if r.part == nil { // the job could not even start: do it the plain way
			return sum, nil, false
		}
		parts[i] = r.part
		errs = append(errs, r.err)
	}
	limitMemoryHolding(cfg.maxMem, 2, held)
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

// runJob analyses cfg.files[i] alone into a partial result in memory (on
// one goroutine: the jobs keep the CPUs busy).
func runJob(i int, cfg *config) (r jobResult) {
	f, err := capture.Open(cfg.files[i], nil, 0)
	if err != nil {
		return r
	}
	defer f.Close()
	part, sum, runErr := partial.WriteMemory([]*capture.File{f}, cfg.files[i:i+1], analysisOptions(cfg, nil), flowCodec)
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
