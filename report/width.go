package report

import (
	"bufio"
	"bytes"
	"io"
	"net/netip"
	"strings"
)

// Terminal widths. A table wider than Options.Width is first fitted by
// wrapping its widest free-text column; when that column would be narrower
// than minWrap, the compact layout is used instead: no borders, fewer
// columns, the explanation on lines of its own under each row. At or below
// CompactWidth the compact layout is used directly.
const (
	// CompactWidth is the widest terminal that gets the compact layout.
	CompactWidth = 100
	minWrap      = 30
	// addrWidth caps an address:port in the compact layout.
	addrWidth = 24
)

// wrap breaks s into lines of at most width display columns, at spaces
// where it can, inside a word where it must. Existing line breaks stay.
func wrap(s string, width int) []string {
	width = max(width, 8)
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for displayWidth(word) > width {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				cut := runeCut(word, width)
				out = append(out, word[:cut])
				word = word[cut:]
			}
			switch {
			case line == "":
				line = word
			case displayWidth(line)+1+displayWidth(word) <= width:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		// Keep the indentation of a continuation line ("  RFC …").
		if lead := len(para) - len(strings.TrimLeft(para, " ")); lead > 0 && line != "" && len(out) == 0 {
			line = para[:lead] + line
		}
		out = append(out, line)
	}
	return out
}

// runeCut returns the byte length of the longest prefix of s that fits in
// width columns (at least one rune).
func runeCut(s string, width int) int {
	w := 0
	for i, r := range s {
		rw := displayWidth(string(r))
		if w+rw > width && i > 0 {
			return i
		}
		w += rw
	}
	return len(s)
}

// shortAddr shortens an address:port to at most addrWidth columns for the
// compact layout: a long IPv6 address keeps its first two and last two
// groups, "[2001:db8:…:7:1]:40000".
func shortAddr(ap netip.AddrPort) string {
	s := ap.String()
	if len(s) <= addrWidth || !ap.Addr().Is6() {
		return s
	}
	host := ap.Addr().String()
	groups := strings.Split(host, ":")
	if len(groups) > 4 {
		host = strings.Join(groups[:2], ":") + ":…:" + strings.Join(groups[len(groups)-2:], ":")
	}
	s = "[" + host + "]:" + itoa(int(ap.Port()))
	if displayWidth(s) > addrWidth {
		s = s[:runeCut(s, addrWidth-1)] + "…"
	}
	return s
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// widest returns the display width of the widest line of b.
func widest(b []byte) int {
	w := 0
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		w = max(w, displayWidth(string(line)))
	}
	return w
}

// compactTable writes rows as aligned columns without borders, each
// followed by its explanation wrapped under it, indented: the layout for
// terminals of CompactWidth columns or fewer.
type compactTable struct {
	w      io.Writer
	width  int // terminal width
	header []string
	widths []int
}

func newCompactTable(w io.Writer, width int, header ...string) *compactTable {
	c := &compactTable{w: w, width: width, header: header, widths: make([]int, len(header))}
	for i, h := range header {
		c.widths[i] = displayWidth(h)
	}
	return c
}

// measure widens the columns to cells.
func (c *compactTable) measure(cells []string) {
	for i, s := range cells {
		c.widths[i] = max(c.widths[i], displayWidth(s))
	}
}

func (c *compactTable) line(cells []string) {
	var b strings.Builder
	for i, s := range cells {
		if i > 0 {
			b.WriteString("  ")
		}
		b.WriteString(s)
		if i < len(cells)-1 {
			b.WriteString(strings.Repeat(" ", c.widths[i]-displayWidth(s)))
		}
	}
	line := strings.TrimRight(b.String(), " ")
	if displayWidth(line) > c.width {
		line = line[:runeCut(line, c.width-1)] + "…"
	}
	io.WriteString(c.w, line+"\n")
}

func (c *compactTable) writeHeader() { c.line(c.header) }

// row writes cells and the explanation under them.
func (c *compactTable) row(cells []string, under string) {
	c.line(cells)
	for _, l := range wrap(under, c.width-4) {
		if l != "" {
			io.WriteString(c.w, "    "+l+"\n")
		}
	}
}

// wrapLines copies b to w, breaking every line wider than width at spaces
// with a hanging indent under its label (the summary's "Top servers by
// failed attempts: a, b, c" lines).
func wrapLines(w io.Writer, b []byte, width int) error {
	bw := bufio.NewWriter(w)
	for line := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
		if width <= 0 || displayWidth(line) <= width {
			bw.WriteString(line + "\n")
			continue
		}
		indent := 2
		if i := strings.Index(line, ": "); i > 0 && i < width/2 {
			indent = i + 2
		}
		// Keep "198.51.100.2 ×25" together: ¤ is no space to wrap at.
		line = strings.ReplaceAll(line, " ×", "¤×")
		parts := wrap(line, width)
		rest := strings.Join(parts[1:], " ")
		for i, p := range append(parts[:1], wrap(rest, width-indent)...) {
			if i > 0 {
				bw.WriteString(strings.Repeat(" ", indent))
			}
			bw.WriteString(strings.ReplaceAll(p, "¤", " ") + "\n")
		}
	}
	return bw.Flush()
}
