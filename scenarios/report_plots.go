package scenarios

import (
	"cmp"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
)

// Plot sizes and colours.
var (
	plotW, plotH = vg.Points(720), vg.Points(250)

	colOK      = color.NRGBA{0x3b, 0x6e, 0xb4, 0xff}
	colErr     = color.NRGBA{0xc6, 0x28, 0x28, 0xff}
	colEnded   = color.NRGBA{0x3b, 0x6e, 0xb4, 0xff}
	colArrived = color.NRGBA{0x2e, 0x85, 0x40, 0xff}
	colQueue   = color.NRGBA{0xb2, 0x6a, 0x00, 0xff}
	colExpect  = color.NRGBA{0x6a, 0x1b, 0x9a, 0xff}
	bandFills  = []color.NRGBA{
		{0xff, 0x98, 0x00, 0x38}, {0x9c, 0x27, 0xb0, 0x30}, {0x00, 0x96, 0x88, 0x30}, {0xe9, 0x1e, 0x63, 0x30},
	}
)

// figure is one plot of the HTML report with its legend, which the page
// draws in HTML above the plot so that it never hides data.
type figure struct {
	title  string
	p      *plot.Plot
	h      vg.Length
	legend []legendItem
}

// legendItem is one legend entry: a CSS colour, a label and a swatch shape.
type legendItem struct {
	Colour template.CSS // made by cssColour, so safe in a style attribute
	Label  string
	Shape  string // "line", "dashed", "box", "dot"
}

func (f *figure) add(label string, c color.Color, shape string) {
	f.legend = append(f.legend, legendItem{Colour: template.CSS(cssColour(c)), Label: label, Shape: shape})
}

func cssColour(c color.Color) string {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	if n.A != 0xff {
		return fmt.Sprintf("rgba(%d,%d,%d,%.2f)", n.R, n.G, n.B, float64(n.A)/255)
	}
	return fmt.Sprintf("#%02x%02x%02x", n.R, n.G, n.B)
}

// plots renders the report's plots, and says why any is left out.
func (r *Report) plots() ([]htmlPlot, []string, error) {
	var (
		figs  []*figure
		notes []string
	)
	if r.samplesNote != "" {
		notes = append(notes, "load results only partly read: "+r.samplesNote)
	}
	if len(r.samples) == 0 {
		notes = append(notes, "no latency histograms: the load recorded no results")
	}
	figs = append(figs, r.latencyPlots()...)
	if len(r.input.Ended) == 0 {
		notes = append(notes, "no span plots: the ledger saw no sampled span end")
	} else {
		figs = append(figs, r.timeSeries()...)
		if !r.input.ReadBack {
			notes = append(notes, "no backend arrivals: "+r.input.NoReadBack)
		}
	}
	if f := samplingPlot(r.Verdicts); f != nil {
		figs = append(figs, f)
	}
	out := make([]htmlPlot, 0, len(figs))
	for _, f := range figs {
		svg, err := plotSVG(f.p, plotW, f.h)
		if err != nil {
			return nil, nil, fmt.Errorf("render plot %q: %w", f.title, err)
		}
		out = append(out, htmlPlot{Title: f.title, Legend: f.legend, SVG: svg})
	}
	return out, notes, nil
}

