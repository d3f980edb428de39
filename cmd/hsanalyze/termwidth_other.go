//go:build !unix

package main

import "os"

// ttyWidth cannot ask the terminal here; $COLUMNS decides.
func ttyWidth(*os.File) int { return 0 }
