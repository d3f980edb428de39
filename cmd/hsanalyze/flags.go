package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hsanalyze/hsanalyze/capture"
	"github.com/hsanalyze/hsanalyze/reassembly"
	"github.com/hsanalyze/hsanalyze/report"
)

// config is everything the command line says, parsed and validated.
type config struct {
	files       []string
	format      string
	output      string          // -o: report file; "" or "-" is standard output
	partial     string          // --partial: write a partial result here instead
	merge       bool            // the merge command: files are partials
	jobs        int             // --jobs: captures analysed at once
	set         map[string]bool // flags given on the command line
	failOn      []string
	verdicts    []string
	hosts       []netip.Addr
	nets        []netip.Prefix
	ports       []uint16
	since       timeBound
	until       timeBound
	all         bool
	width       int // --width; -1: from the terminal
	getenv      func(string) string
	flush       bool          // --flush
	perFile     bool          // --per-file
	groupBy     string        // --group-by
	fileTag     string        // with --per-file: the file every flow names
	csvNoHeader bool          // with --per-file: a later file's CSV, under the first one's header
	intr        *interruption // signals of this run
	live        bool          // standard input is a pipe or terminal
	flow        string
	flowA       netip.AddrPort
	flowB       netip.AddrPort
	quiet       bool
	noColor     bool
	version     bool
	checksum    bool
	idle        time.Duration
	reorder     time.Duration
	dedup       time.Duration
	linger      time.Duration
	workers     int
	maxMem      int64
	progress    string
	// seed is the Community ID seed (--community-id-seed).
	seed uint16
	// policy is --fail-on parsed.
	policy report.FailOn
	// github prints annotations (--github, or GITHUB_ACTIONS=true);
	// stepSummary is $GITHUB_STEP_SUMMARY.
	github      bool
	stepSummary string
}

// timeBound is a --since or --until value: an absolute time, a time of day
// on the capture's first day, or an offset from the capture's first packet.
type timeBound struct {
	set      bool
	text     string // as given, for the summary
	abs      time.Time
	relative bool
	offset   time.Duration
	// ofDay: offset is a time of day (from midnight) in zone, on the
	// capture's first day in that zone.
	ofDay bool
	zone  *time.Location
}

func (b *timeBound) String() string { return "" }

// Set accepts RFC 3339 (with or without fractional seconds), a time of
// day as the table prints it (10:00:00.007, 10:00, 10:00:00+02:00; UTC
// unless an offset is given) on the capture's first day, or a Go duration
// such as 150ms, 90s or 2m30s, taken from the capture's start.
func (b *timeBound) Set(s string) error {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		*b = timeBound{set: true, text: s, abs: t}
		return nil
	}
	if tod, zone, ok := parseTimeOfDay(s); ok {
		*b = timeBound{set: true, text: s, ofDay: true, offset: tod, zone: zone}
		return nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(s, "+"))
	if err != nil || d < 0 {
		return fmt.Errorf("%q is neither a time of day (10:00:00.1), an RFC 3339 time (2026-11-24T10:00:00Z) nor an offset from the capture start (150ms, 90s, 2m)", s)
	}
	*b = timeBound{set: true, text: s, relative: true, offset: d}
	return nil
}

// parseTimeOfDay parses HH:MM[:SS[.fraction]] with an optional Z or
// ±HH:MM offset, returning the time since midnight and its zone.
func parseTimeOfDay(s string) (time.Duration, *time.Location, bool) {
	zone := time.UTC
	clock := s
	if i := strings.LastIndexAny(s, "+-Z"); i > 0 {
		clock = s[:i]
		if s[i:] != "Z" {
			off, err := time.Parse("-07:00", s[i:])
			if err != nil {
				return 0, nil, false
			}
			_, secs := off.Zone()
			zone = time.FixedZone(s[i:], secs)
		}
	}
	for _, layout := range []string{"15:04:05.999999999", "15:04:05", "15:04"} {
		t, err := time.Parse(layout, clock)
		if err == nil {
			return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
				time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond()), zone, true
		}
	}
	return 0, nil, false
}

// resolve returns the bound in ns since the Unix epoch, for a capture
// whose first packet is at start.
func (b *timeBound) resolve(start int64) int64 {
	switch {
	case b.relative:
		return start + int64(b.offset)
	case b.ofDay:
		y, m, d := time.Unix(0, start).In(b.zone).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, b.zone).Add(b.offset).UnixNano()
	}
	return b.abs.UnixNano()
}

