package report

import (
	"fmt"
	"html/template"
	"image/color"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/durfmt"
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
	ev := r.evidence()
	if ev.SamplesNote != "" {
		notes = append(notes, "load results only partly read: "+ev.SamplesNote)
	}
	if len(ev.Samples) == 0 {
		notes = append(notes, "no latency histograms: the load recorded no results")
	}
	figs = append(figs, latencyPlots(ev.Samples)...)
	if ser := r.series(); ser.Spans() == 0 {
		notes = append(notes, "no span plots: the ledger saw no sampled span end")
	} else {
		figs = append(figs, r.timeSeries(ser)...)
		if !ev.Input.ReadBack {
			notes = append(notes, "no backend arrivals: "+ev.Input.NoReadBack)
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

// latencyPlots draws a latency histogram per entry route of samples, in
// the order of the routes' names.
func latencyPlots(samples []LoadSample) []*figure {
	byRoute := map[string][]LoadSample{}
	var routes []string
	for _, s := range samples {
		if _, ok := byRoute[s.Route]; !ok {
			routes = append(routes, s.Route)
		}
		byRoute[s.Route] = append(byRoute[s.Route], s)
	}
	slices.Sort(routes)
	var out []*figure
	for _, route := range routes {
		out = append(out, latencyPlot(route, byRoute[route]))
	}
	return out
}

// latencyPlot draws the latency histogram of one entry route: successful
// requests and failed ones (a non-2xx code or no response) stacked, the
// x axis cut at the 99.5th percentile so that the tail does not flatten the
// body, with the p50 and p99 (LatencyPercentile) marked.
func latencyPlot(route string, ss []LoadSample) *figure {
	sorted := make([]time.Duration, len(ss))
	for i, s := range ss {
		sorted[i] = s.Latency
	}
	lat := summarize(sorted)
	cutAt := LatencyPercentile(sorted, 0.995)
	hi := float64(cutAt) / 1e6
	if hi <= 0 {
		hi = 1
	}
	h := binLatencies(ss, hi)
	p := newPlot()
	p.X.Label.Text = "latency (ms)"
	p.Y.Label.Text = "requests"
	p.Y.Tick.Marker = niceTicks{integer: true}
	p.X.Tick.Marker = niceTicks{}
	p.X.Min, p.X.Max, p.Y.Min = 0, hi, 0
	peak := 0.0
	for _, b := range h.all {
		peak = max(peak, b.Weight)
	}
	p.Y.Max = peak * 1.18 // room for the percentile labels
	all := &plotter.Histogram{Bins: h.all, Width: h.width, FillColor: colErr}
	all.LineStyle.Width = 0
	ok := &plotter.Histogram{Bins: h.ok, Width: h.width, FillColor: colOK}
	ok.LineStyle.Width = 0
	p.Add(all, ok)
	p.Add(&markers{lines: []marker{
		{x: float64(lat.P50) / 1e6, label: "p50 " + durfmt.Human(lat.P50).String()},
		{x: float64(lat.P99) / 1e6, label: "p99 " + durfmt.Human(lat.P99).String()},
	}})
	title := fmt.Sprintf("Latency of %s: %d requests, %d failed", route, len(ss), h.failed)
	if h.cut > 0 {
		title += fmt.Sprintf("; %d slower than %s not shown", h.cut, durfmt.Human(cutAt))
	}
	f := &figure{title: title, p: p, h: plotH}
	f.add("2xx", colOK, "box")
	f.add("failed (non-2xx or no response)", colErr, "box")
	f.add("p50, p99", color.Black, "dashed")
	return f
}

// latencyBins are requests binned by latency: all of them, and those
// answered 2xx, in bins of width ms up to the cut.
type latencyBins struct {
	all, ok     []plotter.HistogramBin
	width       float64
	cut, failed int // requests slower than the cut; failed ones shown
}

// binLatencies bins the requests in 50 bins from 0 to hi ms.
func binLatencies(ss []LoadSample, hi float64) latencyBins {
	const nBins = 50
	h := latencyBins{width: hi / nBins, ok: make([]plotter.HistogramBin, nBins), all: make([]plotter.HistogramBin, nBins)}
	for i := range h.ok {
		h.ok[i] = plotter.HistogramBin{Min: float64(i) * h.width, Max: float64(i+1) * h.width}
		h.all[i] = h.ok[i]
	}
	for _, s := range ss {
		ms := float64(s.Latency) / 1e6
		if ms > hi {
			h.cut++
			continue
		}
		b := min(int(ms/h.width), nBins-1)
		h.all[b].Weight++
		if s.Code >= 200 && s.Code < 300 {
			h.ok[b].Weight++
		} else {
			h.failed++
		}
	}
	return h
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
