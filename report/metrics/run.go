package metrics

import (
	"cmp"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracerig/tracerig/internal/record"
)

// Run is what a tracerig run has done so far, as its metrics expose it:
// cumulative counts (they never go down), and the export queues and the
// fault windows as they stand.
type Run struct {
	// RequestsAsked are the requests the loads' rates have called for
	// since load began; negative when a load goes flat out, which asks
	// for no rate.
	RequestsAsked float64
	// Requests are the requests the loads sent, Hops the hops the
	// services sent or received (the ledger's Totals).
	Requests, Hops int
	// SpansEnded, SpansExported and ExportFailed count the spans that
	// ended in the services, whose export the backend acknowledged, and
	// whose export failed; ExportRetries the exports sent again after a
	// transient failure.
	SpansEnded, SpansExported, ExportFailed, ExportRetries int
	// ExportFailures are the failed exports' spans by service and reason.
	// Spans ExportFailed counts beyond them are exposed with reason
	// "unrecorded".
	ExportFailures []record.ExportFailure
	// QueueSpans are the spans ended and not yet exported nor failed (in
	// an SDK queue or an export under way), over every instance; and
	// QueueCapacity the SDK queues' room, over every instance.
	QueueSpans, QueueCapacity int
	// Verified says the run is verified as it goes; the fields up to
	// EdgeBreaks hold only then. SpansVerified are the spans the checks
	// judged; SpansDropped, those of them that never reached the exporter
	// (dropped in an SDK queue, or lost by a crash); SpansMissing, those
	// exported and not in the backend.
	Verified                                  bool
	SpansVerified, SpansDropped, SpansMissing int
	// EdgeBreaks are the hops the propagation check found broken, by edge.
	EdgeBreaks []EdgeBreaks
	// Faults are the fault windows so far, planted and live; an open one
	// is still active.
	Faults []record.Fault
}

// EdgeBreaks counts the broken hops of one edge, caller to callee.
type EdgeBreaks struct {
	From, To string
	Hops     int
}

// runCollector exposes a run's figures, read at every scrape.
type runCollector struct {
	figures                            func() Run
	asked, requests, hops              *prometheus.Desc
	ended, exported, failed, retries   *prometheus.Desc
	queue, capacity                    *prometheus.Desc
	verified, dropped, missing, breaks *prometheus.Desc
	faultActive, faultWindows          *prometheus.Desc
}

// NewRunCollector returns the collector of a run's metrics, which calls
// figures at every scrape; figures must be safe for concurrent use.
func NewRunCollector(figures func() Run) prometheus.Collector {
	return &runCollector{
		figures:      figures,
		asked:        desc("load_requests_asked_total", "Requests the loads' rates have called for since load began (absent for a load that goes flat out)."),
		requests:     desc("load_requests_total", "Requests the loads sent."),
		hops:         desc("hops_total", "Hops (calls and messages) the simulated services sent or received."),
		ended:        desc("spans_ended_total", "Spans that ended in the simulated services."),
		exported:     desc("spans_exported_total", "Spans whose export the backend acknowledged."),
		failed:       desc("spans_export_failed_total", "Spans whose export failed, by service and reason.", "service", "reason"),
		retries:      desc("export_retries_total", "Exports sent again after a transient failure."),
		queue:        desc("export_queue_spans", "Spans ended and not yet exported nor failed: in an SDK queue or an export under way, over every instance."),
		capacity:     desc("export_queue_capacity_spans", "Room of the SDK batch queues, over every instance."),
		verified:     desc("spans_verified_total", "Spans the checks have judged, in a run verified as it goes."),
		dropped:      desc("spans_dropped_total", "Judged spans that never reached the exporter: dropped in an SDK queue or lost by a crash."),
		missing:      desc("spans_missing_total", "Judged spans that were exported and are not in the backend."),
		breaks:       desc("propagation_breaks_total", "Hops the propagation check found broken, by edge (caller->callee).", "edge"),
		faultActive:  desc("fault_active", "Faults active now, by kind and target (a service, an edge caller->callee, a broker; empty for the export pipeline).", "kind", "target"),
		faultWindows: desc("fault_windows_total", "Fault windows begun, planted or added live, by kind and target.", "kind", "target"),
	}
}

// desc is the description of tracerig_name.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("tracerig_"+name, help, labels, nil)
}

// Describe sends every metric's description.
func (c *runCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.asked, c.requests, c.hops, c.ended, c.exported, c.failed, c.retries,
		c.queue, c.capacity, c.verified, c.dropped, c.missing, c.breaks, c.faultActive, c.faultWindows} {
		ch <- d
	}
}

// Collect reads the run's figures once and sends them.
func (c *runCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.figures()
	if f.RequestsAsked >= 0 {
		ch <- counter(c.asked, f.RequestsAsked)
	}
	for _, m := range []struct {
		d *prometheus.Desc
		n int
	}{{c.requests, f.Requests}, {c.hops, f.Hops}, {c.ended, f.SpansEnded}, {c.exported, f.SpansExported}, {c.retries, f.ExportRetries}} {
		ch <- counter(m.d, float64(m.n))
	}
	c.collectFailures(ch, f)
	ch <- gauge(c.queue, float64(f.QueueSpans))
	ch <- gauge(c.capacity, float64(f.QueueCapacity))
	if f.Verified {
		ch <- counter(c.verified, float64(f.SpansVerified))
		ch <- counter(c.dropped, float64(f.SpansDropped))
		ch <- counter(c.missing, float64(f.SpansMissing))
		for _, b := range f.EdgeBreaks {
			ch <- counter(c.breaks, float64(b.Hops), b.From+"->"+b.To)
		}
	}
	c.collectFaults(ch, f.Faults)
}

// collectFailures sends the failed spans by service and reason, those
// without a recorded reason as "unrecorded", so that they sum to
// ExportFailed.
func (c *runCollector) collectFailures(ch chan<- prometheus.Metric, f Run) {
	rest := f.ExportFailed
	for _, x := range f.ExportFailures {
		ch <- counter(c.failed, float64(x.Spans), x.Service, x.Reason)
		rest -= x.Spans
	}
	if rest > 0 {
		ch <- counter(c.failed, float64(rest), "", "unrecorded")
	}
}

// faultKey is the labels of a fault's metrics.
type faultKey struct{ kind, target string }

// collectFaults sends the fault windows begun and those open, by kind and
// target.
func (c *runCollector) collectFaults(ch chan<- prometheus.Metric, faults []record.Fault) {
	type tally struct{ windows, open int }
	by := make(map[faultKey]*tally)
	var keys []faultKey
	for _, w := range faults {
		k := faultKey{w.Kind, faultTarget(w)}
		t := by[k]
		if t == nil {
			t = &tally{}
			by[k] = t
			keys = append(keys, k)
		}
		t.windows++
		if w.Open {
			t.open++
		}
	}
	slices.SortFunc(keys, func(a, b faultKey) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.target, b.target)) })
	for _, k := range keys {
		ch <- counter(c.faultWindows, float64(by[k].windows), k.kind, k.target)
		ch <- gauge(c.faultActive, float64(by[k].open), k.kind, k.target)
	}
}

// faultTarget names what a fault acts on: an edge caller->callee, a
// service, a broker, or nothing (the export pipeline).
func faultTarget(w record.Fault) string {
	switch {
	case w.From != "" || w.To != "":
		return w.From + "->" + w.To
	case w.Service != "":
		return w.Service
	}
	return w.Broker
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}