// latencyPlots draws a latency histogram per entry route: successful
// requests and failed ones (a non-2xx code or no response) stacked, the
// x axis cut at the 99.5th percentile so that the tail does not flatten the
// body, with the p50 and p99 (latencyPercentile) marked.
func (r *Report) latencyPlots() []*figure {
	byRoute := map[string][]loadSample{}
	var routes []string
	for _, s := range r.samples {
		if _, ok := byRoute[s.route]; !ok {
			routes = append(routes, s.route)
		}
		byRoute[s.route] = append(byRoute[s.route], s)
	}
	slices.Sort(routes)
	var out []*figure
	for _, route := range routes {
		ss := byRoute[route]
		ms := make([]float64, len(ss))
		sorted := make([]time.Duration, len(ss))
		for i, s := range ss {
			ms[i] = float64(s.latency) / 1e6
			sorted[i] = s.latency
		}
		lat := summarize(sorted)
		p50, p99 := float64(lat.P50)/1e6, float64(lat.P99)/1e6
		cutAt := latencyPercentile(sorted, 0.995)
		hi := float64(cutAt) / 1e6
		if hi <= 0 {
			hi = 1
		}
		const nBins = 50
		width := hi / nBins
		okBins := make([]plotter.HistogramBin, nBins)
		allBins := make([]plotter.HistogramBin, nBins)
		for i := range okBins {
			okBins[i] = plotter.HistogramBin{Min: float64(i) * width, Max: float64(i+1) * width}
			allBins[i] = okBins[i]
		}
		cut, failed := 0, 0
		for i, s := range ss {
			if ms[i] > hi {
				cut++
				continue
			}
			b := min(int(ms[i]/width), nBins-1)
			allBins[b].Weight++
			if s.code >= 200 && s.code < 300 {
				okBins[b].Weight++
			} else {
				failed++
			}
		}
		p := newPlot()
		p.X.Label.Text = "latency (ms)"
		p.Y.Label.Text = "requests"
		p.Y.Tick.Marker = niceTicks{integer: true}
		p.X.Tick.Marker = niceTicks{}
		p.X.Min, p.X.Max, p.Y.Min = 0, hi, 0
		peak := 0.0
		for _, b := range allBins {
			peak = max(peak, b.Weight)
		}
		p.Y.Max = peak * 1.18 // room for the percentile labels
		all := &plotter.Histogram{Bins: allBins, Width: width, FillColor: colErr}
		all.LineStyle.Width = 0
		ok := &plotter.Histogram{Bins: okBins, Width: width, FillColor: colOK}
		ok.LineStyle.Width = 0
		p.Add(all, ok)
		p.Add(&markers{lines: []marker{
			{x: p50, label: "p50 " + round(lat.P50).String()},
			{x: p99, label: "p99 " + round(lat.P99).String()},
		}})
		title := fmt.Sprintf("Latency of %s: %d requests, %d failed", route, len(ss), failed)
		if cut > 0 {
			title += fmt.Sprintf("; %d slower than %s not shown", cut, round(cutAt))
		}
		f := &figure{title: title, p: p, h: plotH}
		f.add("2xx", colOK, "box")
		f.add("failed (non-2xx or no response)", colErr, "box")
		f.add("p50, p99", color.Black, "dashed")
		out = append(out, f)
	}
	return out
}

// timeSeries buckets the ended spans by end time and the backend's spans by
// arrival: spans per second both ways, and the ended spans that were not
// delivered (by why: dropped in the SDK queue, export failed, or exported
// and still missing from the backend), with the fault windows as bands.
func (r *Report) timeSeries() []*figure {
	in := r.input
	t0 := r.StartedAt.UnixNano()
	if t0 == 0 {
		t0 = slices.MinFunc(in.Ended, func(a, b record.Ended) int { return cmp.Compare(a.End, b.End) }).End
	}
	span := r.Duration.Seconds()
	for _, e := range in.Ended {
		span = max(span, float64(e.End-t0)/1e9)
	}
	for _, s := range in.Backend {
		if s.Arrived != 0 {
			span = max(span, float64(s.Arrived-t0)/1e9)
		}
	}
	step := bucketWidth(span)
	n := int(math.Floor(span/step)) + 1
	bucket := func(ns int64) int {
		i := int(math.Floor(float64(ns-t0) / 1e9 / step))
		return min(max(i, 0), n-1)
	}
	sent := make([]float64, n) // load requests, by when they were sent
	for _, h := range in.Hops {
		if h.From == "" && h.SentAt != 0 {
			sent[bucket(h.SentAt)]++
		}
	}
	ended, arrived := make([]float64, n), make([]float64, n)
	queue, failed, missing := make([]float64, n), make([]float64, n), make([]float64, n)
	var delivered map[spanKey]bool
	if in.ReadBack {
		delivered = make(map[spanKey]bool, len(in.Backend))
		for _, s := range in.Backend {
			delivered[spanKey{s.Trace, s.ID}] = true
			if s.Arrived != 0 {
				arrived[bucket(s.Arrived)]++
			}
		}
	}
	for _, e := range in.Ended {
		b := bucket(e.End)
		ended[b]++
		switch {
		case e.Export == record.ExportPending:
			queue[b]++
		case e.Export == record.ExportFailed:
			failed[b]++
		case delivered != nil && !delivered[spanKey{e.Trace, e.ID}]:
			missing[b]++
		}
	}
	ax := timeAxes{
		xLabel: fmt.Sprintf("seconds since load start (%s buckets)", time.Duration(step*float64(time.Second))),
		step:   step, n: n, bucket: bucket, bands: r.faultBands(),
	}
	rate := ax.plot("spans / s", false)
	rf := &figure{title: "Spans per second: ended in the services (ledger) and arrived at the backend", p: rate, h: plotH}
	addStep(rate, ended, step, 1/step, colEnded, nil)
	rf.add("ended (ledger)", colEnded, "line")
	if in.ReadBack {
		addStep(rate, arrived, step, 1/step, colArrived, []vg.Length{vg.Points(4), vg.Points(2)})
		rf.add("arrived (backend)", colArrived, "dashed")
	}
	ax.legendBands(rf)

	lost := 0.0
	for i := range queue {
		lost += queue[i] + failed[i] + missing[i]
	}
	loss := ax.plot("spans not delivered", true)
	loss.Y.Max = 1
	title := fmt.Sprintf("Loss over time: ended spans not delivered, by end time (%d of %d lost)", int(lost), len(in.Ended))
	lf := &figure{title: title, p: loss, h: plotH}
	if lost == 0 {
		lf.h = plotH * 0.6
	}
	addStep(loss, queue, step, 1, colQueue, nil)
	lf.add("dropped in SDK queue", colQueue, "line")
	addStep(loss, failed, step, 1, colErr, nil)
	lf.add("export failed", colErr, "line")
	if in.ReadBack {
		addStep(loss, missing, step, 1, colExpect, []vg.Length{vg.Points(4), vg.Points(2)})
		lf.add("exported, missing at the backend", colExpect, "dashed")
	}
	ax.legendBands(lf)
	figs := []*figure{r.requestRate(sent, ax), rf, r.exportWaiting(ax)}
	if len(r.retries) > 0 {
		figs = append(figs, r.exportRetries(ax))
	}
	return append(figs, lf)
}

