// Command hsanalyze reads packet captures offline and tells, for every TCP
// connection attempt in them, whether the three-way handshake completed,
// stayed half-open, was refused or broke the protocol, and why.
//
// Usage:
//
//	hsanalyze [flags] FILE...
//
// FILE is a pcap or pcapng file, gzip-compressed or not; - reads standard
// input. Several files are analysed as one capture, in timestamp order.
// Run hsanalyze -h for the flags. Results go to standard output,
// diagnostics (prefixed "hsanalyze: ") to standard error.
//
// Exit status: 0 success; 1 when --fail-on matched a flow; 2 for a usage
// error or input that cannot be read at all.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/hsanalyze/hsanalyze/analyze"
	"github.com/hsanalyze/hsanalyze/capture"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
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

	files := make([]*capture.File, 0, len(cfg.files))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, path := range cfg.files {
		f, err := capture.Open(path, stdin, i)
		if err != nil {
			fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
			return exitError
		}
		files = append(files, f)
	}

	sum, err := analyze.Run(files, analyze.Options{
		VerifyChecksums: cfg.checksum,
		Warn: func(fe *capture.FileError) {
			fmt.Fprintf(stderr, "hsanalyze: warning: %v (results up to there are reported)\n", fe)
		},
	})
	fmt.Fprintf(stdout, "packets %d\ntcp_packets %d\nwarnings %d\n", sum.Packets, sum.TCPPackets, len(sum.Warnings))
	if err != nil {
		fmt.Fprintf(stderr, "hsanalyze: %v\n", err)
		return exitError
	}
	return exitOK
}

// version reports the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
