package html

import (
	"fmt"
	"math"
	"time"
)

// scene is one SVG chart as the page template draws it: shapes in a
// viewBox of W×H, a title and a description for assistive technology.
// Every string in it is escaped by the template.
type scene struct {
	ID          string
	Title, Desc string
	W, H        int
	Rects       []rect
	Lines       []line
	Texts       []text
}

type rect struct {
	X, Y, W, H float64
	Class      string
	Tip        string // shown on hover, read by screen readers
}

type line struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

type text struct {
	X, Y   float64
	Anchor string // start, middle, end
	Class  string
	S      string
}

// Stacking order of verdict bars: failures at the bottom, so that the moment
// they start shows even under many complete flows.
var stackOrder = []int{vMalformed, vRefused, vHalfOpen, vMidstream, vComplete}

// niceStep returns a round step (1, 2 or 5 × 10^k) of at least x.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// timeSteps are the round tick steps of a time axis, in ns.
var timeSteps = func() []int64 {
	var s []int64
	for d := int64(1); d < int64(time.Second); d *= 10 {
		s = append(s, d, 2*d, 5*d)
	}
	for _, d := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour} {
		s = append(s, int64(d))
	}
	return s
}()

func timeStep(span int64, ticks int) int64 {
	want := span / int64(ticks)
	for _, s := range timeSteps {
		if s >= want {
			return s
		}
	}
	return niceDays(want)
}

func niceDays(ns int64) int64 {
	day := int64(24 * time.Hour)
	return int64(niceStep(float64(ns)/float64(day))) * day
}

// clockLabel formats ts for an axis whose ticks are step apart.
func clockLabel(ts, step int64, multiDay bool) string {
	t := time.Unix(0, ts).UTC()
	layout := "15:04:05"
	switch {
	case step < int64(time.Microsecond):
		layout = "15:04:05.000000000"
	case step < int64(time.Millisecond):
		layout = "15:04:05.000000"
	case step < int64(time.Second):
		layout = "15:04:05.000"
	}
	if multiDay {
		layout = "01-02 " + layout
	}
	return t.Format(layout)
}

// chart margins: left, right, top, bottom.
const mL, mR, mT, mB = 64.0, 16.0, 12.0, 44.0

// timelineScene draws the counts of the verdicts in order over time as
// stacked bars, bottom first, on the same time axis for every order.
func timelineScene(id, title string, order []int, h int, bins []timeBin, firstFail int64, hasFail bool) scene {
	sc := scene{ID: id, W: 960, H: h, Title: title}
	if len(bins) == 0 {
		sc.Desc = "No connection attempts."
		return sc
	}
	start, end := bins[0].start, bins[len(bins)-1].end
	var peak uint64
	for _, b := range bins {
		var n uint64
		for _, v := range order {
			n += b.counts[v]
		}
		peak = max(peak, n)
	}
	const mT = 28.0 // room for the marker's label above the bars
	pw, ph := float64(sc.W)-mL-mR, float64(sc.H)-mT-mB
	x := func(ts int64) float64 { return mL + pw*float64(ts-start)/float64(end-start) }
	yStep := niceStep(float64(peak) / 5)
	yMax := math.Max(yStep*math.Ceil(float64(peak)/yStep), 1)
	y := func(n float64) float64 { return mT + ph - ph*n/yMax }
	binW := pw / float64(len(bins))
	sc.Desc = fmt.Sprintf("Stacked bars, %d bins of %s from %s to %s; at most %d attempts in one bin. The same numbers are in the table below the chart.",
		len(bins), time.Duration(bins[0].end-bins[0].start), rfc3339(start), rfc3339(end), peak)
	// Grid and y axis.
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		sc.Lines = append(sc.Lines, line{mL, y(v), mL + pw, y(v), "grid"})
		sc.Texts = append(sc.Texts, text{mL - 6, y(v) + 4, "end", "tick", fmt.Sprintf("%.0f", v)})
	}
	sc.Texts = append(sc.Texts, text{14, mT + ph/2, "middle", "axis-label rot", "attempts per bin"})
	// Bars.
	for i, b := range bins {
		base := 0.0
		for _, v := range order {
			n := b.counts[v]
			if n == 0 {
				continue
			}
			top := base + float64(n)
			sc.Rects = append(sc.Rects, rect{
				X: mL + float64(i)*binW, Y: y(top), W: math.Max(binW-0.5, 0.5), H: y(base) - y(top),
				Class: "v-" + verdicts[v].String(),
				Tip:   fmt.Sprintf("%s–%s UTC: %d %s", clockLabel(b.start, 1, false), clockLabel(b.end, 1, false), n, verdicts[v]),
			})
			base = top
		}
	}
	// Time axis.
	multiDay := time.Unix(0, start).UTC().YearDay() != time.Unix(0, end).UTC().YearDay() || end-start > int64(24*time.Hour)
	step := timeStep(end-start, 8)
	for t := floorDiv(start+step-1, step) * step; t <= end; t += step {
		sc.Lines = append(sc.Lines, line{x(t), mT + ph, x(t), mT + ph + 5, "axis"})
		sc.Texts = append(sc.Texts, text{x(t), mT + ph + 18, "middle", "tick", clockLabel(t, step, multiDay)})
	}
	sc.Lines = append(sc.Lines, line{mL, mT + ph, mL + pw, mT + ph, "axis"})
	sc.Texts = append(sc.Texts, text{mL + pw/2, float64(sc.H) - 6, "middle", "axis-label",
		"capture time (UTC) from " + time.Unix(0, start).UTC().Format("2006-01-02 15:04:05.000000")})
	if hasFail {
		fx := x(firstFail)
		sc.Lines = append(sc.Lines, line{fx, mT - 10, fx, mT + ph, "marker"})
		anchor, dx := "start", 4.0
		if fx > mL+pw*0.7 {
			anchor, dx = "end", -4
		}
		sc.Texts = append(sc.Texts, text{fx + dx, mT - 12, anchor, "marker-label", "first failed attempt " + clockLabel(firstFail, 1000, multiDay) + " UTC"})
	}
	return sc
}