// timeAxes is the frame the plots over the run's time share: n buckets of
// step seconds from the start of load, the bucket of a time (unix ns),
// and the fault windows drawn as bands.
type timeAxes struct {
	xLabel string
	step   float64
	n      int
	bucket func(ns int64) int
	bands  []band
}

// plot returns a plot over the run's time with the fault bands, yLabel on
// its y axis from 0 (ticks on whole numbers when integer).
func (ax timeAxes) plot(yLabel string, integer bool) *plot.Plot {
	p := newPlot()
	p.X.Label.Text, p.Y.Label.Text = ax.xLabel, yLabel
	p.X.Min, p.X.Max, p.Y.Min = 0, float64(ax.n)*ax.step, 0
	p.X.Tick.Marker, p.Y.Tick.Marker = niceTicks{}, niceTicks{integer: integer}
	p.Add(&faultBands{bands: ax.bands})
	return p
}

// legendBands names the fault bands in f's legend, when there are any.
func (ax timeAxes) legendBands(f *figure) {
	if len(ax.bands) > 0 {
		f.add("fault window", bandFills[0], "box")
	}
}

// exportRetries plots the exports sent again after a transient failure,
// per second.
func (r *Report) exportRetries(ax timeAxes) *figure {
	retried := make([]float64, ax.n)
	spans := 0
	for _, x := range r.retries {
		retried[ax.bucket(x.At)]++
		spans += x.Spans
	}
	p := ax.plot("retries / s", false)
	p.Y.Max = 1.15 * slices.Max(retried) / ax.step
	title := fmt.Sprintf("Export retries per second: exports sent again after a transient failure (%d retries of %d spans in all)", len(r.retries), spans)
	f := &figure{title: title, p: p, h: plotH * 0.6}
	addStep(p, retried, ax.step, 1/ax.step, colErr, nil)
	f.add("retries", colErr, "line")
	ax.legendBands(f)
	return f
}

// exportWaiting plots the spans waiting for export (ended, not yet
// exported or failed, summed over the instances), the most at once in each
// bucket, against the capacity of the instances' SDK queues when the peak
// comes near it.
func (r *Report) exportWaiting(ax timeAxes) *figure {
	most := make([]float64, ax.n)
	for _, s := range exportWaiting(r.input.Ended) {
		b := ax.bucket(s.at)
		most[b] = max(most[b], float64(s.n))
	}
	p := ax.plot("spans waiting", true)
	title := fmt.Sprintf("Export queues: spans ended and not yet exported, the most at once per bucket (peak %d; each instance queues up to %d)",
		r.Export.WaitingPeak, r.Export.QueueCapacity)
	f := &figure{title: title, p: p, h: plotH * 0.8}
	addStep(p, most, ax.step, 1, colQueue, nil)
	f.add("waiting for export", colQueue, "line")
	ax.legendBands(f)
	return f
}

// requestRate plots the load's requests per second as sent against the
// rate the loads asked for (summed; a ramp as a line), when any load asked
// for one.
func (r *Report) requestRate(sent []float64, ax timeAxes) *figure {
	step := ax.step
	p := ax.plot("requests / s", false)
	f := &figure{title: "Requests per second: asked for by the loads and sent", p: p, h: plotH * 0.8}
	addStep(p, sent, step, 1/step, colOK, nil)
	f.add("sent", colOK, "line")
	// The asked rate at the middle of each bucket, summed over the loads.
	asked := make([]float64, ax.n)
	paced := false
	for _, l := range r.Load {
		if l.RequestedRate <= 0 && l.RequestedRateEnd <= 0 {
			continue
		}
		paced = true
		for i := range asked {
			t := (float64(i) + 0.5) * step
			d := l.Duration.Seconds()
			if d > 0 && t > d {
				continue
			}
			rate := l.RequestedRate
			if d > 0 {
				rate += (l.RequestedRateEnd - l.RequestedRate) * t / d
			}
			asked[i] += rate * step
		}
	}
	if paced {
		addStep(p, asked, step, 1/step, colExpect, []vg.Length{vg.Points(4), vg.Points(2)})
		f.add("asked for", colExpect, "dashed")
	}
	ax.legendBands(f)
	return f
}

