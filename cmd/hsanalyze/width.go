package main

import (
	"io"
	"os"
	"strconv"
)

// outputWidth is the width the table and timeline must fit: --width when
// given; for a terminal its size (TIOCGWINSZ), else $COLUMNS; 0 (no limit)
// for pipes and files, which get the full layout.
func outputWidth(flagWidth int, w io.Writer, getenv func(string) string) int {
	if flagWidth >= 0 {
		return flagWidth
	}
	if !isTerminal(w) {
		return 0
	}
	if f, ok := w.(*os.File); ok {
		if n := ttyWidth(f); n > 0 {
			return n
		}
	}
	if n, err := strconv.Atoi(getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}