// listFlag collects comma-separated values from one or more uses of a flag.
type listFlag struct{ vals *[]string }

func (l listFlag) String() string { return "" }
func (l listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l.vals = append(*l.vals, v)
		}
	}
	return nil
}

// commaFlag adapts a parse function of one value to a flag.Value that
// takes a comma-separated list (and may be repeated).
func commaFlag(parse func(string) error) funcFlag {
	return func(s string) error {
		for _, v := range strings.Split(s, ",") {
			if v = strings.TrimSpace(v); v != "" {
				if err := parse(v); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// funcFlag adapts a parse function to flag.Value.
type funcFlag func(string) error

func (f funcFlag) String() string     { return "" }
func (f funcFlag) Set(s string) error { return f(s) }

// errHelp reports that -h was given: print usage, exit 0.
var errHelp = flag.ErrHelp

// usageError is a command-line mistake: one line naming the problem and a
// hint; the command exits 2.
type usageError struct{ msg, hint string }

func (e *usageError) Error() string { return e.msg }

// verdictNames are the CONTRACT.md verdicts, in report order.
var verdictNames = []string{"complete", "half_open", "refused", "malformed", "midstream"}

func parseArgs(args []string, getenv func(string) string) (*config, error) {
	cfg := &config{
		format:   "table",
		idle:     reassembly.DefaultIdleTimeout,
		reorder:  reassembly.DefaultReorderWindow,
		dedup:    capture.DefaultDedupWindow,
		linger:   reassembly.DefaultCloseLinger,
		progress: "auto",
		maxMem:   reassembly.DefaultMaxMemory,
		jobs:     1,
	}
	if len(args) > 0 && args[0] == "merge" {
		cfg.merge, args = true, args[1:]
	}
	fs := flag.NewFlagSet("hsanalyze", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.format, "format", cfg.format, "")
	fs.StringVar(&cfg.output, "o", "", "")
	fs.StringVar(&cfg.output, "output", "", "")
	fs.StringVar(&cfg.partial, "partial", "", "")
	fs.IntVar(&cfg.jobs, "jobs", cfg.jobs, "")
	fs.Var(listFlag{&cfg.failOn}, "fail-on", "")
	fs.Var(listFlag{&cfg.verdicts}, "verdict", "")
	fs.Var(commaFlag(func(s string) error {
		a, err := netip.ParseAddr(strings.Trim(s, "[]"))
		if err != nil {
			return fmt.Errorf("%q is not an IP address", s)
		}
		cfg.hosts = append(cfg.hosts, a.Unmap())
		return nil
	}), "host", "")
	fs.Var(commaFlag(func(s string) error {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR prefix such as 10.0.0.0/8", s)
		}
		cfg.nets = append(cfg.nets, p.Masked())
		return nil
	}), "net", "")
	fs.Var(commaFlag(func(s string) error {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("%q is not a port number (1-65535)", s)
		}
		cfg.ports = append(cfg.ports, uint16(n))
		return nil
	}), "port", "")
	fs.Var(&cfg.since, "since", "")
	fs.Var(&cfg.until, "until", "")
	fs.BoolVar(&cfg.all, "all", false, "")
	fs.IntVar(&cfg.width, "width", -1, "")
	fs.BoolVar(&cfg.flush, "flush", false, "")
	fs.BoolVar(&cfg.perFile, "per-file", false, "")
	fs.StringVar(&cfg.groupBy, "group-by", "", "")
	fs.StringVar(&cfg.flow, "flow", "", "")
	fs.BoolVar(&cfg.quiet, "q", false, "")
	fs.BoolVar(&cfg.quiet, "quiet", false, "")
	fs.BoolVar(&cfg.noColor, "no-color", false, "")
	fs.BoolVar(&cfg.version, "version", false, "")
	fs.BoolVar(&cfg.checksum, "checksum", false, "")
	fs.BoolVar(&cfg.github, "github", false, "")
	fs.DurationVar(&cfg.idle, "idle-timeout", cfg.idle, "")
	fs.DurationVar(&cfg.reorder, "reorder-window", cfg.reorder, "")
	fs.DurationVar(&cfg.linger, "close-linger", cfg.linger, "")
	fs.DurationVar(&cfg.dedup, "dedup-window", cfg.dedup, "")
	fs.IntVar(&cfg.workers, "workers", 0, "")
	fs.Var(funcFlag(func(s string) (err error) {
		cfg.maxMem, err = parseSize(s)
		return err
	}), "max-memory", "")
	fs.StringVar(&cfg.progress, "progress", cfg.progress, "")
	fs.Var(funcFlag(func(s string) error {
		n, err := strconv.ParseUint(s, 0, 16)
		if err != nil {
			return fmt.Errorf("%q is not a Community ID seed (0-65535)", s)
		}
		cfg.seed = uint16(n)
		return nil
	}), "community-id-seed", "")

	// The flag package stops at the first file name; keep parsing after
	// it so that flags may follow the files. "--" ends the flags.
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			msg := err.Error()
			if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
				msg = "unknown flag " + name
			}
			return nil, &usageError{msg: msg, hint: "see hsanalyze -h"}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" { // rest is a suffix of args; Parse consumed the "--"
			cfg.files = append(cfg.files, rest...)
			break
		}
		cfg.files = append(cfg.files, rest[0])
		rest = rest[1:]
	}
	cfg.set = make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { cfg.set[f.Name] = true })
	if getenv("NO_COLOR") != "" {
		cfg.noColor = true
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		cfg.github = true
	}
	cfg.stepSummary = getenv("GITHUB_STEP_SUMMARY")
	if cfg.version {
		return cfg, nil
	}
	return cfg, cfg.validate()
}

