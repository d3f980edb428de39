package main

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

// icmpCapture writes a capture of a SYN answered by an ICMP port
// unreachable from a router, 0.3 ms later, quoting the IP header and 8
// bytes of TCP (RFC 792: ports and seq, no flags), and a second SYN 1 s
// later.
func icmpCapture(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgen.NewWriter(&b, true)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	syn := pcapgen.Seg{Time: at, Src: netip.MustParseAddrPort("10.1.0.5:41000"), Dst: netip.MustParseAddrPort("192.0.2.80:443"), Seq: 1000, Flags: pcapgen.SYN}
	if err := w.Write(syn); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteICMPError(at.Add(300*time.Microsecond), netip.MustParseAddr("172.16.255.254"), 3, 3, syn); err != nil {
		t.Fatal(err)
	}
	syn.Time = at.Add(time.Second)
	if err := w.Write(syn); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "icmp.pcap")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestICMPTimeline checks that an ICMP error is its own timeline row (the
// router, the message in words, the quoted segment, no seq/ack of its own)
// and the flow's reason.
func TestICMPTimeline(t *testing.T) {
	file := icmpCapture(t)
	r := runBuilt(t, nil, "--format", "ndjson", file)
	if !strings.Contains(r.stdout, `"reason":"ICMP port unreachable from 172.16.255.254 0.3 ms after the SYN (frame 2);`) {
		t.Errorf("reason:\n%s", r.stdout)
	}
	tl := runBuilt(t, nil, "--flow", "10.1.0.5:41000-192.0.2.80:443", file)
	var row string
	for _, l := range strings.Split(tl.stdout, "\n") {
		if strings.Contains(l, "R → C") {
			row = l
		}
	}
	cells := strings.Split(row, "│")
	if len(cells) < 10 || !strings.Contains(cells[4], "ICMP port unreachable") || strings.TrimSpace(cells[5]) != "-" || strings.TrimSpace(cells[6]) != "-" ||
		!strings.Contains(cells[9], "quotes C → S seq 0 / 1000") {
		t.Errorf("ICMP row %q in\n%s", row, tl.stdout)
	}
	if !strings.Contains(tl.stdout, "from 172.16.255.254") {
		t.Errorf("timeline does not name the router:\n%s", tl.stdout)
	}
	js := runBuilt(t, nil, "--flow", "10.1.0.5:41000-192.0.2.80:443", "--format", "json", file)
	for _, want := range []string{`"direction":"router_to_client"`, `"icmp":"ICMP port unreachable"`, `"icmp_from":"172.16.255.254"`, `"seq":null`,
		`"quoted":{"direction":"client_to_server","seq":1000}`} {
		if !strings.Contains(js.stdout, want) {
			t.Errorf("timeline JSON lacks %s:\n%s", want, js.stdout)
		}
	}
}

// maxWidth is the display width of the widest line of s (box-drawing and
// arrows are one column each).
func maxWidth(s string) int {
	w := 0
	for _, l := range strings.Split(s, "\n") {
		w = max(w, len([]rune(l)))
	}
	return w
}

// TestWidths runs the built command at 80, 120 and 200 columns, by
// --width, by $COLUMNS on a terminal and by the terminal's own size (tmux):
// the table and timeline never exceed the width, 80 gets the compact
// layout, 200 the full one, and pipes the full one.
func TestWidths(t *testing.T) {
	mix := pcap("mix-200.pcap")
	full := runBuilt(t, nil, mix).stdout
	if !strings.Contains(full, "│ syn→synack │") {
		t.Fatalf("pipe output is not the full layout:\n%s", full)
	}
	for _, width := range []int{80, 120, 200} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			out := runBuilt(t, nil, "--width", strconv.Itoa(width), mix).stdout
			if w := maxWidth(out); w > width {
				t.Errorf("table is %d columns wide at --width %d", w, width)
			}
			tl := runBuilt(t, nil, "--width", strconv.Itoa(width), "--flow", "192.0.2.1:40000-198.51.100.2:80", pcap("synack-wrong-ack.pcap")).stdout
			if w := maxWidth(tl); w > width {
				t.Errorf("timeline is %d columns wide at --width %d:\n%s", w, width, tl)
			}
			switch width {
			case 80:
				if strings.Contains(out, "│") || !strings.Contains(out, "\n    synack_wrong_ack: ack 3071968273, expected 3071968267 (frame 24)\n") {
					t.Errorf("80 columns: not the compact layout with reasons under the rows:\n%s", out)
				}
			case 200:
				if out != full {
					t.Errorf("200 columns: not the full layout")
				}
			}
		})
	}
	t.Run("tmux", func(t *testing.T) { testTmuxWidths(t, mix) })
}

// testTmuxWidths runs the command in a tmux terminal of 80, 120 and 200
// columns: it reads the width with TIOCGWINSZ.
func testTmuxWidths(t *testing.T, mix string) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("no tmux:", err)
	}
	bin := builtCommand(t)
	abs, _ := filepath.Abs(mix)
	for _, width := range []int{80, 120, 200} {
		out := filepath.Join(t.TempDir(), "out")
		sock := filepath.Join(t.TempDir(), "tmux.sock")
		// script runs the command on a terminal of the pane's size and
		// records what it printed.
		cmd := exec.Command(tmux, "-S", sock, "-f", "/dev/null", "new-session", "-d", "-x", strconv.Itoa(width), "-y", "50",
			"sh", "-c", "script -qec '"+bin+" --no-color "+abs+"' "+out+" >/dev/null; touch "+out+".done; sleep 30")
		cmd.Env = append(os.Environ(), "TERM=xterm")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tmux: %v %s", err, b)
		}
		// The pane stays open (sleep) until the command is done and the
		// server is killed, so the terminal keeps its size throughout.
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := os.Stat(out + ".done"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				exec.Command(tmux, "-S", sock, "kill-server").Run()
				t.Fatalf("tmux session at %d columns did not finish", width)
			}
			time.Sleep(50 * time.Millisecond)
		}
		exec.Command(tmux, "-S", sock, "kill-server").Run()
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n") {
			if !strings.HasPrefix(l, "Script started on ") && !strings.HasPrefix(l, "Script done on ") {
				lines = append(lines, l)
			}
		}
		got := strings.Join(lines, "\n")
		if w := maxWidth(got); w > width || !strings.Contains(got, "Flows that need attention") {
			t.Errorf("in a %d-column terminal the table is %d wide:\n%s", width, w, got)
		}
		if width == 80 && strings.Contains(got, "│") {
			t.Errorf("80-column terminal: not the compact layout:\n%s", got)
		}
	}
}
