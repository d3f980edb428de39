//go:build unix

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOutputSpecialFiles checks that -o writes through what is not a
// plain file instead of replacing it: a named pipe stays a pipe and gets
// the report (as /dev/null stays a device), a symbolic link stays a link
// and its target gets the report, and a directory is refused.
func TestOutputSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	want := runCLI(t, nil, nil, "--format", "json", pcap("mix-200.pcap"))

	fifo := filepath.Join(dir, "report.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	got := make(chan string)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- string(b)
	}()
	r := runCLI(t, nil, nil, "--format", "json", "-o", fifo, pcap("mix-200.pcap"))
	select {
	case s := <-got:
		if r.code != want.code || s != want.stdout {
			t.Errorf("-o FIFO: exit %d (want %d), %d bytes read (want %d)\n%s", r.code, want.code, len(s), len(want.stdout), r.stderr)
		}
	case <-time.After(10 * time.Second): // the reader waits for a writer that never came
		t.Errorf("-o FIFO: nothing was written to the pipe (exit %d)", r.code)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("-o FIFO replaced the pipe: %v %v", fi.Mode(), err)
	}

	real := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "link.json")
	if err := os.WriteFile(real, []byte("previous\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.json", link); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, nil, nil, "--format", "json", "-o", link, pcap("mix-200.pcap"))
	if b, _ := os.ReadFile(real); r.code != want.code || string(b) != want.stdout {
		t.Errorf("-o symlink: exit %d, target holds %d bytes, want %d", r.code, len(b), len(want.stdout))
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("-o symlink replaced the link: %v %v", fi.Mode(), err)
	}

	r = runCLI(t, nil, nil, "-o", dir, pcap("mix-200.pcap"))
	if r.code != exitError || !strings.Contains(r.stderr, dir) || !strings.Contains(r.stderr, "directory") {
		t.Errorf("-o DIR: exit %d, stderr %q; want 2 naming the directory", r.code, r.stderr)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
