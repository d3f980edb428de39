package html

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/hsanalyze/hsanalyze/handshake"
	"github.com/hsanalyze/hsanalyze/internal/pcapgen"
)

var update = flag.Bool("update", false, "rewrite the golden outlines in testdata")

func parse(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if v, ok := attr(n, "id"); ok && v == id && found == nil {
			found = n
		}
	})
	return found
}

// outline writes the document's structure: landmarks, headings, tables
// with their captions and header cells, charts with their titles and shape
// counts, forms; with the text of headings and captions. It is what the
// golden files hold, so that a change of structure shows in review.
func outline(doc *html.Node) string {
	var b strings.Builder
	var rec func(n *html.Node, depth int)
	rec = func(n *html.Node, depth int) {
		if n.Type == html.ElementNode {
			line, show := "", false
			id, _ := attr(n, "id")
			label := n.Data
			if id != "" {
				label += "#" + id
			}
			switch n.DataAtom {
			case atom.Html, atom.Head, atom.Body, atom.Header, atom.Main, atom.Footer, atom.Nav, atom.Section,
				atom.Form, atom.Details, atom.Figure, atom.Dl, atom.Thead, atom.Tbody:
				show = true
			case atom.Th:
				// Column headers; row headers are data.
				show, line = n.Parent != nil && n.Parent.Parent != nil && n.Parent.Parent.DataAtom == atom.Thead, textOf(n)
			case atom.Title, atom.H1, atom.H2, atom.H3, atom.Caption, atom.Dt, atom.Summary, atom.Label, atom.Figcaption:
				show, line = true, textOf(n)
			case atom.Meta:
				if v, ok := attr(n, "http-equiv"); ok {
					show, line = true, v
				}
			case atom.Script:
				typ, _ := attr(n, "type")
				show, line = true, "type="+typ
			case atom.Table:
				rows := 0
				walk(n, func(c *html.Node) {
					if c.DataAtom == atom.Tr && c.Parent != nil && c.Parent.DataAtom == atom.Tbody {
						rows++
					}
				})
				show, line = true, fmt.Sprintf("%d body rows", rows)
			case atom.Svg:
				counts := map[string]int{}
				walk(n, func(c *html.Node) {
					if c.Type == html.ElementNode {
						counts[c.Data]++
					}
				})
				role, _ := attr(n, "role")
				show, line = true, fmt.Sprintf("role=%s rect=%d line=%d text=%d", role, counts["rect"], counts["line"], counts["text"])
			}
			if show {
				fmt.Fprintf(&b, "%s%s", strings.Repeat("  ", depth), label)
				if line != "" {
					fmt.Fprintf(&b, ": %s", line)
				}
				b.WriteByte('\n')
				depth++
			}
			if n.DataAtom == atom.Svg {
				return // shapes are counted above
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c, depth)
		}
	}
	rec(doc, 0)
	return b.String()
}

// TestGoldenStructure compares the outline of the mix's page with the
// golden file (go test -update rewrites it).
func TestGoldenStructure(t *testing.T) {
	page, _ := buildReport(t, Options{Version: "test"}, mixPcap)
	got := outline(parse(t, page))
	golden := filepath.Join("testdata", "mix-200.outline")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("outline differs from %s (go test -update rewrites it); got:\n%s", golden, got)
	}
}

// TestSelfContained checks that the page loads nothing and runs nothing
// but its own script and style, which its CSP names by hash.
func TestSelfContained(t *testing.T) {
	page, _ := buildReport(t, Options{}, mixPcap)
	doc := parse(t, page)
	var csp string
	var scripts, styles []string
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			switch {
			case a.Key == "src" || a.Key == "srcset" || a.Key == "action" || a.Key == "formaction":
				t.Errorf("<%s %s=%q>: the page must load nothing", n.Data, a.Key, a.Val)
			case a.Key == "href" && n.Data != "a":
				t.Errorf("<%s href=%q>: the page must load nothing", n.Data, a.Val)
			case a.Key == "href" && !strings.HasPrefix(a.Val, "#"):
				t.Errorf("link to %q: only links within the page", a.Val)
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("<%s %s>: inline event handler", n.Data, a.Key)
			case a.Key == "style":
				t.Errorf("<%s style>: style attributes are blocked by the CSP", n.Data)
			}
		}
		switch n.DataAtom {
		case atom.Meta:
			if v, _ := attr(n, "http-equiv"); strings.EqualFold(v, "Content-Security-Policy") {
				csp, _ = attr(n, "content")
			}
		case atom.Script:
			if typ, _ := attr(n, "type"); typ == "application/json" {
				return
			}
			scripts = append(scripts, n.FirstChild.Data)
		case atom.Style:
			styles = append(styles, n.FirstChild.Data)
		case atom.Link, atom.Iframe, atom.Object, atom.Embed, atom.Img, atom.Base:
			t.Errorf("<%s> in a self-contained page", n.Data)
		}
	})
	if !strings.HasPrefix(csp, "default-src 'none';") {
		t.Fatalf("CSP %q: want default-src 'none' first", csp)
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	if len(scripts) != 1 || len(styles) != 1 {
		t.Fatalf("%d scripts and %d styles, want one of each", len(scripts), len(styles))
	}
	for _, want := range []string{"script-src " + hash(scripts[0]) + ";", "style-src " + hash(styles[0]) + ";", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q allows unsafe sources", csp)
	}
}

