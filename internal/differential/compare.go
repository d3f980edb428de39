package differential

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Report is the part of hsanalyze's --format json output (CONTRACT.md)
// the comparison reads.
type Report struct {
	Summary struct {
		Packets  int `json:"packets"`
		Flows    int `json:"flows"`
		Warnings int `json:"warnings"`
	} `json:"summary"`
	Flows []Flow `json:"flows"`
}

// Flow is one hsanalyze connection attempt. Fields beyond CONTRACT.md
// (frames) are optional: the matching falls back to first_ts without them.
type Flow struct {
	ClientIP    string     `json:"client_ip"`
	ClientPort  uint16     `json:"client_port"`
	ServerIP    string     `json:"server_ip"`
	ServerPort  uint16     `json:"server_port"`
	Verdict     string     `json:"verdict"`
	Anomalies   []string   `json:"anomalies"`
	Evidence    []Evidence `json:"evidence"`
	FirstTS     string     `json:"first_ts"`
	SynFrame    *int       `json:"syn_frame"`
	SynAckFrame *int       `json:"synack_frame"`
	AckFrame    *int       `json:"ack_frame"`
}

// Evidence is one anomaly occurrence.
type Evidence struct {
	Anomaly  string          `json:"anomaly"`
	Fatal    *bool           `json:"fatal"`
	Frame    *int            `json:"frame"`
	Field    string          `json:"field"`
	Seen     json.RawMessage `json:"seen"`
	Expected json.RawMessage `json:"expected"`
}

// Tuple returns the flow's unordered 4-tuple; ok is false when its
// addresses do not parse.
func (f Flow) Tuple() (Tuple, bool) {
	c, err1 := netip.ParseAddr(f.ClientIP)
	s, err2 := netip.ParseAddr(f.ServerIP)
	if err1 != nil || err2 != nil {
		return Tuple{}, false
	}
	return MakeTuple(netip.AddrPortFrom(c.Unmap(), f.ClientPort), netip.AddrPortFrom(s.Unmap(), f.ServerPort)), true
}

func (f Flow) String() string {
	s := fmt.Sprintf("%s:%d->%s:%d %s", f.ClientIP, f.ClientPort, f.ServerIP, f.ServerPort, f.Verdict)
	if len(f.Anomalies) > 0 {
		s += " (" + strings.Join(f.Anomalies, ",") + ")"
	}
	return s
}

// frames lists the frame numbers the flow names, handshake first.
func (f Flow) frames() []int {
	var out []int
	for _, p := range []*int{f.SynFrame, f.SynAckFrame, f.AckFrame} {
		if p != nil {
			out = append(out, *p)
		}
	}
	for _, e := range f.Evidence {
		if e.Frame != nil {
			out = append(out, *e.Frame)
		}
	}
	return out
}

// Outcome classifies one compared stream (or unmatched flow).
type Outcome int

const (
	// Agree: the same verdict.
	Agree Outcome = iota
	// AgreeNumbers: hsanalyze found wrong seq/ack numbers that tshark does
	// not check, each verified against tshark's decoding of the frame.
	AgreeNumbers
	// Differ: a difference that needs an allow-list entry.
	Differ
)

// Result is the comparison of one tshark stream with its hsanalyze flows,
// or of one hsanalyze flow that matched no stream (Stream -1).
type Result struct {
	Capture   string // label of the capture (see the test)
	Stream    int    // tshark tcp.stream, -1 when tshark has none
	Tshark    string // derived verdict, or "none"
	Hsanalyze string // verdict of the compared (last) flow, or "none"
	Outcome   Outcome
	Earlier   int    // earlier flows in the same stream, not compared
	Detail    string // what each side saw, for the log
}

// Key identifies a difference in the allow-list.
func (r Result) Key() string {
	return fmt.Sprintf("%s|%d|%s|%s", r.Capture, r.Stream, r.Tshark, r.Hsanalyze)
}

// Compare matches flows to streams and compares their verdicts.
func Compare(capture string, streams []*Stream, flows []Flow) []Result {
	byFrame := map[int]*Stream{}
	byTuple := map[Tuple][]*Stream{}
	for _, s := range streams {
		for _, p := range s.Packets {
			byFrame[p.Frame] = s
		}
		byTuple[s.Tuple] = append(byTuple[s.Tuple], s)
	}
	matched := map[*Stream][]Flow{}
	var results []Result
	for _, f := range flows {
		s := matchFlow(f, byFrame, byTuple)
		if s == nil {
			results = append(results, Result{Capture: capture, Stream: -1, Tshark: "none",
				Hsanalyze: f.Verdict, Outcome: Differ, Detail: "no tshark stream for " + f.String()})
			continue
		}
		matched[s] = append(matched[s], f)
	}
	for _, s := range streams {
		exp := Derive(s)
		fs := matched[s]
		r := Result{Capture: capture, Stream: s.ID, Tshark: exp.Verdict, Hsanalyze: "none"}
		detail := fmt.Sprintf("%s completeness %d [%s], %s", s.Tuple, s.Complete, CompletenessString(s.Complete), exp.Rule)
		if len(fs) == 0 {
			if exp.Verdict == "none" {
				continue // ICMP-quoted headers only: nothing to compare
			}
			r.Outcome = Differ
			r.Detail = detail + "; hsanalyze has no flow"
			results = append(results, r)
			continue
		}
		last := fs[len(fs)-1]
		r.Hsanalyze = last.Verdict
		r.Earlier = len(fs) - 1
		var names []string
		for _, f := range fs {
			names = append(names, f.String())
		}
		r.Detail = detail + "; hsanalyze: " + strings.Join(names, "; ")
		switch {
		case last.Verdict == exp.Verdict:
			r.Outcome = Agree
		case last.Verdict == "malformed" && numbersVerified(last, s):
			r.Outcome = AgreeNumbers
		default:
			r.Outcome = Differ
		}
		results = append(results, r)
	}
	return results
}

