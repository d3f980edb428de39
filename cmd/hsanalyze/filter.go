package main

import (
	"net/netip"
	"slices"

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
	// start is the capture's first timestamp, for relative bounds.
	start int64
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
	if f.since.set && fl.FirstTS < f.bound(f.since) {
		return false
	}
	if f.until.set && fl.FirstTS > f.bound(f.until) {
		return false
	}
	return true
}

// bound resolves b to ns since the Unix epoch.
func (f *filter) bound(b timeBound) int64 {
	if b.relative {
		return f.start + int64(b.offset)
	}
	return b.abs.UnixNano()
}