// spanKey names one span across traces.
type spanKey struct {
	trace record.TraceID
	id    record.SpanID
}

// addStep adds a step line of per-bucket values (times scale).
func addStep(p *plot.Plot, vals []float64, step, scale float64, c color.Color, dashes []vg.Length) {
	xys := make(plotter.XYs, len(vals)+1)
	for i, v := range vals {
		xys[i] = plotter.XY{X: float64(i) * step, Y: v * scale}
	}
	xys[len(vals)] = plotter.XY{X: float64(len(vals)) * step, Y: vals[len(vals)-1] * scale}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return
	}
	l.StepStyle = plotter.PostStep
	l.Color = c
	l.Width = vg.Points(1.6)
	l.Dashes = dashes
	p.Add(l)
}

// bucketWidth picks a round bucket width giving at most 40 buckets: the
// exporters send in batches, so finer buckets show the batching, not the
// flow.
func bucketWidth(span float64) float64 {
	for _, w := range []float64{0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600} {
		if span/w <= 40 {
			return w
		}
	}
	return math.Ceil(span / 40)
}

// samplingPlot draws, for every verdict whose stats hold a confidence
// interval (lower, upper) and an observed ratio, the interval as a bar, the
// observed ratio as a dot and the expected ratio as a tick. It returns nil
// when no verdict has one.
func samplingPlot(verdicts []assert.Verdict) *figure {
	type row struct {
		name                     string
		lower, upper, obs, exp   float64
		hasObs, hasExp, failedIt bool
	}
	var rows []row
	for _, v := range verdicts {
		lo, okL := v.Stats["lower"]
		hi, okU := v.Stats["upper"]
		if !okL || !okU {
			continue
		}
		rw := row{name: strings.TrimSpace(v.Check + " " + v.Subject), lower: lo, upper: hi, failedIt: v.Status == assert.StatusFail}
		rw.obs, rw.hasObs = firstStat(v.Stats, "ratio", "observed", "observed_ratio")
		rw.exp, rw.hasExp = firstStat(v.Stats, "expected", "expected_ratio", "configured_ratio", "target_ratio")
		rows = append(rows, rw)
	}
	if len(rows) == 0 {
		return nil
	}
	p := newPlot()
	p.X.Label.Text = "ratio"
	names := make([]string, len(rows))
	lo, hi := 1.0, 0.0
	for i, rw := range rows {
		names[i] = rw.name
		y := float64(i)
		c := colOK
		if rw.failedIt {
			c = colErr
		}
		bar, _ := plotter.NewLine(plotter.XYs{{X: rw.lower, Y: y}, {X: rw.upper, Y: y}})
		bar.Color, bar.Width = c, vg.Points(6)
		p.Add(bar)
		lo, hi = min(lo, rw.lower), max(hi, rw.upper)
		if rw.hasObs {
			dot, _ := plotter.NewScatter(plotter.XYs{{X: rw.obs, Y: y}})
			dot.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
			p.Add(dot)
			lo, hi = min(lo, rw.obs), max(hi, rw.obs)
		}
		if rw.hasExp {
			tick, _ := plotter.NewLine(plotter.XYs{{X: rw.exp, Y: y - 0.35}, {X: rw.exp, Y: y + 0.35}})
			tick.Color, tick.Width = colExpect, vg.Points(2.5)
			tick.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
			p.Add(tick)
			lo, hi = min(lo, rw.exp), max(hi, rw.exp)
		}
	}
	pad := max((hi-lo)*0.25, 0.01)
	p.X.Min, p.X.Max = max(0, lo-pad), min(1, hi+pad)
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.6, float64(len(rows))-0.4
	p.X.Tick.Marker = niceTicks{}
	f := &figure{title: "Sampling: observed ratio with its confidence interval, and the expected ratio", p: p, h: vg.Points(60 + 40*float64(len(rows)))}
	f.add("confidence interval (passing check)", colOK, "box")
	f.add("confidence interval (failing check)", colErr, "box")
	f.add("observed ratio", color.Black, "dot")
	f.add("expected ratio", colExpect, "dashed")
	return f
}

func firstStat(stats map[string]float64, keys ...string) (float64, bool) {
	for _, k := range keys {
		if v, ok := stats[k]; ok {
			return v, true
		}
	}
	return 0, false
}
