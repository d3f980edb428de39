// Command hsanalyze reads packet captures offline and tells, for every TCP
// connection attempt in them, whether the three-way handshake completed,
// stayed half-open, was refused or broke the protocol, and why.
//
// Usage:
//
//	hsanalyze [flags] FILE...
//
// FILE is a pcap or pcapng file, plain or compressed with gzip, zstd, xz or
// bzip2 (detected by magic number); - reads standard input. Several files are analysed as one capture, in timestamp order.
// Run hsanalyze -h for the flags. Results go to standard output,
// diagnostics (prefixed "hsanalyze: ") to standard error.
//
// Exit status: 0 success; 1 when --fail-on matched a flow; 2 for a usage
// error or input that cannot be read at all.
package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync/atomic"
	"syscall"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
	"github.com/hsanalyze/hsanalyze/report/html"
)

func main() {
	// SIGINT (Ctrl-C reaches every program of a pipeline) and SIGTERM:
	// read what is still delivered, report, exit 130 or 143.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	os.Exit(runWithSignals(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, sigs, os.Exit))
}

// Exit statuses, per CONTRACT.md.
const (
	exitOK     = 0
	exitFailOn = 1
	exitError  = 2
)

// run is the whole command: it parses args, reads the captures and writes
// the report, returning the exit status. Only main exits.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return runWithSignals(args, stdin, stdout, stderr, getenv, nil, nil)
}

// runWithSignals is run following sigs (nil: no signal handling); exit
// ends the process on a second signal.
func runWithSignals(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, sigs <-chan os.Signal, exit func(int)) int {
	cfg, err := parseArgs(args, getenv)
	if err != nil {
		if errors.Is(err, errHelp) {
			fmt.Fprint(stdout, usage)
			return exitOK
		}
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "hsanalyze: %s\n%s\n", ue.msg, ue.hint)
		} else {
			fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		}
		return exitError
	}
	if cfg.version {
		fmt.Fprintf(stdout, "hsanalyze %s\n", version())
		return exitOK
	}
	limitMemory(cfg.maxMem)

	cfg.intr = watchSignals(sigs, stderr, exit)
	if sigs != nil {
		// A live standard input is tracked packet by packet, and a read
		// blocked on it ends when the grace period after a signal does.
		if cfg.live = readsLiveStdin(cfg.files, stdin); cfg.live {
			stdin = newCancelReader(stdin, cfg.intr.cancel)
		}
	}
	if cfg.merge {
		return mergeAndReport(cfg, stdout, stderr)
	}

	files := make([]*capture.File, 0, len(cfg.files))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, path := range cfg.files {
		index := i
		if cfg.perFile {
			index = 0 // each file is a capture of its own: file 0 of its report
		}
		f, err := capture.Open(path, stdin, index)
		if err != nil {
			fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
			return exitError
		}
		files = append(files, f)
	}

	cfg.getenv = getenv
	if cfg.partial != "" {
		return writePartial(cfg, files, stdout, stderr)
	}
	if cfg.perFile && len(files) > 1 {
		return perFile(cfg, files, stdout, stderr)
	}
	return analyzeAndReport(cfg, files, stdout, stderr)
}

// produce runs the source of a report (an analysis of captures, or a merge
// of partials): it calls emit with every flow, and the hooks as the
// analysis does. It returns what was read, and an error to report after
// the results (exit 2); an *abortError instead means no report at all.
type produce func(h *hooks, emit func(*reassembly.Flow)) (*report.Capture, error)

// hooks are what the report needs to see while its source runs.
type hooks struct {
	trace func(*reassembly.Trace) // nil unless the report needs segments
	start func(ts int64)          // the capture's first packet time
	warn  func(msg string)        // a damage warning, printed at once
}

// abortError is a failure after which no report is written.
type abortError struct{ err error }

func (e *abortError) Error() string { return e.err.Error() }

// analyzeAndReport runs the analysis and writes the report; it returns the
// exit status.
func analyzeAndReport(cfg *config, files []*capture.File, stdout, stderr io.Writer) int {
	return writeReport(cfg, files, stdout, stderr, func(h *hooks, emit func(*reassembly.Flow)) (*report.Capture, error) {
		sum, err := runAnalysis(cfg, files, h, stderr, emit)
		return &report.Capture{
			Files:       cfg.files,
			Packets:     sum.Packets,
			TCPPackets:  sum.TCPPackets,
			Decoded:     sum.Decoded,
			Fragments:   sum.Fragments,
			Reassembled: sum.Reassembled,
			Warnings:    len(sum.Warnings),
			Duplicates:  sum.Duplicates,
			FirstTS:     sum.FirstTS,
			LastTS:      sum.LastTS,
			Early:       sum.Early,
		}, err
	})
}

