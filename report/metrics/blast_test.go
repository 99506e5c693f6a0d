package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracerig/tracerig/simulator/synthetic"
)

func TestBlastSumsSamples(t *testing.T) {
	tests := []struct {
		name    string
		samples []synthetic.Sample
		want    string
	}{
		{name: "none", want: `
# HELP tracerig_blast_spans_delivered_total Spans the sink accepted.
# TYPE tracerig_blast_spans_delivered_total counter
tracerig_blast_spans_delivered_total 0
# HELP tracerig_blast_export_queue_capacity_batches Batches the export queue holds.
# TYPE tracerig_blast_export_queue_capacity_batches gauge
tracerig_blast_export_queue_capacity_batches 8
`},
		{name: "two samples", samples: []synthetic.Sample{
			{Built: 100, Delivered: 90, Failed: 10, Requests: 3, Retries: 1, Queued: 2, ExportLatency: time.Second},
			{Built: 50, Delivered: 50, Requests: 1, Queued: 1, QueueFull: 0.5, Busy: 3, ExportLatency: 250 * time.Millisecond},
		}, want: `
# HELP tracerig_blast_spans_delivered_total Spans the sink accepted.
# TYPE tracerig_blast_spans_delivered_total counter
tracerig_blast_spans_delivered_total 140
# HELP tracerig_blast_export_queue_capacity_batches Batches the export queue holds.
# TYPE tracerig_blast_export_queue_capacity_batches gauge
tracerig_blast_export_queue_capacity_batches 8
# HELP tracerig_blast_spans_sent_total Spans built and handed to the exporter.
# TYPE tracerig_blast_spans_sent_total counter
tracerig_blast_spans_sent_total 150
# HELP tracerig_blast_spans_failed_total Spans of export requests that failed, retries included.
# TYPE tracerig_blast_spans_failed_total counter
tracerig_blast_spans_failed_total 10
# HELP tracerig_blast_export_retries_total Export requests sent again after a transient failure.
# TYPE tracerig_blast_export_retries_total counter
tracerig_blast_export_retries_total 1
# HELP tracerig_blast_export_latency_seconds Mean duration of the export attempts that ended in the last sample interval.
# TYPE tracerig_blast_export_latency_seconds gauge
tracerig_blast_export_latency_seconds 0.25
# HELP tracerig_blast_export_queue_full_ratio Share of the last sample interval in which a builder waited for room in the queue.
# TYPE tracerig_blast_export_queue_full_ratio gauge
tracerig_blast_export_queue_full_ratio 0.5
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBlast(8)
			for _, s := range tt.samples {
				b.Add(s)
			}
			names := []string{"tracerig_blast_spans_delivered_total", "tracerig_blast_export_queue_capacity_batches"}
			if len(tt.samples) > 0 {
				names = append(names, "tracerig_blast_spans_sent_total", "tracerig_blast_spans_failed_total",
					"tracerig_blast_export_retries_total", "tracerig_blast_export_latency_seconds", "tracerig_blast_export_queue_full_ratio")
			}
			if err := testutil.CollectAndCompare(b, strings.NewReader(tt.want), names...); err != nil {
				t.Error(err)
			}
			problems, err := testutil.CollectAndLint(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Errorf("lint %s: %s", p.Metric, p.Text)
			}
		})
	}
}
