package report

import (
	"fmt"
	"time"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// MemSample is tracerig's resident memory (RSS) at one moment of a run,
// with the spans ended by then.
type MemSample struct {
	At    time.Duration `json:"t_ns"` // since load began
	RSS   int64         `json:"rss_bytes"`
	Spans int64         `json:"spans_ended"`
}

// MemoryReport is tracerig's resident memory over the run, sampled every
// second from the start of load until the report: what a long run's
// memory does.
type MemoryReport struct {
	PeakRSS int64 `json:"peak_rss_bytes"`
	// GrowthPerSpan is how much the resident set grew per span ended from
	// the sample a third of the way through the run to the last one: near
	// zero when the run's memory is bounded, the bytes each span costs
	// when it is not. Zero when fewer than minGrowthSpans ended in
	// between: the resident set's noise would swamp it.
	GrowthPerSpan float64     `json:"growth_bytes_per_span"`
	Samples       []MemSample `json:"samples"`
}

// memoryReport summarises the samples; nil without any.
func memoryReport(samples []MemSample) *MemoryReport {
	if len(samples) == 0 {
		return nil
	}
	m := &MemoryReport{Samples: samples}
	for _, s := range samples {
		m.PeakRSS = max(m.PeakRSS, s.RSS)
	}
	m.GrowthPerSpan = growthPerSpan(samples)
	return m
}

// minGrowthSpans is the fewest spans ended between the two samples that
// GrowthPerSpan compares for it to be given: the resident set moves by tens
// of MiB with the garbage collector's pace, a few bytes per span over a
// million spans.
const minGrowthSpans = 1_000_000

// growthPerSpan is the resident set's growth per span ended from the
// sample a third of the way through samples to the last.
func growthPerSpan(samples []MemSample) float64 {
	from, to := samples[len(samples)/3], samples[len(samples)-1]
	if to.Spans-from.Spans < minGrowthSpans {
		return 0
	}
	return float64(to.RSS-from.RSS) / float64(to.Spans-from.Spans)
}

// memoryFigure plots the resident memory over the run's time; nil with
// fewer than two samples.
func (r *Report) memoryFigure(ax timeAxes) *figure {
	if r.Memory == nil || len(r.Memory.Samples) < 2 {
		return nil
	}
	const mib = 1 << 20
	xys := make(plotter.XYs, len(r.Memory.Samples))
	for i, s := range r.Memory.Samples {
		xys[i] = plotter.XY{X: s.At.Seconds(), Y: float64(s.RSS) / mib}
	}
	p := ax.plot("MiB", false)
	p.X.Max = max(p.X.Max, xys[len(xys)-1].X)
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil
	}
	l.Color, l.Width = colQueue, vg.Points(1.6)
	p.Add(l)
	f := &figure{title: fmt.Sprintf("Memory: tracerig's resident set size, every second (peak %.0f MiB)", float64(r.Memory.PeakRSS)/mib), p: p, h: plotH * 0.6}
	f.add("resident memory", colQueue, "line")
	ax.legendBands(f)
	return f
}

// SetMemory records tracerig's resident memory sampled over the run: in
// the evidence and in the report.
func (r *Report) SetMemory(samples []MemSample) {
	r.evidence().Memory = samples
	r.Memory = memoryReport(samples)
}
