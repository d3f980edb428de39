package report

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter/pkg/twwidth"

	"github.com/hsanalyze/hsanalyze/reassembly"
)

// closeAll writes the --all flow list: every flow, sorted by time. A
// batch tablewriter table holds every cell of every row until it renders
// (~1.7 KB per row, and 8× the time of the default table on 200k flows;
// its streaming mode still costs 7×), so the flows stay compact in t.all
// and Close writes the rows in tablewriter's default layout (the golden
// all.txt files of TestGolden hold tablewriter's bytes), formatting them
// on Options.Workers goroutines (flowStore.writeSorted). The columns are
// measured as flows arrive (addAll), so Close formats each row once.
func (t *tableWriter) closeAll(c *Capture) error {
	defer t.all.close()
	n := t.all.n
	if n == 0 {
		fmt.Fprintf(t.w, "\n%s.\n", "No flows")
		return nil
	}
	fmt.Fprintf(t.w, "\n%s (%d):\n", "Flows", n)
	layout := timeLayout(c)
	bw := bufio.NewWriterSize(t.w, 64<<10)
	b := boxTable{widths: t.widths[:]}
	b.widths[0] = max(b.widths[0], len(layout))
	b.rule("┌", "┬", "┐")
	b.row(tableHeader[:])
	b.rule("├", "┼", "┤")
	bw.Write(b.buf)
	withDate := len(layout) > len("15:04:05.000000")
	// The rows are formatted on every core (writeSorted), each goroutine
	// with its own buffers; the widths are final and only read.
	err := t.all.writeSorted(bw, t.opts.Workers, func() flowFormat {
		rb := boxTable{widths: b.widths}
		var stamps stampCache
		var cellBuf []byte
		var cells [len(tableHeader)]string
		return func(dst []byte, f *reassembly.Flow, _ uint64) []byte {
			// All of a row's cells are one string: one allocation a row.
			buf := stamps.appendTable(cellBuf[:0], f.FirstTS, withDate)
			start := len(buf)
			buf, ends := t.appendCells(buf, f)
			cellBuf = buf
			s := string(buf)
			cells[0] = s[:start]
			splitCells(cells[1:], s, start, ends[:])
			rb.buf = dst
			rb.row(cells[:])
			return rb.buf
		}
	})
	if err != nil {
		return err
	}
	b.buf = b.buf[:0]
	b.rule("└", "┴", "┘")
	bw.Write(b.buf)
	return bw.Flush()
}

// appendTableTime appends ns as timeLayout's "15:04:05.000000", or with
// withDate "2006-01-02 15:04:05.000000", in UTC: the parts of the RFC 3339
// form (TestAppendTableTime compares it with time's).
func appendTableTime(dst []byte, ns int64, withDate bool) []byte {
	var c stampCache
	return c.appendTable(dst, ns, withDate)
}

// appendTable is appendTableTime through c.
func (c *stampCache) appendTable(dst []byte, ns int64, withDate bool) []byte {
	var b [30]byte
	r := c.append(b[:0], ns) // 2006-01-02T15:04:05.000000000Z
	if withDate {
		dst = append(append(dst, r[:10]...), ' ')
	}
	return append(dst, r[11:26]...)
}

// addAll stores f for closeAll and widens the columns to its cells (the
// time column is measured at the end, when its layout is known). It
// measures what cells formats without building the strings, but for the
// anomalies of the few flows that have any; the golden all.txt files
// keep the two in step.
func (t *tableWriter) addAll(f *reassembly.Flow) error {
	w := &t.widths
	if w[0] == 0 {
		for i, h := range tableHeader {
			w[i] = displayWidth(h)
		}
	}
	b := t.scratch[:0]
	if f.Tunnel.Len() == 0 {
		w[1] = max(w[1], len(f.Client.AppendTo(b)))
	} else {
		for line := range strings.SplitSeq(f.Client.String()+tunnelNote(f.Tunnel), "\n") {
			w[1] = max(w[1], displayWidth(line))
		}
	}
	w[2] = max(w[2], len(f.Server.AppendTo(b)))
	w[3] = max(w[3], len(f.Verdict.String()))
	if len(f.Anomalies) > 0 {
		for line := range strings.SplitSeq(anomalyLines(f, t.opts.Files), "\n") {
			w[4] = max(w[4], displayWidth(line))
		}
	} else {
		t.scratch = f.AppendReason(b) // ASCII: its length is its width
		w[4] = max(w[4], len(t.scratch))
		b = t.scratch[:0]
	}
	ms := func(ns int64, ok bool) int {
		if !ok {
			return 1 // "-"
		}
		return len(appendMillis3(b, ns)) + len(" ms")
	}
	w[5] = max(w[5], ms(f.SYNToSYNACK, f.HasSYNToSYNACK))
	w[6] = max(w[6], ms(f.SYNACKToACK, f.HasSYNACKToACK))
	if f.SYNRetransmits == 0 && f.SYNACKRetransmits == 0 {
		w[7] = max(w[7], 1)
	} else {
		n := len(strconv.AppendUint(b, uint64(f.SYNRetransmits), 10)) + len(strconv.AppendUint(b, uint64(f.SYNACKRetransmits), 10))
		w[7] = max(w[7], len("SYN , SYN-ACK ")+n)
	}
	t.scratch = b
	return t.all.add(f)
}

// boxTable writes tablewriter's default layout: box-drawing borders, one
// space of padding, left-aligned cells, lines of a multi-line cell on
// rows of their own.
type boxTable struct {
	buf    []byte // what rule and row append to
	widths []int
	lines  [][]string
}

const spaces = "                                                                "

func (b *boxTable) rule(left, mid, right string) {
	b.buf = append(b.buf, left...)
	for i, w := range b.widths {
		if i > 0 {
			b.buf = append(b.buf, mid...)
		}
		for range w + 2 {
			b.buf = append(b.buf, "─"...)
		}
	}
	b.buf = append(b.buf, right...)
	b.buf = append(b.buf, '\n')
}

func (b *boxTable) row(cells []string) {
	if len(b.lines) < len(cells) {
		b.lines = make([][]string, len(cells))
	}
	height := 1
	for i, c := range cells {
		if strings.IndexByte(c, '\n') < 0 {
			b.lines[i] = append(b.lines[i][:0], c)
		} else {
			b.lines[i] = append(b.lines[i][:0], strings.Split(c, "\n")...)
		}
		height = max(height, len(b.lines[i]))
	}
	for l := range height {
		b.buf = append(b.buf, "│"...)
		for i, w := range b.widths {
			s := ""
			if l < len(b.lines[i]) {
				s = b.lines[i][l]
			}
			b.buf = append(b.buf, ' ')
			b.buf = append(b.buf, s...)
			for pad := w - displayWidth(s) + 1; pad > 0; {
				k := min(pad, len(spaces))
				b.buf = append(b.buf, spaces[:k]...)
				pad -= k
			}
			b.buf = append(b.buf, "│"...)
		}
		b.buf = append(b.buf, '\n')
	}
}

// displayWidth is the terminal width of s as tablewriter measures it,
// without its cache lookups for the usual printable ASCII.
func displayWidth(s string) int {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return twwidth.Width(s)
		}
	}
	return len(s)
}
