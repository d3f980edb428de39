//go:build !unix

package report

// mapBytes returns nil: without mmap the store uses the Go heap.
func mapBytes(int) []byte { return nil }

func unmapBytes([]byte) {}