// pageData is the embedded JSON, as far as the tests read it.
type pageData struct {
	Files    []string          `json:"files"`
	Verdicts []string          `json:"verdicts"`
	Addrs    []string          `json:"addrs"`
	Problems int               `json:"problems"`
	Packed   []byte            `json:"packed"` // base64 gzip of Flows and Ladders
	Flows    [][]any           `json:"flows"`
	Ladders  []json.RawMessage `json:"ladders"`
}

func embedded(t *testing.T, doc *html.Node) pageData {
	t.Helper()
	n := byID(doc, "hs-data")
	if n == nil || n.FirstChild == nil {
		t.Fatal("no #hs-data")
	}
	var d pageData
	if err := json.Unmarshal([]byte(n.FirstChild.Data), &d); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(d.Packed))
	if err != nil {
		t.Fatalf("packed data: %v", err)
	}
	if err := json.NewDecoder(zr).Decode(&d); err != nil {
		t.Fatalf("packed data: %v", err)
	}
	return d
}

// TestCountsAgree checks the summary table and the embedded flows against
// the statistics the page was written from.
func TestCountsAgree(t *testing.T) {
	page, st := buildReport(t, Options{}, mixPcap)
	doc := parse(t, page)
	for i, v := range verdicts {
		var cell *html.Node
		walk(doc, func(n *html.Node) {
			if a, ok := attr(n, "data-verdict"); ok && a == v.String() {
				cell = n
			}
		})
		if cell == nil {
			t.Fatalf("no summary cell for %s", v)
		}
		if got := textOf(cell); got != strconv.FormatUint(st.ByVerdict[verdictIndex(v)], 10) {
			t.Errorf("%s: summary shows %s, stats %d (index %d)", v, got, st.ByVerdict[verdictIndex(v)], i)
		}
	}
	d := embedded(t, doc)
	problems := int(st.Flows - st.ByVerdict[vComplete])
	if d.Problems != problems || len(d.Flows) != int(st.Flows) {
		t.Errorf("embedded %d flows, %d of them problems; want all %d, %d problems", len(d.Flows), d.Problems, st.Flows, problems)
	}
	laddered := 0
	for i, r := range d.Flows {
		v := int(r[5].(float64))
		if (i < d.Problems) != (v != vComplete) {
			t.Errorf("row %d: verdict %s in the wrong part", i, d.Verdicts[v])
		}
		if int(r[9].(float64)) >= 0 {
			laddered++
		}
	}
	if laddered != problems || len(d.Ladders) != problems {
		t.Errorf("%d rows with a ladder, %d ladders; want one for each of %d problem flows", laddered, len(d.Ladders), problems)
	}
}

// TestBounded checks the caps on embedded flows and ladders, and that the
// page says what it left out.
func TestBounded(t *testing.T) {
	opts := Options{MaxProblemFlows: 40, MaxSample: 7, MaxLadderSegments: 30}
	page, st := buildReport(t, opts, mixPcap)
	doc := parse(t, page)
	d := embedded(t, doc)
	if d.Problems != 40 {
		t.Errorf("%d problem flows embedded, want the cap of 40", d.Problems)
	}
	sample := len(d.Flows) - d.Problems
	if sample > 7 || sample < 7/2 {
		t.Errorf("%d complete flows sampled, want between 3 and 7", sample)
	}
	segs := 0
	for _, l := range d.Ladders {
		var v struct{ Segs [][]any }
		json.Unmarshal(l, &v)
		segs += len(v.Segs)
	}
	if segs > 30 || len(d.Ladders) == 0 {
		t.Errorf("%d segments in %d ladders, want 1..30", segs, len(d.Ladders))
	}
	note := textOf(byID(doc, "flows-note"))
	for _, want := range []string{
		fmt.Sprintf("40 of %d problem flows", st.Flows-st.ByVerdict[vComplete]),
		fmt.Sprintf("%d of %d complete flows", sample, st.ByVerdict[vComplete]),
		"have no ladder",
	} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}

// TestNoTraceLeft checks that every traced attempt's segments are released
// when its flow is emitted.
func TestNoTraceLeft(t *testing.T) {
	var w *Writer
	buildReportWith(t, func(x *Writer) { w = x }, mixPcap)
	if len(w.live) != 0 {
		t.Errorf("%d traces left after all flows were emitted", len(w.live))
	}
}

