package main

import (
	"fmt"
	"io"

	"github.com/hsanalyze/hsanalyze/capture"
)

// perFile analyses each file as a capture of its own (its own frame
// numbers, clock and summary) and reports them one after another into one
// output: tables in turn under a heading; JSON as {"per_file": [report,
// …]}; NDJSON and CSV with a file field on every flow (NDJSON adds each
// file's summary line after its flows). --fail-on judges every file; the
// exit status is the most serious of the files'.
func perFile(cfg *config, files []*capture.File, stdout, stderr io.Writer) int {
	dst, done, err := openOutput(cfg.output, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		return exitError
	}
	one := *cfg
	one.output = "" // every report goes to dst, opened once
	status := exitOK
	write := func(s string) {
		if err == nil {
			_, err = io.WriteString(dst, s)
		}
	}
	if cfg.format == "json" {
		write("{\"per_file\":[\n")
	}
	for i, f := range files {
		one.files = []string{cfg.files[i]}
		one.fileTag = cfg.files[i]
		one.csvNoHeader = cfg.format == "csv" && i > 0
		switch {
		case cfg.format == "table" && i > 0:
			write("\n")
			fallthrough
		case cfg.format == "table":
			write(fmt.Sprintf("══ %s (file %d of %d) ══\n", cfg.files[i], i+1, len(files)))
		case cfg.format == "json" && i > 0:
			write(",\n")
		}
		st := analyzeAndReport(&one, []*capture.File{f}, dst, stderr)
		status = worse(status, st)
		if st == exitError || st >= exitSIGINT {
			break
		}
	}
	if cfg.format == "json" {
		write("]}\n")
	}
	if err != nil {
		fmt.Fprintf(stderr, "hsanalyze: write report: %v\n", err)
		status = exitError
	}
	if err := done(status != exitError); err != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		return exitError
	}
	return status
}

// worse returns the more serious of two exit statuses: a signal, then an
// error, then --fail-on, then success.
func worse(a, b int) int {
	rank := func(s int) int {
		switch {
		case s >= exitSIGINT:
			return 3
		case s == exitError:
			return 2
		case s == exitFailOn:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
