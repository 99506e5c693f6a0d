package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
)

// SeriesStep is the width of a Series slice. Every bucket width the report
// plots with is a whole number of slices.
const SeriesStep = 100 * time.Millisecond

// Series is a run's record over time, in slices of SeriesStep from the start
// of load: load requests sent, spans ended and arrived at the backend, and
// the ended spans lost, by why. It is fed part by part as a long run's
// requests settle (Add), so the report's plots over time need none of the
// run's records, and it grows with the run's seconds, not its spans.
//
// A Series is not safe for concurrent use.
type Series struct {
	t0       int64 // unix ns of slice 0
	readBack bool
	sent     []uint32 // load requests, by when they were sent
	ended    []uint32 // spans, by end
	arrived  []uint32 // backend spans, by arrival
	// The ended spans not delivered, by end and why: dropped in the SDK
	// queue, export failed, or exported and missing from the backend.
	queue, failed, missing []uint32
	// last is the latest time the series knows: a span's end or arrival.
	last int64
	// spans and backendSpans count what was added.
	spans, backendSpans int
	// waiting are samples of the spans waiting for export, when the run
	// sampled them (SampleWaiting); nil when the report works them out
	// from the run's records.
	waiting []waitingStep
}

// NewSeries returns an empty series whose slice 0 starts at t0 (unix ns);
// readBack says whether the backend's spans are read back (without, no
// span counts as missing).
func NewSeries(t0 int64, readBack bool) *Series {
	return &Series{t0: t0, readBack: readBack, last: t0}
}

// slot returns the slice of a time, growing s's slices to hold it; times
// before slice 0 fall in it.
func (s *Series) slot(ns int64) int {
	i := 0
	if ns > s.t0 {
		i = int((ns - s.t0) / int64(SeriesStep))
	}
	for len(s.ended) <= i {
		for _, c := range []*[]uint32{&s.sent, &s.ended, &s.arrived, &s.queue, &s.failed, &s.missing} {
			*c = append(*c, 0)
		}
	}
	return i
}

// Add counts one part of the run: whole requests with their hops, the spans
// that ended in their traces, and the backend's spans of those traces (see
// assert.Group). A span is missing when the part's backend spans do not
// hold it.
func (s *Series) Add(hops []record.Hop, ended []record.Ended, backend []record.Span) {
	for i := range hops {
		if h := &hops[i]; h.From == "" && h.SentAt != 0 {
			s.sent[s.slot(h.SentAt)]++
		}
	}
	var delivered map[spanKey]bool
	if s.readBack {
		delivered = make(map[spanKey]bool, len(backend))
		for i := range backend {
			sp := &backend[i]
			delivered[spanKey{sp.Trace, sp.ID}] = true
			if sp.Arrived != 0 {
				s.arrived[s.slot(sp.Arrived)]++
				s.last = max(s.last, sp.Arrived)
			}
		}
		s.backendSpans += len(backend)
	}
	for i := range ended {
		e := &ended[i]
		b := s.slot(e.End)
		s.last = max(s.last, e.End)
		s.ended[b]++
		switch {
		case e.Export == record.ExportPending:
			s.queue[b]++
		case e.Export == record.ExportFailed:
			s.failed[b]++
		case delivered != nil && !delivered[spanKey{e.Trace, e.ID}]:
			s.missing[b]++
		}
	}
	s.spans += len(ended)
}

// SampleWaiting records that n spans were waiting for export at at (unix
// ns). A run that releases its records as they settle samples the export
// queues instead, and the report plots the samples.
func (s *Series) SampleWaiting(at int64, n int) {
	s.waiting = append(s.waiting, waitingStep{at: at, n: n})
}

// Spans returns how many ledger spans were added.
func (s *Series) Spans() int { return s.spans }

// BackendSpans returns how many backend spans were added.
func (s *Series) BackendSpans() int { return s.backendSpans }

// Lost returns how many of the spans added were not delivered, by why:
// dropped in the SDK queue (no export outcome), export failed, exported
// and missing from the backend.
func (s *Series) Lost() (queue, failed, missing int) {
	return sum(s.queue), sum(s.failed), sum(s.missing)
}

func sum(c []uint32) int {
	n := 0
	for _, v := range c {
		n += int(v)
	}
	return n
}

// buckets sums the slices of c into the plot buckets of ax. A bucket is a
// whole number of slices, so the middle of a slice says its bucket.
func (s *Series) buckets(c []uint32, ax timeAxes) []float64 {
	out := make([]float64, ax.n)
	for i, v := range c {
		if v != 0 {
			out[ax.bucket(s.t0+int64(i)*int64(SeriesStep)+int64(SeriesStep)/2)] += float64(v)
		}
	}
	return out
}

// counts returns the plots' per-bucket counts.
func (s *Series) counts(ax timeAxes) spanCounts {
	return spanCounts{
		sent: s.buckets(s.sent, ax), ended: s.buckets(s.ended, ax), arrived: s.buckets(s.arrived, ax),
		queue: s.buckets(s.queue, ax), failed: s.buckets(s.failed, ax), missing: s.buckets(s.missing, ax),
	}
}

// seriesOf builds the series of a run whose records are all in in, from
// t0 (unix ns; 0: the first span's end).
func seriesOf(in assert.Input, t0 int64) *Series {
	if t0 == 0 && len(in.Ended) > 0 {
		t0 = slices.MinFunc(in.Ended, func(a, b record.Ended) int { return cmp.Compare(a.End, b.End) }).End
	}
	s := NewSeries(t0, in.ReadBack)
	s.Add(in.Hops, in.Ended, in.Backend)
	return s
}
