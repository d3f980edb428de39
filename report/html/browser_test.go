package html

import (
	"context"

	"fmt"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The browser tests load a report from a file:// URL in headless Chromium
// with the network off, as a reviewer opening an artifact would, and drive
// it as a user does. They skip, saying why, when no Chromium is installed,
// except in CI (CI=true), where they must run: .ci/run installs Debian's
// chromium-headless-shell.
//
// HSANALYZE_CHROME names the browser binary to use. HSANALYZE_SCREENSHOTS
// names a directory to copy the README's screenshots to: from the
// repository root, HSANALYZE_SCREENSHOTS=$PWD/docs go test ./report/html
// -run TestBrowserMix -count=1 regenerates docs/report-*.png.

// chromeNames are the browser binaries looked for on PATH, best first.
var chromeNames = []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome", "headless_shell"}

func findChrome(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HSANALYZE_CHROME"); p != "" {
		return p
	}
	for _, n := range chromeNames {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but no Chromium found (looked for %s on PATH; set HSANALYZE_CHROME): the browser test must run in CI", strings.Join(chromeNames, ", "))
	}
	t.Skipf("no Chromium found (looked for %s on PATH; apt-get install chromium-headless-shell or set HSANALYZE_CHROME)", strings.Join(chromeNames, ", "))
	return ""
}

// session is one browser tab on a report, with what the page did.
type session struct {
	t   *testing.T
	ctx context.Context
	url string
	dir string // screenshots go here

	mu       sync.Mutex
	requests []string // URLs requested besides the page itself
	dialogs  []string // alert, confirm, prompt messages
	console  []string // console errors and exceptions, browser log errors
}

// open writes page to a temporary file and loads it in a fresh headless
// Chromium whose network is off.
func open(t *testing.T, pageHTML []byte) *session { return openWith(t, pageHTML, true) }

// openWith is open with JavaScript on or off.
func openWith(t *testing.T, pageHTML []byte, js bool) *session {
	t.Helper()
	chrome := findChrome(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, pageHTML, 0o644); err != nil {
		t.Fatal(err)
	}
	profile, err := os.MkdirTemp("", "hsanalyze-chrome-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Chromium's helpers may still write to the profile briefly.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chrome),
		chromedp.UserDataDir(profile),
		chromedp.Headless, chromedp.DisableGPU, chromedp.NoSandbox, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// No way out even if something tried: a dead proxy and no DNS.
		chromedp.ProxyServer("127.0.0.1:9"),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	s := &session{t: t, ctx: ctx, url: "file://" + path, dir: dir}
	if err := chromedp.Listen(ctx, s.listen); err != nil {
		t.Fatalf("start %s: %v", chrome, err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}},
	}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				s.mu.Lock()
				s.console = append(s.console, fmt.Sprintf("%s: %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
				s.mu.Unlock()
			}
		}
	}()
	ready := `html[data-ready="true"]`
	if !js {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		ready = "#flow-rows tr"
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(s.url), chromedp.WaitReady(ready)); err != nil {
		t.Fatalf("load %s: %v", s.url, err)
	}
	return s
}

// listen runs on chromedp's reading goroutine: it only records.
func (s *session) listen(ev any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request.URL != s.url {
			s.requests = append(s.requests, ev.Request.URL)
		}
	case *cdppage.EventJavascriptDialogOpening:
		s.dialogs = append(s.dialogs, string(ev.Type)+": "+ev.Message)
		go chromedp.Call(s.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
	}
}

// clean fails the test for any request, dialog or console error so far.
func (s *session) clean() {
	s.t.Helper()
	time.Sleep(200 * time.Millisecond) // let late events arrive
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) > 0 {
		s.t.Errorf("the page made network requests: %q", s.requests)
	}
	if len(s.dialogs) > 0 {
		s.t.Errorf("the page opened dialogs (a script ran): %q", s.dialogs)
	}
	if len(s.console) > 0 {
		s.t.Errorf("console errors:\n%s", strings.Join(s.console, "\n"))
	}
}

