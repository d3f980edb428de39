//go:build race

package partial_test

// raceBuild scales the randomized tests down under the race detector,
// which slows them tenfold; the plain `go test` runs them in full.
const raceBuild = true
