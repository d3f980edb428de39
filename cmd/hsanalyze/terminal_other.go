//go:build !unix

package main

import "os"

// ttyWidth cannot ask the terminal here; $COLUMNS decides.
func ttyWidth(*os.File) int { return 0 }

// isTTY cannot ask the device here: a character device counts as a
// terminal.
func isTTY(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