// matchFlow finds the stream of f: by a frame it names whose stream has
// f's 4-tuple, else by its first_ts among the streams on its 4-tuple.
func matchFlow(f Flow, byFrame map[int]*Stream, byTuple map[Tuple][]*Stream) *Stream {
	t, ok := f.Tuple()
	if !ok {
		return nil
	}
	for _, fr := range f.frames() {
		if s := byFrame[fr]; s != nil && s.Tuple == t {
			return s
		}
	}
	cands := byTuple[t]
	if len(cands) == 0 {
		return nil
	}
	ts, err := time.Parse(time.RFC3339Nano, f.FirstTS)
	if err != nil {
		return cands[len(cands)-1]
	}
	want := ts.UnixNano()
	var best *Stream
	for _, s := range cands {
		for _, p := range s.Packets {
			if p.TimeNanos == want {
				return s
			}
		}
		if len(s.Packets) > 0 && s.Packets[0].TimeNanos <= want {
			best = s
		}
	}
	if best == nil {
		best = cands[0]
	}
	return best
}

// numbersVerified reports whether every fatal anomaly of f is a wrong seq
// or ack number whose seen value tshark decoded in the frame named, a
// frame of stream s. Evidence without a "fatal" field counts as fatal.
func numbersVerified(f Flow, s *Stream) bool {
	byFrame := map[int]Packet{}
	for _, p := range s.Packets {
		byFrame[p.Frame] = p
	}
	n := 0
	for _, e := range f.Evidence {
		if e.Fatal != nil && !*e.Fatal {
			continue
		}
		n++
		if e.Frame == nil || (e.Field != "seq" && e.Field != "ack") {
			return false
		}
		p, ok := byFrame[*e.Frame]
		if !ok {
			return false
		}
		seen, err := strconv.ParseUint(string(e.Seen), 10, 32)
		if err != nil {
			return false
		}
		got := p.Seq
		if e.Field == "ack" {
			got = p.Ack
		}
		if uint32(seen) != got || string(e.Seen) == string(e.Expected) {
			return false
		}
	}
	return n > 0
}

// AllowEntry is one row of testdata/tshark-differences.md.
type AllowEntry struct {
	Capture, Tshark, Hsanalyze, Why string
	Stream                          int
	Line                            int
}

// Key matches Result.Key.
func (a AllowEntry) Key() string {
	return fmt.Sprintf("%s|%d|%s|%s", a.Capture, a.Stream, a.Tshark, a.Hsanalyze)
}

// ParseAllowList reads the allow-list table: the Markdown table whose
// header row is "| capture | stream | tshark | hsanalyze | why |". Cells
// may be wrapped in backticks. stream is tshark's tcp.stream, or "-" when
// tshark has no stream for an hsanalyze flow; tshark and hsanalyze are
// verdicts or "none". Every row needs a non-empty why.
func ParseAllowList(md []byte) ([]AllowEntry, error) {
	var out []AllowEntry
	in := false
	sc := bufio.NewScanner(bytes.NewReader(md))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			in = false
			continue
		}
		cells := splitRow(line)
		if len(cells) == 5 && cells[0] == "capture" && cells[1] == "stream" && cells[4] == "why" {
			in = true
			continue
		}
		if !in || strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells) != 5 {
			return nil, fmt.Errorf("line %d: %d cells, want 5", n, len(cells))
		}
		e := AllowEntry{Capture: cells[0], Tshark: cells[2], Hsanalyze: cells[3], Why: cells[4], Line: n}
		if cells[1] == "-" {
			e.Stream = -1
		} else {
			s, err := strconv.Atoi(cells[1])
			if err != nil {
				return nil, fmt.Errorf("line %d: stream %q: %v", n, cells[1], err)
			}
			e.Stream = s
		}
		if e.Why == "" {
			return nil, fmt.Errorf("line %d: an entry needs its reason", n)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func splitRow(line string) []string {
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	cells := strings.Split(line, "|")
	for i, c := range cells {
		cells[i] = strings.Trim(strings.TrimSpace(c), "`")
	}
	return cells
}
