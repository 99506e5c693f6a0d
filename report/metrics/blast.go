package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracerig/tracerig/simulator/synthetic"
)

// Blast is the telemetry of a synthetic run (tracerig blast and bench): its
// Add is the run's synthetic.RunOptions.OnSample, and its collector
// exposes the samples' sums so far and the last sample's gauges. The
// generator cuts its last sample as the run ends, so at the end the sums
// are the run's Stats. A Blast is safe for concurrent use.
type Blast struct {
	mu       sync.Mutex
	sum      synthetic.Sample // Built, Delivered, Failed, Rejected, Requests, Retries summed
	last     synthetic.Sample
	queueCap int

	sent, delivered, failed, rejected, requests, retries *prometheus.Desc
	queued, capacity, full, busy, latency                *prometheus.Desc
}

// NewBlast returns the telemetry of a synthetic run whose export queue
// holds queueCap batches (synthetic.RunOptions.Queue as run).
func NewBlast(queueCap int) *Blast {
	return &Blast{
		queueCap:  queueCap,
		sent:      desc("blast_spans_sent_total", "Spans built and handed to the exporter."),
		delivered: desc("blast_spans_delivered_total", "Spans the sink accepted."),
		failed:    desc("blast_spans_failed_total", "Spans of export requests that failed, retries included."),
		rejected:  desc("blast_spans_rejected_total", "Spans the sink refused through partial success."),
		requests:  desc("blast_export_requests_total", "Export requests made, each batch once."),
		retries:   desc("blast_export_retries_total", "Export requests sent again after a transient failure."),
		queued:    desc("blast_export_queue_batches", "Built batches waiting for a worker, the mean over the last sample interval."),
		capacity:  desc("blast_export_queue_capacity_batches", "Batches the export queue holds."),
		full:      desc("blast_export_queue_full_ratio", "Share of the last sample interval in which a builder waited for room in the queue."),
		busy:      desc("blast_workers_busy", "Workers exporting or waiting to retry, the mean over the last sample interval."),
		latency:   desc("blast_export_latency_seconds", "Mean duration of the export attempts that ended in the last sample interval."),
	}
}

// Add counts one sample of the run.
func (b *Blast) Add(s synthetic.Sample) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sum.Built += s.Built
	b.sum.Delivered += s.Delivered
	b.sum.Failed += s.Failed
	b.sum.Rejected += s.Rejected
	b.sum.Requests += s.Requests
	b.sum.Retries += s.Retries
	b.last = s
}

// Describe sends every metric's description.
func (b *Blast) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{b.sent, b.delivered, b.failed, b.rejected, b.requests, b.retries,
		b.queued, b.capacity, b.full, b.busy, b.latency} {
		ch <- d
	}
}

// Collect sends the sums so far and the last sample's gauges.
func (b *Blast) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	sum, last := b.sum, b.last
	b.mu.Unlock()
	ch <- counter(b.sent, float64(sum.Built))
	ch <- counter(b.delivered, float64(sum.Delivered))
	ch <- counter(b.failed, float64(sum.Failed))
	ch <- counter(b.rejected, float64(sum.Rejected))
	ch <- counter(b.requests, float64(sum.Requests))
	ch <- counter(b.retries, float64(sum.Retries))
	ch <- gauge(b.queued, last.Queued)
	ch <- gauge(b.capacity, float64(b.queueCap))
	ch <- gauge(b.full, last.QueueFull)
	ch <- gauge(b.busy, last.Busy)
	ch <- gauge(b.latency, last.ExportLatency.Seconds())
}
