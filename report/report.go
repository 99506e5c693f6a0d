// Package report writes what one run found: the text summary, report.json,
// junit.xml, report.html and the decision log decisions.tsv. It takes the
// run's Evidence (what the load achieved, what the ledger recorded, what the
// backend returned) and the checks' verdicts, and writes only what it is
// given: it starts nothing and reads no file.
package report

import (
	"fmt"
	"slices"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/cmdline"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
)

// SchemaVersion is the version of report.json's schema. It changes when a
// field changes meaning or goes away; new fields do not change it.
const SchemaVersion = 1

// Report is the outcome of one run, as written to report.json.
type Report struct {
	Version int `json:"version"`
	// TracerigVersion is the version of the tracerig that ran, as
	// buildinfo.Version says it; CommandLine the command line of the run,
	// every secret value masked (cmdline.Mask), empty for a run started
	// through the Go API.
	TracerigVersion string   `json:"tracerig_version,omitempty"`
	CommandLine     []string `json:"command_line,omitempty"`
	// Scenario names the scenario that ran, File its file.
	Scenario    string        `json:"scenario"`
	File        string        `json:"file"`
	Topology    string        `json:"topology"`
	Runtime     string        `json:"runtime"`
	Backend     BackendReport `json:"backend"`
	Seed        uint64        `json:"seed"`
	RunID       string        `json:"run_id,omitempty"` // replays the run with --run-id
	TimeScale   float64       `json:"time_scale"`       // --time-scale; the times reported are scaled ones
	StartedAt   time.Time     `json:"started_at"`
	Duration    time.Duration `json:"duration_ns"`
	Interrupted bool          `json:"interrupted"`
	Settled     bool          `json:"settled"`
	SettleTime  time.Duration `json:"settle_ns"`
	Load        []LoadReport  `json:"load"`
	// LatencySample, when set, says the load's latency figures come from a
	// uniform random sample of its results, not from every one.
	LatencySample *LatencySample   `json:"latency_sample,omitempty"`
	Ledger        simulator.Totals `json:"ledger"`
	Export        ExportReport     `json:"export"`
	// TracesStarted and TracesSampled count the traces the load started and
	// those the entry services' samplers kept.
	TracesStarted int `json:"traces_started"`
	TracesSampled int `json:"traces_sampled"`
	// BackendSpans is how many spans were read back.
	BackendSpans int `json:"backend_spans"`
	// BackendNotes are what the backend itself did to the spans, such as
	// Jaeger evicting traces from a store smaller than the run.
	BackendNotes []string `json:"backend_notes,omitempty"`
	// Faults lists every window in which a fault was active.
	// Memory is tracerig's resident memory over the run; nil when it was
	// not sampled.
	Memory   *MemoryReport    `json:"memory,omitempty"`
	Faults   []record.Fault   `json:"faults"`
	Verdicts []assert.Verdict `json:"verdicts"`
	Passed   bool             `json:"passed"`
	Errors   []string         `json:"errors,omitempty"`

	// Evidence is what the report was made from; nil in a report read
	// back from report.json. The HTML report draws its plots from it.
	Evidence *Evidence `json:"-"`
	// waiting is the number of spans waiting for export over time, which
	// Export's peak was taken from and the HTML report plots.
	waiting []waitingStep
}

// LatencySample is the sample the latency figures of a long run come from:
// Kept results drawn uniformly at random from Of.
type LatencySample struct {
	Kept int `json:"kept"`
	Of   int `json:"of"`
}

// BackendReport says where spans went.
type BackendReport struct {
	Type     string `json:"type"`
	Endpoint string `json:"endpoint"`
	// Export describes how the services exported to a backend tracerig did
	// not start (protocol, endpoint, TLS, header keys, compression), never
	// with a header value; "" for one it started (plaintext OTLP/gRPC).
	Export string `json:"export,omitempty"`
	// HeaderKeys are the keys of the headers every export carried.
	HeaderKeys []string `json:"header_keys,omitempty"`
	ReadBack   bool     `json:"read_back"`
	Reason     string   `json:"no_read_back_reason,omitempty"`
}

// LoadReport is what one load entry achieved.
type LoadReport struct {
	Target        string  `json:"target"`
	Requests      uint64  `json:"requests"`
	RequestedRate float64 `json:"requested_rate"`
	// RequestedRateEnd is a ramp's end rate; the same as RequestedRate
	// for a constant rate.
	RequestedRateEnd float64        `json:"requested_rate_end"`
	Duration         time.Duration  `json:"duration_ns"` // as planned; 0 for a request count alone
	AchievedRate     float64        `json:"achieved_rate"`
	Success          float64        `json:"success"`
	LatencyP50       time.Duration  `json:"latency_p50_ns"` // these three by LatencyPercentile
	LatencyP99       time.Duration  `json:"latency_p99_ns"`
	LatencyMax       time.Duration  `json:"latency_max_ns"`
	StatusCodes      map[string]int `json:"status_codes"`
	Errors           []string       `json:"errors,omitempty"`
}

