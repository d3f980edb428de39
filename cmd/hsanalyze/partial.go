package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/partial"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// writePartial analyses the captures as one and writes a partial result
// to --partial OUT (replaced only once complete); it returns the exit
// status: 0, or 2 when nothing could be analysed or OUT not written.
func writePartial(cfg *config, files []*capture.File, stdout, stderr io.Writer) (status int) {
	dst, done, err := openOutput(cfg.partial, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		return exitError
	}
	out := bufio.NewWriterSize(dst, 64<<10)
	o := analysisOptions(cfg, &hooks{
		start: func(int64) {},
		warn: func(msg string) {
			fmt.Fprintf(stderr, "hsanalyze: warning: %s (the partial holds the results up to there)\n", msg)
		},
	})
	o.Tracker.NoConnState = false // merge may write any format
	if !cfg.set["workers"] {
		// Partials are written many at a time (one per file on every
		// core, GNU parallel, Dask): one goroutine each does the most
		// work per CPU. --workers 2 reads and decodes on a second,
		// about a tenth faster for one partial alone.
		o.Workers = 1
	}
	_, runErr := partial.Write(out, files, cfg.files, o, version())
	if runErr == nil || isAnalysisError(runErr) {
		if err := out.Flush(); err != nil && runErr == nil {
			runErr = fmt.Errorf("output %s: %w", cfg.partial, err)
		}
	}
	ok := runErr == nil || isAnalysisError(runErr)
	if err := done(ok); err != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		return exitError
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", runErr)
		return exitError
	}
	return exitOK
}

// mergeAndReport merges the partials named on the command line and writes
// the report as an analysis of their captures would.
func mergeAndReport(cfg *config, stdout, stderr io.Writer) int {
	var want *partial.Options
	if cfg.set["idle-timeout"] || cfg.set["close-linger"] || cfg.set["reorder-window"] || cfg.set["checksum"] ||
		cfg.set["dedup-window"] || cfg.set["max-memory"] {
		o := partial.ResolveOptions(analysisOptions(cfg, nil))
		want = &o
	}
	open := partial.Open
	if holdsReport(cfg) {
		open = partial.OpenPlan // a failed merge prints nothing anyway
	}
	plan, err := open(cfg.files, want)
	if err != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		return exitError
	}
	m := plan.Merged()
	cfg.files = m.Files // the report names the captures, not the partials
	return writeReport(cfg, nil, stdout, stderr, func(h *hooks, emit func(*reassembly.Flow)) (*report.Capture, error) {
		if m.HasStart {
			h.start(m.StartTS)
		}
		for _, w := range m.Warnings {
			h.warn(w)
		}
		warnings := len(m.Warnings)
		if err := plan.Run(emit, func(msg string) {
			warnings++
			fmt.Fprintf(stderr, "hsanalyze: warning: %s\n", msg)
		}); err != nil {
			return nil, &abortError{err}
		}
		return &report.Capture{
			Files:       m.Files,
			Packets:     m.Packets,
			TCPPackets:  m.TCPPackets,
			Decoded:     m.Decoded,
			Fragments:   m.Fragments,
			Reassembled: m.Reassembled,
			Warnings:    warnings,
			Duplicates:  m.Duplicates,
			FirstTS:     m.FirstTS,
			LastTS:      m.LastTS,
			Early:       m.Early,
		}, nil
	})
}

// holdsReport reports whether cfg's report is written only once every
// flow has been seen: JSON and the table sort their flows at the end, so
// a merge that fails part-way (an abortError) prints nothing, without
// every partial checked beforehand (partial.OpenPlan). The streaming
// formats print flows as they come and need partial.Open's check.
func holdsReport(cfg *config) bool {
	return (cfg.format == "json" || cfg.format == "table") && !cfg.perFile
}
