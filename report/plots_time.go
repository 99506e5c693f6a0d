package report

// This file holds the plots over the run's time: requests, spans ended and
// arrived, spans waiting for export, export retries and spans lost, on a
// shared frame with the fault windows as bands.

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/tracerig/tracerig/internal/record"
)

// timeSeries draws the plots over the run's time, the spans bucketed by end
// time and the backend's spans by arrival.
func (r *Report) timeSeries(ser *Series) []*figure {
	ev := r.evidence()
	ax := r.timeFrame(ser)
	c := ser.counts(ax)
	figs := []*figure{r.requestRate(c.sent, ax), c.rateFigure(ax, ev.Input.ReadBack), r.exportWaiting(ax)}
	if len(ev.Retries) > 0 {
		figs = append(figs, r.exportRetries(ax))
	}
	figs = append(figs, c.lossFigure(ax, ev.Input.ReadBack, ser.Spans()))
	if f := r.memoryFigure(ax); f != nil {
		figs = append(figs, f)
	}
	return figs
}

// series returns the run's series: the one the run fed as its requests
// settled, or one built from its records.
func (r *Report) series() *Series {
	ev := r.evidence()
	if ev.Series != nil {
		return ev.Series
	}
	return seriesOf(ev.Input, r.StartedAt.UnixNano())
}

// timeFrame frames the run's time: from the start of load (or the first
// span's end) to the last span's end or arrival, the run's duration at
// least, in round buckets.
func (r *Report) timeFrame(ser *Series) timeAxes {
	t0 := ser.t0
	span := max(r.Duration.Seconds(), float64(ser.last-t0)/1e9)
	step := bucketWidth(span)
	n := int(math.Floor(span/step)) + 1
	bucket := func(ns int64) int {
		i := int(math.Floor(float64(ns-t0) / 1e9 / step))
		return min(max(i, 0), n-1)
	}
	return timeAxes{
		xLabel: fmt.Sprintf("seconds since load start (%s buckets)", time.Duration(step*float64(time.Second))),
		step:   step, n: n, bucket: bucket, bands: r.faultBands(),
	}
}

// spanCounts are the per-bucket counts the span plots draw.
type spanCounts struct {
	sent           []float64 // load requests, by when they were sent
	ended, arrived []float64 // spans, by end and by arrival at the backend
	// The ended spans not delivered, by why: dropped in the SDK queue,
	// export failed, or exported and still missing from the backend.
	queue, failed, missing []float64
}

// rateFigure plots spans per second: ended in the services, and arrived at
// the backend when it was read back.
func (c spanCounts) rateFigure(ax timeAxes, readBack bool) *figure {
	step := ax.step
	rate := ax.plot("spans / s", false)
	f := &figure{title: "Spans per second: ended in the services (ledger) and arrived at the backend", p: rate, h: plotH}
	addStep(rate, c.ended, step, 1/step, colEnded, nil)
	f.add("ended (ledger)", colEnded, "line")
	if readBack {
		addStep(rate, c.arrived, step, 1/step, colArrived, []vg.Length{vg.Points(4), vg.Points(2)})
		f.add("arrived (backend)", colArrived, "dashed")
	}
	ax.legendBands(f)
	return f
}

// lossFigure plots the ended spans not delivered, by end time and why, out
// of ended spans in all.
func (c spanCounts) lossFigure(ax timeAxes, readBack bool, ended int) *figure {
	step := ax.step
	lost := 0.0
	for i := range c.queue {
		lost += c.queue[i] + c.failed[i] + c.missing[i]
	}
	loss := ax.plot("spans not delivered", true)
	loss.Y.Max = 1
	title := fmt.Sprintf("Loss over time: ended spans not delivered, by end time (%d of %d lost)", int(lost), ended)
	f := &figure{title: title, p: loss, h: plotH}
	if lost == 0 {
		f.h = plotH * 0.6
	}
	addStep(loss, c.queue, step, 1, colQueue, nil)
	f.add("dropped in SDK queue", colQueue, "line")
	addStep(loss, c.failed, step, 1, colErr, nil)
	f.add("export failed", colErr, "line")
	if readBack {
		addStep(loss, c.missing, step, 1, colExpect, []vg.Length{vg.Points(4), vg.Points(2)})
		f.add("exported, missing at the backend", colExpect, "dashed")
	}
	ax.legendBands(f)
	return f
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
	retries := r.evidence().Retries
	for _, x := range retries {
		retried[ax.bucket(x.At)]++
		spans += x.Spans
	}
	p := ax.plot("retries / s", false)
	p.Y.Max = 1.15 * slices.Max(retried) / ax.step
	title := fmt.Sprintf("Export retries per second: exports sent again after a transient failure (%d retries of %d spans in all)", len(retries), spans)
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
	for _, s := range r.waiting {
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