func (s *session) do(steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	if err := chromedp.Do(s.ctx, steps...); err != nil {
		s.t.Fatal(err)
	}
}

func eval[T any](s *session, js string) T {
	s.t.Helper()
	v, err := chromedp.Run(s.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		s.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// screenshot saves a PNG under the test's directory: of the whole page,
// of the element sel, or (upTo) of the page from its top to the end of
// sel. The README's (export) are also copied to HSANALYZE_SCREENSHOTS, if
// set.
func (s *session) screenshot(name, sel string, upTo, export bool) {
	s.t.Helper()
	params := cdppage.CaptureScreenshotParams{Format: cdppage.CaptureScreenshotFormatPng, CaptureBeyondViewport: ptr(true), FromSurface: ptr(true)}
	if sel != "" {
		r := eval[[4]float64](s, fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect();
			return [r.left + scrollX, r.top + scrollY, r.width, r.height]; })()`, sel))
		params.Clip = &cdppage.Viewport{X: r[0], Y: r[1], Width: r[2], Height: r[3], Scale: 1}
		if upTo {
			w := eval[float64](s, `document.documentElement.scrollWidth`)
			params.Clip = &cdppage.Viewport{Width: w, Height: r[1] + r[3] + 8, Scale: 1}
		}
	} else {
		w, h := eval[float64](s, `document.documentElement.scrollWidth`), eval[float64](s, `document.documentElement.scrollHeight`)
		params.Clip = &cdppage.Viewport{Width: w, Height: h, Scale: 1}
	}
	res, err := chromedp.Call(s.ctx, cdppage.CaptureScreenshot, params)
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	png := res.Data
	path := filepath.Join(s.dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot %s", path)
	if d := os.Getenv("HSANALYZE_SCREENSHOTS"); d != "" && export {
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

// TestBrowserMix loads the 200-flow mix's report: the summary shows the
// verdict counts, a click on a malformed flow draws its ladder with the
// anomaly, keyboard users reach the rows, and nothing is fetched.
func TestBrowserMix(t *testing.T) {
	// Named as from the repository root, as the README's command runs.
	pageHTML, st := buildReport(t, Options{Version: "test", Files: []File{{Name: "testdata/pcaps/mix-200.pcap"}}}, mixPcap)
	s := open(t, pageHTML)

	// The counts shown are the analysis's.
	shown := eval[map[string]string](s, `Object.fromEntries([...document.querySelectorAll("[data-verdict]")].map(e => [e.dataset.verdict, e.textContent]))`)
	for _, v := range verdicts {
		if want := fmt.Sprint(st.ByVerdict[verdictIndex(v)]); shown[v.String()] != want {
			t.Errorf("%s: page shows %q, analysis counted %s", v, shown[v.String()], want)
		}
	}
	if got, want := eval[string](s, `document.getElementById("flow-count").textContent`), fmt.Sprintf("of all %d embedded flows", st.Flows); !strings.Contains(got, want) {
		t.Errorf("flow count %q lacks %q", got, want)
	}
	s.screenshot("report.png", "", false, false)
	s.screenshot("report-summary.png", "#over-time", true, true)

	// Filter to malformed flows with the form, as a user would.
	s.do(chromedp.SetValue("#f-verdict", "malformed"))
	eval[bool](s, `document.getElementById("f-verdict").dispatchEvent(new Event("change"))`)
	rows := eval[[]string](s, `[...document.querySelectorAll("#flow-rows tr")].map(r => r.cells[3].textContent)`)
	if len(rows) == 0 || len(rows) > 100 {
		t.Fatalf("%d rows after filtering", len(rows))
	}
	for _, v := range rows {
		if v != "malformed" {
			t.Fatalf("filtered rows hold %q", v)
		}
	}
	anomaly := eval[string](s, `document.querySelector("#flow-rows tr").cells[4].textContent.split(" ")[0]`)
	if anomaly == "" {
		t.Fatal("the first malformed flow lists no anomaly")
	}

	// Click it: the ladder draws the segment that caused the anomaly in red
	// with what was seen and expected.
	s.do(chromedp.Click("#flow-rows tr:first-child"), chromedp.WaitVisible("#ladder svg.ladder"))
	bad := eval[[]string](s, `[...document.querySelectorAll("#ladder svg text.bad")].map(e => e.textContent)`)
	joined := strings.Join(bad, "\n")
	if !strings.Contains(joined, anomaly) || !strings.Contains(joined, "seen") || !strings.Contains(joined, "expected") {
		t.Errorf("ladder's red labels %q: want %s with seen and expected", bad, anomaly)
	}
	if n := eval[int](s, `document.querySelectorAll("#ladder svg line.seg.bad").length`); n == 0 {
		t.Error("no segment of the ladder is marked as the bad one")
	}
	colour := eval[string](s, `getComputedStyle(document.querySelector("#ladder svg line.seg.bad")).stroke`)
	if colour != "rgb(176, 0, 32)" {
		t.Errorf("bad segment drawn in %s, want red rgb(176, 0, 32)", colour)
	}
	states := eval[[]string](s, `[...document.querySelectorAll("#ladder svg text.state")].map(e => e.textContent)`)
	if len(states) == 0 || !strings.Contains(strings.Join(states, " "), "SYN_SENT") {
		t.Errorf("ladder endpoint states %q: want SYN_SENT among them", states)
	}
	labels := eval[string](s, `document.querySelector("#ladder svg").textContent`)
	for _, want := range []string{"SYN", "seq 0 (", "ack "} {
		if !strings.Contains(labels, want) {
			t.Errorf("ladder text lacks %q (relative and raw numbers): %q", want, labels)
		}
	}
	s.screenshot("report-ladder.png", "#ladder", false, true)

	// Keyboard: the second row is focusable and Enter opens its ladder.
	s.do(chromedp.Focus("#flow-rows tr:nth-child(2)"), chromedp.KeyEvent("\r"))
	sel := eval[bool](s, `document.querySelector("#flow-rows tr:nth-child(2)").getAttribute("aria-selected") === "true"`)
	head := eval[string](s, `document.getElementById("ladder-h").textContent`)
	second := eval[string](s, `document.querySelector("#flow-rows tr:nth-child(2)").cells[1].textContent`)
	if !sel || !strings.Contains(head, second) {
		t.Errorf("Enter on row 2 (client %s): selected %v, ladder heading %q", second, sel, head)
	}

	// The top server's link filters the table to its flows.
	server := eval[string](s, `document.querySelector("#top-servers-table a").dataset.filterAddr`)
	s.do(chromedp.Click("#top-servers-table a"))
	servers := eval[[]string](s, `[...document.querySelectorAll("#flow-rows tr")].map(r => r.cells[2].textContent)`)
	if len(servers) == 0 {
		t.Errorf("no flow of %s after following its link", server)
	}
	for _, sv := range servers {
		if !strings.HasPrefix(sv, server+":") {
			t.Fatalf("after following %s's link the table holds %s", server, sv)
		}
	}
	// An anomaly section's link filters to the flows raising it.
	s.do(chromedp.Click(`#anomalies [data-filter-code="` + anomaly + `"]`))
	codes := eval[[]string](s, `[...document.querySelectorAll("#flow-rows tr")].map(r => r.cells[4].textContent)`)
	for _, c := range codes {
		if !strings.Contains(c, anomaly) {
			t.Fatalf("after following the %s link the table holds a flow with %q", anomaly, c)
		}
	}

	// An anomaly example's ladder link opens that flow's ladder.
	s.do(chromedp.Click(`#anomaly-`+anomaly+` a[data-open]`), chromedp.WaitVisible("#ladder svg.ladder"))
	want := strings.Fields(eval[string](s, `document.querySelector("#anomaly-`+anomaly+` a[data-open]").dataset.open`))
	if head := eval[string](s, `document.getElementById("ladder-h").textContent`); !strings.Contains(head, want[0]+" → "+want[1]) {
		t.Errorf("example link for %s %s opened the ladder %q", want[0], want[1], head)
	}
	if n := eval[int](s, `document.querySelectorAll("#ladder svg text.bad").length`); n == 0 {
		t.Error("the example's ladder marks no anomaly")
	}

	// Sorting by server, descending after a second click.
	s.do(chromedp.Click(`#flow-table th[data-key="server"] button`), chromedp.Click(`#flow-table th[data-key="server"] button`))
	if got := eval[string](s, `document.querySelector('#flow-table th[data-key="server"]').getAttribute("aria-sort")`); got != "descending" {
		t.Errorf("server column aria-sort %q after two clicks, want descending", got)
	}
	s.clean()
}

// TestBrowserHostile loads the report of a capture whose pcapng comments,
// interface name and file name hold </script><script>alert(1)</script> and
// more: none of it may run, and it must show as text.
func TestBrowserHostile(t *testing.T) {
	path := writeHostilePcapng(t)
	pageHTML, _ := buildReport(t, Options{}, path)
	s := open(t, pageHTML)
	if n := eval[int](s, `document.scripts.length`); n != 2 {
		t.Errorf("%d script elements, want the page's own 2", n)
	}
	if n := eval[int](s, `document.images.length`); n != 0 {
		t.Errorf("%d img elements: markup from the capture was parsed", n)
	}
	summary := eval[string](s, `document.getElementById("summary").textContent`)
	if !strings.Contains(summary, "</script><script>alert(1)</script>") {
		t.Errorf("the hostile comment does not show as text: %q", summary)
	}
	// Its malformed flow still opens.
	s.do(chromedp.Click("#flow-rows tr:first-child"), chromedp.WaitVisible("#ladder svg.ladder"))
	s.screenshot("hostile.png", "", false, false)
	s.clean()
}

func ptr[T any](v T) *T { return &v }

// TestBrowserWithoutJS loads the mix's report with JavaScript off: the
// summary, the charts, the anomaly evidence and the earliest problem flows
// are there all the same, and it prints to PDF.
func TestBrowserWithoutJS(t *testing.T) {
	pageHTML, st := buildReport(t, Options{}, mixPcap)
	s := openWith(t, pageHTML, false)
	outer, err := chromedp.Run(s.ctx, chromedp.OuterHTML("html"))
	if err != nil {
		t.Fatal(err)
	}
	doc := parse(t, []byte(outer))
	for _, v := range verdicts {
		var cell string
		walk(doc, func(n *html.Node) {
			if a, ok := attr(n, "data-verdict"); ok && a == v.String() {
				cell = textOf(n)
			}
		})
		if want := fmt.Sprint(st.ByVerdict[verdictIndex(v)]); cell != want {
			t.Errorf("%s: shows %q without JavaScript, want %s", v, cell, want)
		}
	}
	charts := 0
	walk(doc, func(n *html.Node) {
		if n.DataAtom == atom.Svg {
			charts++
		}
	})
	rows := 0
	walk(byID(doc, "flow-rows"), func(n *html.Node) {
		if n.DataAtom == atom.Tr {
			rows++
		}
	})
	if charts < 5 || rows != pageSize {
		t.Errorf("without JavaScript: %d charts, %d flow rows; want the charts and %d rows", charts, rows, pageSize)
	}
	if byID(doc, "filters") == nil || !hasAttr(byID(doc, "filters"), "hidden") {
		t.Error("the filter form shows without JavaScript, where it cannot work")
	}
	s.screenshot("nojs.png", "", false, false)
	pdf, err := chromedp.Call(s.ctx, cdppage.PrintToPDF, cdppage.PrintToPDFParams{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(pdf.Data), "%PDF-") || len(pdf.Data) < 20000 {
		t.Errorf("PDF of %d bytes", len(pdf.Data))
	}
	os.WriteFile(filepath.Join(s.dir, "report.pdf"), pdf.Data, 0o644)
	s.clean()
}

func hasAttr(n *html.Node, key string) bool { _, ok := attr(n, key); return ok }