// analysisOptions are the analyze.Options the command line asks for.
func analysisOptions(cfg *config, h *hooks) analyze.Options {
	o := analyze.Options{
		Tracker: reassembly.Options{
			IdleTimeout:   cfg.idle,
			CloseLinger:   cfg.linger,
			ReorderWindow: cfg.reorder,
			MaxMemory:     cfg.maxMem,
			// Only the Zeek formats read Flow.Conn (a partial keeps it
			// for any format: writePartial turns it back on).
			NoConnState: cfg.format != "zeek" && cfg.format != "zeek-json",
		},
		VerifyChecksums: cfg.checksum,
		DedupWindow:     cmp.Or(cfg.dedup, -1), // 0 on the command line: off
		Workers:         cfg.workers,
		BatchSize:       batchSize(cfg.live),
	}
	if cfg.intr != nil {
		o.Stop = &cfg.intr.stop
	}
	if h != nil {
		o.Tracker.Trace = h.trace
		o.Start = h.start
		o.Warn = func(fe *capture.FileError) { h.warn(fe.Error()) }
	}
	return o
}

// runAnalysis analyses the captures, in parallel when --jobs allows it
// (see jobs.go), else as one capture.
func runAnalysis(cfg *config, files []*capture.File, h *hooks, stderr io.Writer, emit func(*reassembly.Flow)) (analyze.Summary, error) {
	if sum, err, ok := runJobs(cfg, files, h, stderr, emit); ok {
		return sum, err
	}
	var prog *progress
	if cfg.progress == "always" || (cfg.progress == "auto" && !cfg.quiet && isTerminal(stderr)) {
		prog = startProgress(stderr, files)
	}
	o := analysisOptions(cfg, h)
	o.Packets = progressCounter(prog)
	sum, err := analyze.Run(files, o, emit)
	if prog != nil {
		prog.stop()
	}
	return sum, err
}

// writeReport writes the report of what src produces to -o or stdout,
// applying the filters, --flow and --fail-on; it returns the exit status.
// files are the captures read, for the HTML report's file metadata (nil
// when merging partials).
func writeReport(cfg *config, files []*capture.File, stdout, stderr io.Writer, src produce) (status int) {
	dst, done, err := openOutput(cfg.output, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		return exitError
	}
	for _, f := range []string{"html", "parquet"} {
		if cfg.format == f && isTerminal(dst) { // stdout, or -o /dev/tty
			done(false)
			fmt.Fprintf(stderr, "hsanalyze: --format %s writes a %s, not for a terminal\nuse -o %s (or redirect standard output to a file)\n",
				f, map[string]string{"html": "whole HTML page", "parquet": "binary Parquet file"}[f], map[string]string{"html": "report.html", "parquet": "flows.parquet"}[f])
			return exitError
		}
	}
	written := false // the whole report reached dst
	defer func() {
		// A report that could not be written completely is not kept.
		if err := done(written); err != nil {
			fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
			status = exitError
		}
	}()
	out := bufio.NewWriterSize(dst, 64<<10)
	color := !cfg.noColor && isTerminal(dst)
	width := outputWidth(cfg.width, dst, cfg.getenv)
	// NDJSON and CSV records reach a pipe or terminal (or any output with
	// --flush) at most flushInterval after their flow is decided.
	var sink io.Writer = out
	live := (cfg.format == "ndjson" || cfg.format == "csv") && !cfg.quiet && (cfg.flush || isPipe(dst) || isTerminal(dst))
	if live {
		fl := startFlusher(out)
		defer fl.stop()
		sink = fl
	}
	var w report.Writer
	var hw *html.Writer
	h := &hooks{
		warn: func(msg string) {
			fmt.Fprintf(stderr, "hsanalyze: warning: %s (results up to there are reported)\n", msg)
		},
	}
	if cfg.format == "html" {
		hw = html.New(out, html.Options{Version: version()})
		w, h.trace = hw, hw.Trace
	} else {
		w, err = report.New(cfg.format, sink, report.Options{All: cfg.all, Quiet: cfg.quiet, Color: color, Files: cfg.files, CommunityIDSeed: cfg.seed, FailOn: cfg.policy, Width: width, Flush: live,
			File: cfg.fileTag, NoHeader: cfg.csvNoHeader, GroupBy: cfg.groupBy, Workers: cfg.workers})
		if err != nil {
			fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
			return exitError
		}
	}
	var tl *report.Timeline
	if cfg.flow != "" {
		tl = report.NewTimeline(cfg.flowA, cfg.flowB)
		tl.Width = width
		h.trace = tl.Trace
	} else if t, ok := w.(report.Tracer); ok {
		h.trace = t.Trace
	}
	var gh *report.GitHub
	if cfg.github {
		gh = report.NewGitHub(cfg.policy, cfg.files)
	}
	sel := &filter{verdicts: cfg.verdicts, hosts: cfg.hosts, nets: cfg.nets, ports: cfg.ports, since: cfg.since, until: cfg.until}
	sel.setStart(0) // absolute bounds hold without a capture start; others are resolved by Start
	var windowErr error
	h.start = func(ts int64) {
		windowErr = sel.setStart(ts)
		if s, ok := w.(report.Starter); ok {
			s.Start(ts)
		}
	}
	var stats report.Stats
	var judged [5]uint64 // flows --fail-on judges, by handshake.Verdict
	var writeErr error
	c, runErr := src(h, func(f *reassembly.Flow) {
		// --flow selects the attempts of one connection; otherwise the
		// filters select.
		if tl != nil && !tl.Flow(f) || tl == nil && !sel.match(f) {
			return
		}
		judged[f.Verdict]++
		if gh != nil {
			gh.Flow(f)
		}
		if tl != nil {
			return
		}
		stats.Add(f)
		if writeErr == nil {
			writeErr = w.Flow(f)
		}
	})
	var abort *abortError
	if errors.As(runErr, &abort) {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", abort.err)
		return exitError
	}
	if windowErr != nil {
		var ue *usageError
		errors.As(windowErr, &ue)
		fmt.Fprintf(stderr, "hsanalyze: %s\n%s\n", ue.msg, ue.hint)
		return exitError
	}
	c.Filters = sel.describe()
	if e := c.Early; e.Decided > 0 {
		fmt.Fprintf(stderr, "hsanalyze: warning: %d attempts were decided early (anomaly decided_early): the attempt table reached --max-memory %s (%d attempts); %d later segments of them were absorbed; raise the bound with --max-memory SIZE, 0 for none\n",
			e.Decided, formatSize(cfg.maxMem), e.MaxAttempts, e.Absorbed)
		if e.TombstonesDropped > 0 {
			fmt.Fprintf(stderr, "hsanalyze: warning: %d tombstones of early-decided attempts were dropped at their bound: a later segment of one of those attempts, if any came, started an attempt of its own; raise --max-memory to keep more\n", e.TombstonesDropped)
		}
	}
	if notice := report.NothingAnalysed(c); notice != "" {
		fmt.Fprintf(stderr, "hsanalyze: warning: %s\n", notice)
	}
	if hw != nil {
		hw.SetFiles(htmlFiles(cfg.files, files)) // pcapng metadata is complete once read
	}
	switch {
	case writeErr != nil:
	case tl != nil && cfg.format == "json":
		writeErr = tl.WriteJSON(out)
	case tl != nil:
		writeErr = tl.WriteTable(out, color)
	default:
		writeErr = w.Close(c, &stats)
	}
	if writeErr == nil {
		if fl, ok := sink.(*flusher); ok {
			fl.mu.Lock()
			writeErr = out.Flush()
			fl.mu.Unlock()
		} else {
			writeErr = out.Flush()
		}
	}
	written = writeErr == nil
	if writeErr != nil {
		fmt.Fprintf(stderr, "hsanalyze: write report: %v\n", writeErr)
		return exitError
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", runErr)
		return exitError
	}
	if gh != nil {
		if err := writeGitHub(gh, c, &stats, &judged, stderr, cfg.stepSummary); err != nil {
			fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
			return exitError
		}
	}
	if status := cfg.intr.interrupted(); status != 0 {
		// The report covers what was read before the interruption.
		return status
	}
	if m := cfg.policy.Matches(&judged); len(m) > 0 {
		fmt.Fprintf(stderr, "hsanalyze: %s\n", report.FailMessage(m))
		return exitFailOn
	}
	return exitOK
}

