package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math/bits"
	"net/netip"
	"slices"
	"strconv"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// Groupings of --group-by.
const (
	GroupServer = "server" // by server address
	GroupClient = "client" // by client address
	GroupPort   = "port"   // by server port
)

// maxGroups bounds the groups a grouped table keeps apart; attempts of
// further groups are counted together as "(other)", so that a scan of a
// million ports costs maxGroups entries.
const maxGroups = 4096

// groupKey is a group's address or port.
type groupKey struct {
	addr netip.Addr
	port uint16
}

func (k groupKey) String() string {
	if k.addr.IsValid() {
		return k.addr.String()
	}
	return strconv.Itoa(int(k.port))
}

// group is one row of a grouped table.
type group struct {
	key       groupKey
	other     bool // the "(other)" row
	n         uint64
	byVerdict [5]uint64
	lat       tinyHist
}

// failed counts the half-open, refused and malformed attempts (report
// indices 1-3).
func (g *group) failed() uint64 {
	return g.byVerdict[1] + g.byVerdict[2] + g.byVerdict[3]
}

// groupWriter prints the summary and then one row per group (per server,
// client or server port): attempts per verdict and SYN→SYN-ACK
// percentiles, the groups with most failed attempts first.
type groupWriter struct {
	t      *tableWriter // for the summary and verdict colours
	by     string
	groups map[groupKey]*group
	other  group
}

func newGroupWriter(w io.Writer, opts Options) *groupWriter {
	return &groupWriter{t: newTable(w, opts), by: opts.GroupBy, groups: make(map[groupKey]*group), other: group{other: true}}
}

func (g *groupWriter) Flow(f *reassembly.Flow) error {
	var k groupKey
	switch g.by {
	case GroupClient:
		k.addr = f.Client.Addr()
	case GroupPort:
		k.port = f.Server.Port()
	default:
		k.addr = f.Server.Addr()
	}
	row := g.groups[k]
	if row == nil {
		if len(g.groups) >= maxGroups {
			row = &g.other
		} else {
			row = &group{key: k}
			g.groups[k] = row
		}
	}
	row.n++
	row.byVerdict[verdictIndex(f.Verdict)]++
	if f.HasSYNToSYNACK {
		row.lat.add(f.SYNToSYNACK)
	}
	return nil
}

func (g *groupWriter) Close(c *Capture, s *Stats) error {
	rows := make([]*group, 0, len(g.groups)+1)
	for _, r := range g.groups {
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b *group) int {
		return cmp.Or(cmp.Compare(b.failed(), a.failed()), cmp.Compare(b.n, a.n), a.key.addr.Compare(b.key.addr), cmp.Compare(a.key.port, b.key.port))
	})
	if g.other.n > 0 {
		rows = append(rows, &g.other)
	}
	more := 0
	if !g.t.opts.All && len(rows) > g.t.opts.MaxRows {
		more = len(rows) - g.t.opts.MaxRows
		rows = rows[:g.t.opts.MaxRows]
	}
	// The summary, fitted like the plain table's.
	var text bytes.Buffer
	out := g.t.w
	g.t.w = &text
	g.t.summary(c, s)
	g.t.w = out
	fmt.Fprintf(&text, "\nAttempts by %s (%d groups, most failed attempts first):\n", g.by, len(g.groups)+min(int(g.other.n), 1))
	if err := wrapLines(out, text.Bytes(), g.t.opts.Width); err != nil {
		return err
	}
	header := []string{g.by, "attempts", "complete", "half_open", "refused", "malformed", "midstream", "syn→synack p50", "p95"}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		name := r.key.String()
		if r.other {
			name = fmt.Sprintf("(other: beyond %d %ss)", maxGroups, g.by)
		}
		cells[i] = []string{name, strconv.FormatUint(r.n, 10)}
		for _, v := range r.byVerdict {
			cells[i] = append(cells[i], strconv.FormatUint(v, 10))
		}
		p50, p95 := "-", "-"
		if r.lat.n > 0 {
			p50, p95 = millis(r.lat.quantile(50), true), millis(r.lat.quantile(95), true)
		}
		cells[i] = append(cells[i], p50, p95)
	}
	var b bytes.Buffer
	tbl := newTableWriter(&b, header)
	for _, row := range cells {
		if err := tbl.Append(row); err != nil {
			return err
		}
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	if w := g.t.opts.Width; w > 0 && widest(b.Bytes()) > w {
		b.Reset()
		ct := newCompactTable(&b, w, "group", "n", "ok", "half", "ref", "mal", "mid", "p50")
		short := make([][]string, len(cells))
		for i, row := range cells {
			short[i] = append(append([]string{}, row[:7]...), row[7])
			ct.measure(short[i])
		}
		ct.writeHeader()
		for _, row := range short {
			ct.line(row)
		}
	}
	if _, err := out.Write(b.Bytes()); err != nil {
		return err
	}
	if more > 0 {
		fmt.Fprintf(out, "… %s more groups (use --all)\n", thousands(uint64(more)))
	}
	return nil
}

// tinyHist is a small log-scale histogram of durations for one group: 8
// buckets per power of two (a quantile is the lower bound of its bucket,
// within 12.5%), 2 KiB, fixed size.
type tinyHist struct {
	counts   [64 * 8]uint32
	n        uint64
	min, max int64 // exact, to clamp a quantile into
}

func tinyBucket(ns int64) int {
	v := uint64(max(ns, 1))
	e := bits.Len64(v) - 1 // v in [2^e, 2^(e+1))
	sub := 0
	if e >= 3 {
		sub = int(v>>(e-3)) & 7
	}
	return e*8 + sub
}

func (h *tinyHist) add(ns int64) {
	if h.n == 0 || ns < h.min {
		h.min = ns
	}
	h.max = max(h.max, ns)
	h.counts[tinyBucket(ns)]++
	h.n++
}

// quantile returns the lower bound of the bucket holding percentile p,
// within the smallest and largest value seen.
func (h *tinyHist) quantile(p float64) int64 {
	return min(max(h.bucketQuantile(p), h.min), h.max)
}

func (h *tinyHist) bucketQuantile(p float64) int64 {
	want := uint64(float64(h.n)*p/100 + 0.5)
	want = max(want, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += uint64(c)
		if seen >= want {
			e, sub := i/8, i%8
			if e < 3 {
				return int64(1) << e
			}
			return int64(8+sub) << (e - 3)
		}
	}
	return 0
}