func (cfg *config) validate() error {
	switch cfg.format {
	case "table", "json", "ndjson", "csv", "zeek", "zeek-json", "junit", "html", "parquet":
	default:
		return &usageError{msg: fmt.Sprintf("unknown format %q", cfg.format), hint: "use --format table, json, ndjson, csv, zeek, zeek-json, junit, html or parquet"}
	}
	for _, v := range cfg.verdicts {
		if !isVerdict(v) {
			return &usageError{msg: fmt.Sprintf("unknown verdict %q", v), hint: "verdicts are " + strings.Join(verdictNames, ", ")}
		}
	}
	for _, s := range cfg.failOn {
		r, err := report.ParseFailRule(s)
		if err != nil {
			return &usageError{msg: err.Error(), hint: "--fail-on takes VERDICT, VERDICT>N or VERDICT>P%, comma-separated; verdicts are " + strings.Join(verdictNames, ", ")}
		}
		cfg.policy.Add(r)
	}
	if cfg.quiet {
		switch cfg.format {
		case "zeek", "zeek-json", "junit":
			return &usageError{msg: fmt.Sprintf("-q: --format %s has no summary", cfg.format), hint: "use -q with table, json, ndjson or csv"}
		}
	}
	switch cfg.progress {
	case "auto", "always", "never":
	default:
		return &usageError{msg: fmt.Sprintf("unknown --progress %q", cfg.progress), hint: "use --progress auto, always or never"}
	}
	if cfg.idle <= 0 || cfg.linger < 0 || cfg.reorder < 0 || cfg.dedup < 0 {
		return &usageError{msg: "timeouts must be positive", hint: "e.g. --idle-timeout 2m --close-linger 4s --reorder-window 1ms"}
	}
	if cfg.width < -1 {
		return &usageError{msg: "--width must be 0 (no limit) or a column count", hint: "e.g. --width 80"}
	}
	if cfg.jobs < 1 {
		return &usageError{msg: "--jobs must be 1 or more", hint: "e.g. --jobs 4 (default 1)"}
	}
	if err := cfg.validatePartial(); err != nil {
		return err
	}
	if cfg.workers < 0 {
		return &usageError{msg: "--workers must be 0 (automatic) or more", hint: "e.g. --workers 2"}
	}
	if cfg.since.set && cfg.until.set && comparable(&cfg.since, &cfg.until) && cfg.since.resolve(0) >= cfg.until.resolve(0) {
		return emptyWindow(&cfg.since, &cfg.until)
	}
	switch cfg.groupBy {
	case "", "server", "client", "port":
	default:
		return &usageError{msg: fmt.Sprintf("unknown --group-by %q", cfg.groupBy), hint: "use --group-by server, client or port"}
	}
	if cfg.groupBy != "" && (cfg.format != "table" || cfg.flow != "") {
		return &usageError{msg: "--group-by prints a grouped table", hint: "use --group-by with --format table and without --flow"}
	}
	if cfg.perFile {
		switch {
		case cfg.flow != "":
			return &usageError{msg: "--per-file and --flow do not go together", hint: "--flow shows one connection of one capture"}
		case cfg.format != "table" && cfg.format != "json" && cfg.format != "ndjson" && cfg.format != "csv":
			return &usageError{msg: fmt.Sprintf("--per-file does not write --format %s", cfg.format), hint: "use --per-file with --format table, json, ndjson or csv"}
		}
	}
	if cfg.flow != "" {
		a, b, ok := strings.Cut(cfg.flow, "-")
		var errA, errB error
		cfg.flowA, errA = netip.ParseAddrPort(a)
		cfg.flowB, errB = netip.ParseAddrPort(b)
		if !ok || errA != nil || errB != nil {
			return &usageError{msg: fmt.Sprintf("--flow %q is not CLIENT-SERVER", cfg.flow), hint: "e.g. --flow 10.0.0.1:51234-10.0.0.2:443 or --flow [2001:db8::1]:5000-[2001:db8::2]:80"}
		}
		if cfg.format == "csv" || cfg.format == "ndjson" || cfg.format == "html" {
			return &usageError{msg: "--flow prints a timeline as a table or JSON", hint: "use --flow with --format table or --format json"}
		}
	}
	if len(cfg.files) == 0 && cfg.merge {
		return &usageError{msg: "no partial given", hint: "usage: hsanalyze merge [report flags] PARTIAL... (written by hsanalyze --partial)"}
	}
	if len(cfg.files) == 0 {
		return &usageError{msg: "no capture file given", hint: "usage: hsanalyze [flags] FILE... (- reads standard input)"}
	}
	stdin := 0
	for _, f := range cfg.files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return &usageError{msg: "standard input (-) given more than once", hint: "name - at most once"}
	}
	return nil
}