func rfc3339(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

// percentile is a marked value on a latency chart.
type percentile struct {
	Name string
	NS   float64
}

// latencyScene draws a log-scaled histogram of durations with percentiles.
func latencyScene(id, title string, lb *latBins, marks []percentile, w, h int) scene {
	sc := scene{ID: id, W: w, H: h, Title: title}
	bins := lb.drawBins()
	first, last := -1, -1
	var peak, n uint64
	for i, c := range bins {
		if c > 0 {
			if first < 0 {
				first = i
			}
			last = i
			peak = max(peak, c)
			n += c
		}
	}
	if first < 0 {
		sc.Desc = "Not measured in any attempt."
		sc.Texts = append(sc.Texts, text{float64(w) / 2, float64(h) / 2, "middle", "axis-label", "not measured in any attempt"})
		return sc
	}
	// x spans the used bins with half a decade either side, at least two
	// decades in all, ticks at whole decades.
	lo, hi := math.Log10(drawBound(max(first, 1)))-0.5, math.Log10(drawBound(last+1))+0.5
	if hi-lo < 2 {
		mid := (lo + hi) / 2
		lo, hi = mid-1, mid+1
	}
	d0, d1 := int(math.Ceil(lo-3)), int(math.Floor(hi-3)) // decades above 1 µs
	pw, ph := float64(w)-mL-mR, float64(h)-mT-mB
	x := func(ns float64) float64 {
		return mL + pw*(math.Log10(math.Max(ns, 1))-lo)/(hi-lo)
	}
	yStep := niceStep(float64(peak) / 4)
	yMax := math.Max(yStep*math.Ceil(float64(peak)/yStep), 1)
	y := func(c float64) float64 { return mT + ph - ph*c/yMax }
	for v := 0.0; v <= yMax+yStep/2; v += yStep {
		sc.Lines = append(sc.Lines, line{mL, y(v), mL + pw, y(v), "grid"})
		sc.Texts = append(sc.Texts, text{mL - 6, y(v) + 4, "end", "tick", fmt.Sprintf("%.0f", v)})
	}
	for i := first; i <= last; i++ {
		c := bins[i]
		if c == 0 {
			continue
		}
		l, r := drawBound(i), drawBound(i+1)
		if i == 0 {
			l, r = math.Pow(10, lo), 1000
		}
		x0, x1 := math.Max(x(l), mL), x(r)
		sc.Rects = append(sc.Rects, rect{X: x0, Y: y(float64(c)), W: math.Max(x1-x0-0.5, 0.5), H: y(0) - y(float64(c)),
			Class: "lat", Tip: fmt.Sprintf("%s – %s: %d attempts", durLabel(l), durLabel(r), c)})
	}
	for d := d0; d <= d1; d++ {
		ns := 1000 * math.Pow(10, float64(d))
		sc.Lines = append(sc.Lines, line{x(ns), mT + ph, x(ns), mT + ph + 5, "axis"})
		sc.Texts = append(sc.Texts, text{x(ns), mT + ph + 18, "middle", "tick", durLabel(ns)})
	}
	sc.Lines = append(sc.Lines, line{mL, mT + ph, mL + pw, mT + ph, "axis"})
	sc.Texts = append(sc.Texts, text{mL + pw/2, float64(h) - 6, "middle", "axis-label", "duration (log scale)"})
	desc := fmt.Sprintf("Histogram of %d attempts, %d bins per decade.", n, drawPerDecade)
	row := 0
	for i := 0; i < len(marks); {
		// Percentiles at the same value share one line and label.
		j, name := i+1, marks[i].Name
		for j < len(marks) && durLabel(marks[j].NS) == durLabel(marks[i].NS) {
			name += " = " + marks[j].Name
			j++
		}
		m := marks[i]
		mx := x(m.NS)
		anchor, dx := "start", 3.0
		if mx > mL+pw*0.7 {
			anchor, dx = "end", -3
		}
		sc.Lines = append(sc.Lines, line{mx, mT, mx, mT + ph, "pct pct-" + m.Name})
		sc.Texts = append(sc.Texts, text{mx + dx, mT + 11 + 12*float64(row), anchor, "pct-label", name + " " + durLabel(m.NS)})
		desc += fmt.Sprintf(" %s %s.", name, durLabel(m.NS))
		row++
		i = j
	}
	sc.Desc = desc
	return sc
}

// durLabel formats ns compactly: 120 µs, 1.5 ms, 2 s.
func durLabel(ns float64) string {
	switch {
	case ns < 1e3:
		return trimFloat(ns) + " ns"
	case ns < 1e6:
		return trimFloat(ns/1e3) + " µs"
	case ns < 1e9:
		return trimFloat(ns/1e6) + " ms"
	}
	return trimFloat(ns/1e9) + " s"
}

func trimFloat(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// hostBar is one address of a top-N chart.
type hostBar struct {
	Addr   string
	Counts [numVerdicts]uint64
	Total  uint64 // the attempts of the address, of any verdict
}

// failedOrder is the order of failed verdicts in host bars.
var failedOrder = [3]int{vMalformed, vRefused, vHalfOpen}

// hostScene draws failed attempts per address as stacked horizontal bars.
func hostScene(id, title string, hosts []hostBar) scene {
	const rowH, labelW = 26.0, 190.0
	sc := scene{ID: id, Title: title, W: 620, H: int(mT + rowH*float64(len(hosts)) + 40)}
	if len(hosts) == 0 {
		sc.H = 40
		sc.Desc = "No failed attempts."
		return sc
	}
	var peak uint64
	for _, h := range hosts {
		peak = max(peak, h.Counts[vHalfOpen]+h.Counts[vRefused]+h.Counts[vMalformed])
	}
	pw := float64(sc.W) - labelW - mR - 40
	step := niceStep(float64(peak) / 4)
	xMax := math.Max(step*math.Ceil(float64(peak)/step), 1)
	x := func(n float64) float64 { return labelW + pw*n/xMax }
	bottom := mT + rowH*float64(len(hosts))
	for v := 0.0; v <= xMax+step/2; v += step {
		sc.Lines = append(sc.Lines, line{x(v), mT, x(v), bottom, "grid"})
		sc.Texts = append(sc.Texts, text{x(v), bottom + 16, "middle", "tick", fmt.Sprintf("%.0f", v)})
	}
	desc := "Failed attempts (malformed, refused, half-open) per address:"
	for i, h := range hosts {
		top := mT + rowH*float64(i)
		sc.Texts = append(sc.Texts, text{labelW - 8, top + rowH/2 + 4, "end", "host-label", h.Addr})
		base := 0.0
		var total uint64
		for _, v := range failedOrder {
			n := h.Counts[v]
			if n == 0 {
				continue
			}
			total += n
			sc.Rects = append(sc.Rects, rect{X: x(base), Y: top + 4, W: x(base+float64(n)) - x(base), H: rowH - 8,
				Class: "v-" + verdicts[v].String(), Tip: fmt.Sprintf("%s: %d %s", h.Addr, n, verdicts[v])})
			base += float64(n)
		}
		sc.Texts = append(sc.Texts, text{x(base) + 4, top + rowH/2 + 4, "start", "tick", fmt.Sprintf("%d of %d", total, h.Total)})
		desc += fmt.Sprintf(" %s %d;", h.Addr, total)
	}
	sc.Texts = append(sc.Texts, text{labelW + pw/2, bottom + 34, "middle", "axis-label", "failed attempts"})
	sc.Desc = desc
	return sc
}
