package report

import (
	"slices"

	"github.com/tracerig/tracerig/internal/record"
)

// ExportReport says how the services' SDK export pipelines kept up with the
// spans they ended: how many spans waited for export at once, at the most.
// A span waits from its end until the exporter returns for it (acknowledged
// or failed): in its service's batch queue, then in an export under way.
type ExportReport struct {
	// WaitingPeak is the most spans waiting at once, summed over every
	// service instance, and WaitingPeakAt when (unix ns; 0 when none
	// waited).
	WaitingPeak   int   `json:"waiting_peak"`
	WaitingPeakAt int64 `json:"waiting_peak_unix_ns"`
	// QueueCapacity is the batch queue's size in each instance: a peak
	// near QueueCapacity times the instances means the queues were full
	// and the SDK dropped spans.
	QueueCapacity int `json:"queue_capacity"`
	// Failures are the spans whose export failed, per service and reason,
	// with the first error of each reason; none when no export failed.
	Failures []ServiceExportFailures `json:"failures,omitempty"`
}

// ServiceExportFailures are the failed exports of one service, by reason.
type ServiceExportFailures struct {
	Service string                `json:"service"`
	Reasons []ExportFailureReason `json:"reasons"`
}

// ExportFailureReason counts the spans a service failed to export for one
// reason.
type ExportFailureReason struct {
	// Reason classifies the failure: a gRPC code ("grpc Unauthenticated"),
	// an HTTP status ("http 401"), a TLS or a connection failure.
	Reason string `json:"reason"`
	// Spans counts the spans of the exports that failed for Reason.
	Spans int `json:"spans"`
	// FirstMessage is the first such export's error, cut short.
	FirstMessage string `json:"first_message"`
}

// exportFailures groups the ledger's failures (in service order) by
// service.
func exportFailures(fs []record.ExportFailure) []ServiceExportFailures {
	var out []ServiceExportFailures
	for _, f := range fs {
		if n := len(out); n == 0 || out[n-1].Service != f.Service {
			out = append(out, ServiceExportFailures{Service: f.Service})
		}
		r := &out[len(out)-1].Reasons
		*r = append(*r, ExportFailureReason{Reason: f.Reason, Spans: f.Spans, FirstMessage: f.FirstMessage})
	}
	return out
}

// waitingStep is a step of the number of spans waiting for export: n from
// at on.
type waitingStep struct {
	at int64
	n  int
}

// exportWaiting returns the number of ended spans waiting for export over
// time, as steps in time order. Spans that never reached the exporter (the
// SDK dropped them) are not counted: they never waited in a queue.
func exportWaiting(ended []record.Ended) []waitingStep {
	var starts, stops []int64
	for _, e := range ended {
		if e.Export == record.ExportPending || e.ExportAt == 0 {
			continue
		}
		starts = append(starts, e.End)
		stops = append(stops, max(e.ExportAt, e.End))
	}
	slices.Sort(starts)
	slices.Sort(stops)
	steps := make([]waitingStep, 0, 2*len(starts))
	n, i, j := 0, 0, 0
	for i < len(starts) || j < len(stops) {
		// At equal times the span leaving goes first: a wait of zero
		// length is no wait.
		var at int64
		if j < len(stops) && (i == len(starts) || stops[j] <= starts[i]) {
			at = stops[j]
			n--
			j++
		} else {
			at = starts[i]
			n++
			i++
		}
		if k := len(steps) - 1; k >= 0 && steps[k].at == at {
			steps[k].n = n
		} else {
			steps = append(steps, waitingStep{at, n})
		}
	}
	return steps
}

// exportReport summarises the waiting spans (exportWaiting's steps): their
// peak and when.
func exportReport(waiting []waitingStep, queueCapacity int) ExportReport {
	r := ExportReport{QueueCapacity: queueCapacity}
	for _, s := range waiting {
		if s.n > r.WaitingPeak {
			r.WaitingPeak, r.WaitingPeakAt = s.n, s.at
		}
	}
	return r
}