// TestHostileEscaped checks that text from a hostile capture and file name
// appears as text and nowhere as markup or script.
func TestHostileEscaped(t *testing.T) {
	path := writeHostilePcapng(t)
	page, _ := buildReport(t, Options{}, path)
	doc := parse(t, page)
	scripts := 0
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.DataAtom {
		case atom.Script:
			scripts++
		case atom.Img, atom.B:
			t.Errorf("<%s> from the capture became markup", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q> from the capture", n.Data, a.Key, a.Val)
			}
		}
	})
	if scripts != 2 {
		t.Errorf("%d script elements, want the page's 2", scripts)
	}
	summary := textOf(byID(doc, "summary"))
	for _, want := range []string{hostile, "<b>desc</b>", filepath.Base(path)} {
		if !strings.Contains(summary, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("summary text lacks %q", want)
		}
	}
	d := embedded(t, doc)
	if len(d.Files) != 1 || d.Files[0] != path {
		t.Errorf("embedded file names %q, want %q", d.Files, path)
	}
	if bytes.Contains(page, []byte("</script><script>alert")) {
		t.Error("the page holds the capture's </script> unescaped")
	}
}

func TestAboutEveryCode(t *testing.T) {
	for _, c := range handshake.Codes() {
		if about[c] == "" {
			t.Errorf("%s has no description", c)
		}
	}
}

// TestTimeBinsKeepCounts feeds timestamps in random order over growing
// spans, including the ends of int64, and checks that no flow is lost.
func TestTimeBinsKeepCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, span := range []int64{1, 1e6, 1e9, 3600e9, 365 * 86400e9, math.MaxInt64} {
		var tb timeBins
		base := int64(1_700_000_000e9)
		n := 0
		for i := range 5000 {
			ts := base + rng.Int64N(span/2+1) - span/4
			if span == math.MaxInt64 && i%100 == 0 {
				ts = []int64{math.MinInt64, math.MaxInt64, 0}[i%3]
			}
			tb.add(ts, i%numVerdicts)
			n++
		}
		var total uint64
		for _, b := range tb.display(100) {
			for _, c := range b.counts {
				total += c
			}
		}
		if total != uint64(n) {
			t.Errorf("span %d: bins hold %d of %d flows", span, total, n)
		}
		if bins := tb.display(100); len(bins) > 100 {
			t.Errorf("span %d: %d display bins, want at most 100", span, len(bins))
		}
	}
}

// TestVerdictColoursDifferInLightness checks that the verdict colours can
// be told apart without hue (colour blindness, greyscale print): their CIE
// L* lightness differs by at least 10 between any two.
func TestVerdictColoursDifferInLightness(t *testing.T) {
	lightness := map[string]float64{}
	for _, v := range verdicts {
		key := ".v-" + v.String() + "{fill:#"
		i := strings.Index(styleCSS, key)
		if i < 0 {
			t.Fatalf("style.css has no %s…}", key)
		}
		hex := styleCSS[i+len(key) : i+len(key)+6]
		var rgb [3]float64
		for j := range rgb {
			c, err := strconv.ParseUint(hex[2*j:2*j+2], 16, 8)
			if err != nil {
				t.Fatalf("%s: colour %q", v, hex)
			}
			s := float64(c) / 255
			if s <= 0.04045 {
				rgb[j] = s / 12.92
			} else {
				rgb[j] = math.Pow((s+0.055)/1.055, 2.4)
			}
		}
		y := 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2]
		l := 116*math.Cbrt(y) - 16
		if y <= 216.0/24389 {
			l = y * 24389 / 27
		}
		lightness[v.String()] = l
	}
	for a, la := range lightness {
		for b, lb := range lightness {
			if a < b && math.Abs(la-lb) < 10 {
				t.Errorf("%s (L* %.0f) and %s (L* %.0f) differ by less than 10 in lightness", a, la, b, lb)
			}
		}
	}
}

// TestEmptyCapture checks the page of a capture without packets: every
// section is there and says there is nothing, and the script's data parses.
func TestEmptyCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.pcap")
	if err := os.WriteFile(path, pcapgen.AppendFileHeader(nil, false), 0o644); err != nil {
		t.Fatal(err)
	}
	page, _ := buildReport(t, Options{}, path)
	doc := parse(t, page)
	d := embedded(t, doc)
	if len(d.Flows) != 0 || d.Problems != 0 {
		t.Errorf("%d flows embedded from an empty capture", len(d.Flows))
	}
	for id, want := range map[string]string{
		"first-fail": "none",
		"flow-rows":  "No problem flow.",
		"anomalies":  "No anomaly was raised.",
		"chart-time": "No connection attempts.",
	} {
		n := byID(doc, id)
		if n == nil || !strings.Contains(textOf(n), want) {
			t.Errorf("#%s: want %q in it", id, want)
		}
	}
}
