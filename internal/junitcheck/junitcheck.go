// Package junitcheck validates JUnit XML in tests against the schema
// committed in testdata/junit (Jenkins' junit-10.xsd) with xmllint.
package junitcheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Schema returns the path of testdata/junit/junit-10.xsd.
func Schema() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "junit", "junit-10.xsd")
}

// Validate fails t unless doc validates against the schema. Without
// xmllint (Debian libxml2-utils) it fails in CI (CI set, where .ci/run
// installs it) and skips elsewhere, saying so.
func Validate(t testing.TB, doc []byte) {
	t.Helper()
	path, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("xmllint (libxml2-utils) is missing: .ci/run installs it")
		}
		t.Skip("xmllint (Debian libxml2-utils) not installed: JUnit schema check skipped")
	}
	cmd := exec.Command(path, "--noout", "--schema", Schema(), "-")
	cmd.Stdin = bytes.NewReader(doc)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("JUnit output does not validate against %s: %v\n%s\n%s", Schema(), err, out, doc)
	}
}
