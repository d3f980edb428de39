//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// ttyWidth returns the column count of the terminal f is, from TIOCGWINSZ;
// 0 when f is no terminal or does not say.
func ttyWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

// isTTY reports whether f is a terminal: it answers TIOCGWINSZ, which
// every terminal does and other character devices (/dev/null) refuse
// with ENOTTY.
func isTTY(f *os.File) bool {
	_, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	return err == nil
}