// batchSize is analyze's batch for a live input (1: each packet tracked
// as read) or a file (0: the default).
func batchSize(live bool) int {
	if live {
		return 1
	}
	return 0
}

// writeGitHub prints the workflow-command annotations on stderr (the
// runner reads commands from both streams; stdout keeps the report) and
// appends the job summary to the $GITHUB_STEP_SUMMARY file, if set.
func writeGitHub(gh *report.GitHub, c *report.Capture, stats *report.Stats, judged *[5]uint64, stderr io.Writer, summaryPath string) error {
	if _, err := io.WriteString(stderr, gh.Annotations(judged)); err != nil {
		return fmt.Errorf("write annotations: %w", err)
	}
	if summaryPath == "" {
		return nil
	}
	f, err := os.OpenFile(summaryPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	if _, err := io.WriteString(f, gh.Summary(c, stats, judged)); err != nil {
		f.Close()
		return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
	}
	return f.Close()
}

func progressCounter(p *progress) *atomic.Uint64 {
	if p == nil {
		return nil
	}
	return &p.packets
}

// isTerminal reports whether w is a terminal (not merely a character
// device: /dev/null takes any output).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTTY(f)
}

// version reports the module version the binary was built from and, when
// the build recorded them, the VCS revision and commit date.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	if rev := set["vcs.revision"]; rev != "" {
		v += " " + set["vcs"] + " " + rev
		if t := set["vcs.time"]; t != "" {
			v += " " + t
		}
		if set["vcs.modified"] == "true" {
			v += " (modified)"
		}
	}
	if bi.GoVersion != "" {
		v += ", " + bi.GoVersion
	}
	return v
}

// htmlFiles describes the inputs for the HTML report's summary; without
// the files (a merge of partials) only their names.
func htmlFiles(names []string, files []*capture.File) []html.File {
	out := make([]html.File, len(names))
	for i, name := range names {
		out[i] = html.File{Name: name}
		if i < len(files) {
			m := files[i].Metadata()
			out[i].Comments, out[i].Interfaces = m.Comments, m.Interfaces
		}
	}
	return out
}
