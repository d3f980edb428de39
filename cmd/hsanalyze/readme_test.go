package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hsanalyze/hsanalyze/handshake"
)

// TestREADME keeps README.md true: it documents every verdict and anomaly
// code, and its first two commands are the ones this project promises.
func TestREADME(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, v := range handshake.Verdicts() {
		if !strings.Contains(readme, "| `"+v.String()+"` |") {
			t.Errorf("README lacks verdict %s", v)
		}
	}
	for _, c := range handshake.Codes() {
		if !strings.Contains(readme, "| `"+c.String()+"` |") {
			t.Errorf("README lacks anomaly %s", c)
		}
	}
	_, block, _ := strings.Cut(readme, "```sh\n")
	block, _, _ = strings.Cut(block, "```")
	want := "go run ./cmd/hsanalyze testdata/pcaps/mix-200.pcap\ngo test -race ./...\n"
	if block != want {
		t.Errorf("README's first commands are %q, want %q", block, want)
	}
	if _, err := os.Stat("../../testdata/pcaps/mix-200.pcap"); err != nil {
		t.Errorf("README's capture: %v", err)
	}
}

// TestREADMEExamples reruns every ```console example of README.md ("$ "
// then the command, optional VAR=value assignments before it and 2>&1
// after it) from the repository root with the built binary, and checks
// the output is the one shown.
func TestREADMEExamples(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	bin := builtCommand(t)
	rest := string(b)
	n := 0
	for {
		var block string
		var ok bool
		if _, rest, ok = strings.Cut(rest, "```console\n"); !ok {
			break
		}
		block, rest, _ = strings.Cut(rest, "```")
		line, want, _ := strings.Cut(block, "\n")
		n++
		t.Run(line, func(t *testing.T) {
			words := shellWords(t, strings.TrimPrefix(line, "$ "))
			var env []string
			for len(words) > 0 && strings.Contains(words[0], "=") {
				env = append(env, words[0])
				words = words[1:]
			}
			merge := len(words) > 0 && words[len(words)-1] == "2>&1"
			if merge {
				words = words[:len(words)-1]
			}
			if len(words) == 0 || words[0] != "hsanalyze" {
				t.Fatalf("not an hsanalyze command: %q", line)
			}
			cmd := exec.Command(bin, words[1:]...)
			cmd.Dir = "../.."
			cmd.Env = env // nothing inherited: GITHUB_ACTIONS, NO_COLOR …
			var out bytes.Buffer
			cmd.Stdout = &out
			if merge {
				cmd.Stderr = &out
			}
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if got := out.String(); got != want {
				t.Errorf("README shows\n%s\nthe command prints\n%s", want, got)
			}
		})
	}
	if n == 0 {
		t.Error("no console examples found")
	}
}

// shellWords splits s at spaces, keeping single-quoted parts whole.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	quoted, have := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, have = !quoted, true
		case r == ' ' && !quoted:
			if have {
				words = append(words, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quote in %q", s)
	}
	if have {
		words = append(words, cur.String())
	}
	return words
}
