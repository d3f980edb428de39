package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// slowCapture is a pcap stream written piece by piece: the file header,
// then one chunk per attempt.
type slowCapture struct {
	header []byte
	chunks [][]byte
}

// refusedAttempts builds n refused attempts (SYN, RST+ACK), one per
// 100 ms of capture time; synOnly leaves them unanswered instead.
func refusedAttempts(t *testing.T, n int, synOnly bool) slowCapture {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgen.NewWriter(&b, false)
	if err != nil {
		t.Fatal(err)
	}
	sc := slowCapture{header: bytes.Clone(b.Bytes())}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	for i := range n {
		b.Reset()
		cli := netip.AddrPortFrom(netip.MustParseAddr("10.9.0.1"), uint16(40000+i))
		srv := netip.MustParseAddrPort("192.0.2.9:80")
		ts := at.Add(time.Duration(i) * 100 * time.Millisecond)
		if err := w.Write(pcapgen.Seg{Time: ts, Src: cli, Dst: srv, Seq: 1000, Flags: pcapgen.SYN}); err != nil {
			t.Fatal(err)
		}
		if !synOnly {
			if err := w.Write(pcapgen.Seg{Time: ts.Add(200 * time.Microsecond), Src: srv, Dst: cli, Ack: 1001, Flags: pcapgen.RST | pcapgen.ACK}); err != nil {
				t.Fatal(err)
			}
		}
		sc.chunks = append(sc.chunks, bytes.Clone(b.Bytes()))
	}
	return sc
}

// TestLiveNDJSON feeds the built command through a real pipe from a slow
// writer (60 refused attempts over 6 s) and reads its NDJSON through a
// pipe: attempts arrive as they are decided, not all at once at the end.
func TestLiveNDJSON(t *testing.T) {
	bin := builtCommand(t)
	sc := refusedAttempts(t, 60, false)
	cmd := exec.Command(bin, "--format", "ndjson", "--close-linger", "1ns", "-")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() {
		in.Write(sc.header)
		for _, c := range sc.chunks {
			in.Write(c)
			time.Sleep(100 * time.Millisecond)
		}
		in.Close()
	}()
	var arrivals []time.Duration
	sc2 := bufio.NewScanner(out)
	for sc2.Scan() {
		var f struct{ Verdict string }
		if err := json.Unmarshal(sc2.Bytes(), &f); err != nil || f.Verdict != "refused" {
			t.Errorf("line %q: %v", sc2.Text(), err)
		}
		arrivals = append(arrivals, time.Since(start))
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(arrivals) != 60 {
		t.Fatalf("%d lines, want 60", len(arrivals))
	}
	// The writer takes 6 s. The first attempt is decided with the second
	// one's SYN, 0.1 s in; at most 100 ms of flushing delay (and a loaded
	// machine) later it must be out, long before the end.
	if arrivals[0] > 2*time.Second || arrivals[29] > 4500*time.Millisecond {
		t.Errorf("lines arrived at %v (first), %v (30th), %v (last): not progressive", arrivals[0], arrivals[29], arrivals[59])
	}
}

// TestSignals interrupts the built command reading a pipe whose writer has
// stopped sending (as tcpdump does after Ctrl-C, before it closes): it
// keeps reading for the grace period, judges the open attempts unfinished,
// prints the report and exits 130 for SIGINT, 143 for SIGTERM; a second
// signal quits at once without a report.
func TestSignals(t *testing.T) {
	bin := builtCommand(t)
	sc := refusedAttempts(t, 5, true)
	start := func(t *testing.T, args ...string) (*exec.Cmd, io.WriteCloser, *bytes.Buffer, *bytes.Buffer) {
		cmd := exec.Command(bin, args...)
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		in.Write(sc.header)
		for _, c := range sc.chunks {
			in.Write(c)
		}
		time.Sleep(500 * time.Millisecond) // read and tracked; the writer is silent now
		return cmd, in, &stdout, &stderr
	}
	for _, tc := range []struct {
		sig    syscall.Signal
		status int
	}{{syscall.SIGINT, exitSIGINT}, {syscall.SIGTERM, exitSIGTERM}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			cmd, in, stdout, stderr := start(t, "--format", "json", "-")
			defer in.Close()
			sent := time.Now()
			cmd.Process.Signal(tc.sig)
			err := cmd.Wait()
			took := time.Since(sent)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.status {
				t.Fatalf("exit %v, want status %d; stderr %q", err, tc.status, stderr)
			}
			if took < graceperiod-200*time.Millisecond || took > graceperiod+3*time.Second {
				t.Errorf("exited %v after the signal, want about the %v grace period", took, graceperiod)
			}
			rep := decodeJSON(t, stdout.String())
			if len(rep.Flows) != 5 {
				t.Fatalf("%d flows reported, want 5", len(rep.Flows))
			}
			for _, f := range rep.Flows {
				if f.Verdict != "half_open" || !strings.Contains(f.Reason, "; unfinished: interrupted ") {
					t.Errorf("flow %s %q, want half_open, unfinished", f.Verdict, f.Reason)
				}
			}
		})
	}
	t.Run("second SIGINT", func(t *testing.T) {
		cmd := exec.Command(bin, "--format", "json", "-")
		in, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close()
		errPipe, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		in.Write(sc.header)
		lines := make(chan string, 4)
		go func() {
			s := bufio.NewScanner(errPipe)
			for s.Scan() {
				lines <- s.Text()
			}
			close(lines)
		}()
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		// The second signal once the first was handled (two signals
		// sent before the process runs are one to the kernel).
		select {
		case l := <-lines:
			if !strings.Contains(l, "interrupt: reading what is still delivered") {
				t.Errorf("stderr %q", l)
			}
		case <-time.After(graceperiod):
			t.Fatal("no word of the first signal")
		}
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGINT)
		for range lines {
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitSIGINT || time.Since(sent) > graceperiod/2 {
			t.Errorf("exit %v %v after the second signal, want status 130 at once", err, time.Since(sent))
		}
		if stdout.Len() != 0 {
			t.Errorf("a report after the second signal: %q", stdout.String())
		}
	})
}

// TestReadsLiveStdin: only a run that reads "-" from a pipe is live; named
// files are read in batches even when standard input is a pipe, as it is
// under a shell pipeline, a CI runner or scripts/bench.
func TestReadsLiveStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	regular, err := os.Open("live_test.go")
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	for _, tc := range []struct {
		name  string
		files []string
		stdin io.Reader
		want  bool
	}{
		{"pipe stdin, named file", []string{"a.pcap"}, r, false},
		{"pipe stdin, dash", []string{"-"}, r, true},
		{"pipe stdin, file and dash", []string{"a.pcap", "-"}, r, true},
		{"regular stdin, dash", []string{"-"}, regular, false},
		{"not a file, dash", []string{"-"}, strings.NewReader(""), false},
	} {
		if got := readsLiveStdin(tc.files, tc.stdin); got != tc.want {
			t.Errorf("%s: readsLiveStdin = %v, want %v", tc.name, got, tc.want)
		}
	}
}
