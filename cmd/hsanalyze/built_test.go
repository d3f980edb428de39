package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// built is the command built once per test binary for the tests that run
// it as a process (pipes, signals, terminals).
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// builtCommand builds the command (once) and returns the binary's path. It
// skips with -short or without a go command.
func builtCommand(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build with")
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "hsanalyze-test-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "hsanalyze")
		built.out, built.err = exec.Command(gocmd, "build", "-o", built.path, ".").CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.path
}

// TestMain removes the command builtCommand built.
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// procResult is what one run of the built command produced.
type procResult struct {
	code           int
	stdout, stderr string
}

// runBuilt runs the built command with stdin and args and waits for it.
func runBuilt(t *testing.T, stdin []byte, args ...string) procResult {
	t.Helper()
	cmd := exec.Command(builtCommand(t), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return procResult{code, stdout.String(), stderr.String()}
}
