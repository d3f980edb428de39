//go:build unix

package report

import "golang.org/x/sys/unix"

// mapBytes returns n zeroed bytes outside the Go heap (a private anonymous
// mapping), or nil when the system refuses. Such memory is resident only
// once written, and the garbage collector neither scans it nor counts it
// towards its goal, so holding it costs its size and no headroom.
func mapBytes(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil
	}
	return b
}

// unmapBytes returns what mapBytes gave (b with its full capacity).
func unmapBytes(b []byte) {
	unix.Munmap(b[:cap(b)])
}
