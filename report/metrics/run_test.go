package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracerig/tracerig/internal/record"
)

func TestRunCollector(t *testing.T) {
	tests := []struct {
		name  string
		run   Run
		names []string
		want  string
	}{
		{
			name:  "counts",
			run:   Run{RequestsAsked: 100, Requests: 98, Hops: 300, SpansEnded: 400, SpansExported: 390, ExportRetries: 2, QueueSpans: 10, QueueCapacity: 8192},
			names: []string{"tracerig_load_requests_asked_total", "tracerig_load_requests_total", "tracerig_hops_total", "tracerig_spans_ended_total", "tracerig_spans_exported_total", "tracerig_export_retries_total", "tracerig_export_queue_spans", "tracerig_export_queue_capacity_spans", "tracerig_spans_verified_total"},
			want: `
# HELP tracerig_export_queue_capacity_spans Room of the SDK batch queues, over every instance.
# TYPE tracerig_export_queue_capacity_spans gauge
tracerig_export_queue_capacity_spans 8192
# HELP tracerig_export_queue_spans Spans ended and not yet exported nor failed: in an SDK queue or an export under way, over every instance.
# TYPE tracerig_export_queue_spans gauge
tracerig_export_queue_spans 10
# HELP tracerig_export_retries_total Exports sent again after a transient failure.
# TYPE tracerig_export_retries_total counter
tracerig_export_retries_total 2
# HELP tracerig_hops_total Hops (calls and messages) the simulated services sent or received.
# TYPE tracerig_hops_total counter
tracerig_hops_total 300
# HELP tracerig_load_requests_asked_total Requests the loads' rates have called for since load began (absent for a load that goes flat out).
# TYPE tracerig_load_requests_asked_total counter
tracerig_load_requests_asked_total 100
# HELP tracerig_load_requests_total Requests the loads sent.
# TYPE tracerig_load_requests_total counter
tracerig_load_requests_total 98
# HELP tracerig_spans_ended_total Spans that ended in the simulated services.
# TYPE tracerig_spans_ended_total counter
tracerig_spans_ended_total 400
# HELP tracerig_spans_exported_total Spans whose export the backend acknowledged.
# TYPE tracerig_spans_exported_total counter
tracerig_spans_exported_total 390
`,
		},
		{
			name:  "flat out asks for no rate",
			run:   Run{RequestsAsked: -1},
			names: []string{"tracerig_load_requests_asked_total"},
		},
		{
			name: "failures by reason, the unrecorded rest apart",
			run: Run{ExportFailed: 12, ExportFailures: []record.ExportFailure{
				{Service: "cart", Reason: "grpc Unavailable", Spans: 7, FirstMessage: "secret-bearing message"},
				{Service: "cart", Reason: "http 401", Spans: 3},
			}},
			names: []string{"tracerig_spans_export_failed_total"},
			want: `
# HELP tracerig_spans_export_failed_total Spans whose export failed, by service and reason.
# TYPE tracerig_spans_export_failed_total counter
tracerig_spans_export_failed_total{reason="grpc Unavailable",service="cart"} 7
tracerig_spans_export_failed_total{reason="http 401",service="cart"} 3
tracerig_spans_export_failed_total{reason="unrecorded",service=""} 2
`,
		},
		{
			name: "verified as it goes",
			run: Run{Verified: true, SpansVerified: 50, SpansDropped: 4, SpansMissing: 1,
				EdgeBreaks: []EdgeBreaks{{From: "proxy", To: "inventory", Hops: 9}}},
			names: []string{"tracerig_spans_verified_total", "tracerig_spans_dropped_total", "tracerig_spans_missing_total", "tracerig_propagation_breaks_total"},
			want: `
# HELP tracerig_propagation_breaks_total Hops the propagation check found broken, by edge (caller->callee).
# TYPE tracerig_propagation_breaks_total counter
tracerig_propagation_breaks_total{edge="proxy->inventory"} 9
# HELP tracerig_spans_dropped_total Judged spans that never reached the exporter: dropped in an SDK queue or lost by a crash.
# TYPE tracerig_spans_dropped_total counter
tracerig_spans_dropped_total 4
# HELP tracerig_spans_missing_total Judged spans that were exported and are not in the backend.
# TYPE tracerig_spans_missing_total counter
tracerig_spans_missing_total 1
# HELP tracerig_spans_verified_total Spans the checks have judged, in a run verified as it goes.
# TYPE tracerig_spans_verified_total counter
tracerig_spans_verified_total 50
`,
		},
		{
			name: "faults by kind and target",
			run: Run{Faults: []record.Fault{
				{Kind: "latency", Service: "payment", Instance: -1},
				{Kind: "latency", Service: "payment", Instance: -1, Open: true},
				{Kind: "strip-headers", From: "cart", To: "inventory", Open: true},
				{Kind: "exporter-outage"},
			}},
			names: []string{"tracerig_fault_active", "tracerig_fault_windows_total"},
			want: `
# HELP tracerig_fault_active Faults active now, by kind and target (a service, an edge caller->callee, a broker; empty for the export pipeline).
# TYPE tracerig_fault_active gauge
tracerig_fault_active{kind="exporter-outage",target=""} 0
tracerig_fault_active{kind="latency",target="payment"} 1
tracerig_fault_active{kind="strip-headers",target="cart->inventory"} 1
# HELP tracerig_fault_windows_total Fault windows begun, planted or added live, by kind and target.
# TYPE tracerig_fault_windows_total counter
tracerig_fault_windows_total{kind="exporter-outage",target=""} 1
tracerig_fault_windows_total{kind="latency",target="payment"} 2
tracerig_fault_windows_total{kind="strip-headers",target="cart->inventory"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewRunCollector(func() Run { return tt.run })
			if err := testutil.CollectAndCompare(c, strings.NewReader(tt.want), tt.names...); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestRunCollectorLints(t *testing.T) {
	c := NewRunCollector(func() Run {
		return Run{Verified: true, ExportFailed: 1, EdgeBreaks: []EdgeBreaks{{From: "a", To: "b", Hops: 1}},
			Faults: []record.Fault{{Kind: "latency", Service: "a"}}}
	})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}