// comparable reports whether two bounds can be ordered before the capture
// is read: both offsets, both absolute, or both times of day in one zone.
// Others are ordered once the capture's start is known.
func comparable(a, b *timeBound) bool {
	switch {
	case a.relative && b.relative:
		return true
	case a.ofDay && b.ofDay:
		return a.zone.String() == b.zone.String()
	}
	return !a.relative && !a.ofDay && !b.relative && !b.ofDay
}

// emptyWindow is the usage error for --since at or after --until.
func emptyWindow(since, until *timeBound) error {
	return &usageError{
		msg:  fmt.Sprintf("--since %s is not before --until %s: no flow can start in that window", since.text, until.text),
		hint: "give --since an earlier time than --until (e.g. --since 100ms --until 150ms)",
	}
}

func isVerdict(s string) bool {
	for _, v := range verdictNames {
		if s == v {
			return true
		}
	}
	return false
}

// reportFlags are the flags that shape a report: --partial writes every
// flow, so they belong to merge.
var reportFlags = []string{"format", "o", "output", "fail-on", "verdict", "host", "net", "port", "since", "until", "all", "width", "flow", "q", "quiet", "github", "community-id-seed", "per-file", "flush"}

// validatePartial checks what --partial and merge allow.
func (cfg *config) validatePartial() error {
	switch {
	case cfg.partial != "" && cfg.merge:
		return &usageError{msg: "merge reads partials; it does not write one", hint: "usage: hsanalyze merge [report flags] PARTIAL..."}
	case cfg.partial != "":
		for _, name := range reportFlags {
			if cfg.set[name] {
				return &usageError{msg: fmt.Sprintf("--partial writes every flow for a later merge; --%s belongs to merge", name), hint: "usage: hsanalyze --partial OUT [tracking flags] CAPTURE..., then hsanalyze merge [report flags] PARTIAL..."}
			}
		}
	case cfg.merge:
		if cfg.flow != "" {
			return &usageError{msg: "--flow needs the segments, which partials do not keep", hint: "run hsanalyze --flow on the captures"}
		}
		for _, f := range cfg.files {
			if f == "-" {
				return &usageError{msg: "merge reads partials from files, not standard input", hint: "usage: hsanalyze merge [report flags] PARTIAL..."}
			}
		}
	}
	return nil
}