// New makes the report of a run from its evidence: every figure but the
// verdicts, which SetVerdicts adds. The report keeps ev.
func New(ev *Evidence) *Report {
	sc := ev.Scenario
	r := &Report{
		Version:       SchemaVersion,
		Scenario:      sc.Name,
		File:          sc.File,
		Topology:      sc.Topology.Name,
		Runtime:       string(sc.Runtime),
		Backend:       ev.Backend,
		Seed:          ev.Seed,
		RunID:         ev.RunID,
		TimeScale:     1,
		StartedAt:     ev.StartedAt,
		Duration:      ev.Duration,
		Interrupted:   ev.Interrupted,
		Settled:       ev.Settled,
		SettleTime:    ev.SettleTime,
		Load:          loadReports(ev.Loads, ev.LoadResults, ev.Samples),
		Ledger:        ev.Ledger,
		TracesStarted: ev.TracesStarted,
		TracesSampled: ev.TracesSampled,
		BackendNotes:  ev.BackendNotes,
		Faults:        ev.Input.Faults,
		Errors:        slices.Clone(ev.Errors),
		Evidence:      ev,
	}
	r.TracerigVersion, r.CommandLine = ev.TracerigVersion, cmdline.Mask(ev.CommandLine)
	if s := ev.TimeScale; s > 0 && s < 1 {
		r.TimeScale = s
	}
	r.waiting = exportWaiting(ev.Input.Ended)
	if ev.Series != nil && ev.Series.waiting != nil {
		r.waiting = ev.Series.waiting
	}
	r.Export = exportReport(r.waiting, ev.QueueCapacity)
	r.Export.Failures = exportFailures(ev.ExportFailures)
	r.Memory = memoryReport(ev.Memory)
	if ev.Input.ReadBack {
		r.BackendSpans = len(ev.Input.Backend)
		if ev.Series != nil {
			r.BackendSpans = ev.Series.BackendSpans()
		}
	}
	if ev.SamplesOf > len(ev.Samples) {
		r.LatencySample = &LatencySample{Kept: len(ev.Samples), Of: ev.SamplesOf}
	}
	if ev.SamplesNote != "" {
		r.Errors = append(r.Errors, fmt.Sprintf("the load's latencies cover only the first %d results: %s", len(ev.Samples), ev.SamplesNote))
	}
	return r
}

// SetVerdicts records the checks' verdicts and whether the run passed: every
// check passed or did not run, and the run was not interrupted.
func (r *Report) SetVerdicts(verdicts []assert.Verdict) {
	r.Verdicts = verdicts
	r.Passed = !r.Interrupted && !r.Failed()
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	for _, v := range r.Verdicts {
		if v.Status == assert.StatusFail {
			return true
		}
	}
	return false
}

// LoadOutcomes are what the loads achieved, in load order, as the load
// check (assert.Load) reads them.
func (r *Report) LoadOutcomes() []assert.LoadOutcome {
	out := make([]assert.LoadOutcome, len(r.Load))
	for i, l := range r.Load {
		out[i] = assert.LoadOutcome{Target: l.Target, Requests: l.Requests, AchievedRate: l.AchievedRate,
			Success: l.Success, LatencyP50: l.LatencyP50, LatencyP99: l.LatencyP99}
	}
	return out
}

// evidence is the report's evidence, or none for a report without it.
func (r *Report) evidence() *Evidence {
	if r.Evidence == nil {
		return &Evidence{}
	}
	return r.Evidence
}

// faultLabel names a fault window: "#2 strip-headers cart -> inventory", or
// "live 7 …" for one added through the control API.
func faultLabel(f record.Fault) string {
	if f.Number == 0 {
		return fmt.Sprintf("live %d %s", f.ID, f.Desc)
	}
	return fmt.Sprintf("#%d %s", f.Number, f.Desc)
}

// Window renders a fault window relative to the start of load: "1.5s–3.0s".
func (r *Report) Window(f record.Fault) string {
	at := func(ns int64) string {
		return fmt.Sprintf("%.1fs", time.Duration(ns-r.StartedAt.UnixNano()).Seconds())
	}
	return at(f.Start) + "–" + at(f.End)
}
