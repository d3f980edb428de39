package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// filter selects the flows the report shows and --fail-on judges. Each
// kind of criterion given must match (AND); values within one kind are
// alternatives (OR).
type filter struct {
	verdicts     []string
	hosts        []netip.Addr
	nets         []netip.Prefix
	ports        []uint16
	since, until timeBound
	// lo and hi are the window the bounds resolve to (ns since the Unix
	// epoch) once the capture's first timestamp is known (setStart).
	lo, hi int64
}

// setStart resolves the time bounds against the capture's first packet.
// It fails for a window that turns out empty or inverted (a time of day
// after an offset, say), a usage error.
func (f *filter) setStart(start int64) error {
	f.lo, f.hi = f.since.resolve(start), f.until.resolve(start)
	if f.since.set && f.until.set && f.lo >= f.hi {
		return emptyWindow(&f.since, &f.until)
	}
	return nil
}

// describe names the active filters for the summary, in command-line
// terms: "port 80,443", "since 10:00:00.1 (2026-11-24T10:00:00.1Z)".
func (f *filter) describe() []string {
	var out []string
	list := func(name string, n int, item func(int) string) {
		if n == 0 {
			return
		}
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item(i)
		}
		out = append(out, name+" "+strings.Join(parts, ","))
	}
	list("verdict", len(f.verdicts), func(i int) string { return f.verdicts[i] })
	list("host", len(f.hosts), func(i int) string { return f.hosts[i].String() })
	list("net", len(f.nets), func(i int) string { return f.nets[i].String() })
	list("port", len(f.ports), func(i int) string { return strconv.Itoa(int(f.ports[i])) })
	for _, b := range []struct {
		name string
		b    *timeBound
		ns   int64
	}{{"since", &f.since, f.lo}, {"until", &f.until, f.hi}} {
		if b.b.set {
			out = append(out, fmt.Sprintf("%s %s (%s)", b.name, b.b.text, time.Unix(0, b.ns).UTC().Format(time.RFC3339Nano)))
		}
	}
	return out
}

func (f *filter) match(fl *reassembly.Flow) bool {
	if len(f.verdicts) > 0 && !slices.Contains(f.verdicts, fl.Verdict.String()) {
		return false
	}
	c, s := fl.Client.Addr().Unmap(), fl.Server.Addr().Unmap()
	if len(f.hosts) > 0 && !slices.Contains(f.hosts, c) && !slices.Contains(f.hosts, s) {
		return false
	}
	if len(f.nets) > 0 && !slices.ContainsFunc(f.nets, func(p netip.Prefix) bool { return p.Contains(c) || p.Contains(s) }) {
		return false
	}
	if len(f.ports) > 0 && !slices.Contains(f.ports, fl.Client.Port()) && !slices.Contains(f.ports, fl.Server.Port()) {
		return false
	}
	if f.since.set && fl.FirstTS < f.lo {
		return false
	}
	if f.until.set && fl.FirstTS > f.hi {
		return false
	}
	return true
}
