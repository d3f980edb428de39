package main

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes parseSize accepts, largest first; k, M, G
// and T are binary too, as for memory sizes everywhere else.
var sizeUnits = []struct {
	suffix string
	n      int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"kB", 1 << 10},
	{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"k", 1 << 10},
	{"B", 1},
}

// parseSize parses a memory size: a whole number of bytes, or with a unit
// (96MiB, 1G, 512k); 0 means no bound.
func parseSize(s string) (int64, error) {
	num, mul := s, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mul = strings.TrimSuffix(s, u.suffix), u.n
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("%q is not a size such as 96MiB, 2G or 0 (no bound)", s)
	}
	return n * mul, nil
}

// formatSize is the inverse of parseSize for a size it gives: 96MiB.
func formatSize(n int64) string {
	if n == 0 {
		return "0"
	}
	for _, u := range sizeUnits[:4] {
		if n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// limitMemory makes the Go collector keep the heap near what the attempt
// bound allows (debug.SetMemoryLimit, a soft limit): the bound, an eighth
// more for what its accounting leaves out (a table growing holds its old
// and new arrays for a moment; the live heap of a table at the bound
// peaked 16% above it), and 40 MiB for reading, decoding and the report.
// Without it the heap may grow to twice the live data before a
// collection; the tables are pointer-free, so collecting often costs
// little. It is the process's setting, made once by the command; 0 (no
// bound) leaves the runtime's default.
func limitMemory(maxMem int64) { limitMemoryFor(maxMem, 1) }

// limitMemoryFor is limitMemory for n attempt tables at once (--jobs).
func limitMemoryFor(maxMem int64, n int) { limitMemoryHolding(maxMem, n, 0) }

// limitMemoryHolding is limitMemoryFor with held more bytes live beside
// the tables: the partial results --jobs holds until they merge.
func limitMemoryHolding(maxMem int64, n int, held int64) {
	if maxMem > 0 {
		debug.SetMemoryLimit(int64(n)*(maxMem+maxMem/8) + 40<<20 + held)
	}
}
