package scenarios

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// ReportVersion is the version of report.json's schema. It changes when a
// field changes meaning or goes away; new fields do not change it.
const ReportVersion = 1

// Report is the outcome of one run, as written to report.json.
type Report struct {
	Version     int              `json:"version"`
	Scenario    string           `json:"scenario"`
	File        string           `json:"file"`
	Topology    string           `json:"topology"`
	Runtime     string           `json:"runtime"`
	Backend     BackendReport    `json:"backend"`
	Seed        uint64           `json:"seed"`
	TimeScale   float64          `json:"time_scale"` // --time-scale; the times reported are scaled ones
	StartedAt   time.Time        `json:"started_at"`
	Duration    time.Duration    `json:"duration_ns"`
	Interrupted bool             `json:"interrupted"`
	Settled     bool             `json:"settled"`
	SettleTime  time.Duration    `json:"settle_ns"`
	Load        []LoadReport     `json:"load"`
	Ledger      simulator.Totals `json:"ledger"`
	Export      ExportReport     `json:"export"`
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
	Faults   []record.Fault   `json:"faults"`
	Verdicts []assert.Verdict `json:"verdicts"`
	Passed   bool             `json:"passed"`
	Errors   []string         `json:"errors,omitempty"`

	input   assert.Input            // what the checks saw, for tests of this package and the HTML report
	retries []simulator.ExportRetry // the exporters' retries, for the HTML report
	samples []loadSample            // the load's results, the source of every latency figure
	// samplesNote says why the load's results were only partly read.
	samplesNote string
}

// BackendReport says where spans went.
type BackendReport struct {
	Type     string `json:"type"`
	Endpoint string `json:"endpoint"`
	ReadBack bool   `json:"read_back"`
	Reason   string `json:"no_read_back_reason,omitempty"`
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
	LatencyP50       time.Duration  `json:"latency_p50_ns"` // these three by latencyPercentile
	LatencyP99       time.Duration  `json:"latency_p99_ns"`
	LatencyMax       time.Duration  `json:"latency_max_ns"`
	StatusCodes      map[string]int `json:"status_codes"`
	Errors           []string       `json:"errors,omitempty"`
}

func newReport(sc *topology.Scenario) *Report {
	return &Report{
		Version:   ReportVersion,
		Scenario:  sc.Name,
		File:      sc.File,
		Topology:  sc.Topology.Name,
		Runtime:   string(sc.Runtime),
		TimeScale: 1,
	}
}

func describeBackend(b topology.Backend, s *sink) BackendReport {
	typ := string(b.Type)
	if s.embedded == nil && s.query == nil && b.Type == topology.BackendEmbedded {
		typ = "otlp"
	}
	return BackendReport{Type: typ, Endpoint: s.endpoint, ReadBack: s.noReadBack == "", Reason: s.noReadBack}
}

// loadReports reports what each load entry achieved: its counts from
// vegeta's metrics, its latencies from samples (latencyPercentile over the
// results of every load entry of the same name).
func loadReports(loads []topology.Load, results []simulator.LoadResult, samples []loadSample) []LoadReport {
	byLoad := map[string][]time.Duration{}
	for _, s := range samples {
		byLoad[s.load] = append(byLoad[s.load], s.latency)
	}
	out := make([]LoadReport, 0, len(results))
	for i, r := range results {
		m := r.Metrics
		lat := summarize(byLoad[r.Name])
		end := r.RequestedRate
		var planned time.Duration
		if i < len(loads) {
			l := loads[i]
			if l.Rate.Ramp && l.Rate.Per > 0 {
				end = float64(l.Rate.To) / l.Rate.Per.Seconds()
			}
			planned = l.Duration
		}
		out = append(out, LoadReport{
			Target:           r.Name,
			Requests:         m.Requests,
			RequestedRate:    r.RequestedRate,
			RequestedRateEnd: end,
			Duration:         planned,
			AchievedRate:     m.Rate,
			Success:          m.Success,
			LatencyP50:       lat.P50,
			LatencyP99:       lat.P99,
			LatencyMax:       lat.Max,
			StatusCodes:      m.StatusCodes,
			Errors:           m.Errors,
		})
	}
	return out
}

// finish sets Passed: every check passed or did not run, and the run was
// not interrupted.
func (r *Report) finish() {
	r.Passed = !r.Interrupted
	for _, v := range r.Verdicts {
		if v.Status == assert.StatusFail {
			r.Passed = false
		}
	}
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

// WriteJSON writes the report to path, creating its folder.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, os.PathSeparator); i >= 0 {
		return path[:i]
	}
	return "."
}

// WriteText writes the human summary: load, ledger, then one row per check
// and the findings of every check that did not pass.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("scenario %s (topology %s, seed %d, backend %s %s", r.Scenario, r.Topology, r.Seed, r.Backend.Type, r.Backend.Endpoint)
	if r.TimeScale != 1 && r.TimeScale != 0 {
		ew.printf(", time scale %g", r.TimeScale)
	}
	ew.printf(")\n")
	if r.Interrupted {
		ew.printf("INTERRUPTED: the run was stopped early; the checks ran on what had arrived\n")
	}
	for _, l := range r.Load {
		req := "max"
		if l.RequestedRate > 0 {
			req = fmt.Sprintf("%.1f/s", l.RequestedRate)
		}
		ew.printf("load %s: %d requests, %s requested, %.1f/s achieved, %.2f%% ok, p50 %s p99 %s\n",
			l.Target, l.Requests, req, l.AchievedRate, 100*l.Success, round(l.LatencyP50), round(l.LatencyP99))
	}
	ew.printf("ledger: %d traces started, %d sampled; %d spans ended, %d exported, %d export failures; %d hops\n",
		r.TracesStarted, r.TracesSampled, r.Ledger.SpansEnded, r.Ledger.SpansExported, r.Ledger.ExportFailed, r.Ledger.Hops)
	if e := r.Export; e.WaitingPeak > 0 || r.Ledger.ExportRetries > 0 {
		ew.printf("export: at most %d spans waiting for export at once", e.WaitingPeak)
		if e.WaitingPeak > 0 {
			ew.printf(", %.1fs into the run", time.Duration(e.WaitingPeakAt-r.StartedAt.UnixNano()).Seconds())
		}
		ew.printf(" (SDK queues of %d spans per instance); %d exports retried\n", e.QueueCapacity, r.Ledger.ExportRetries)
	}
	ew.printf("backend: %d spans read back", r.BackendSpans)
	if !r.Backend.ReadBack {
		ew.printf(" (%s)", r.Backend.Reason)
	}
	if r.Backend.ReadBack {
		if r.Settled {
			ew.printf(" (settled in %s)", round(r.SettleTime))
		} else {
			ew.printf(" (not settled after %s)", round(r.SettleTime))
		}
	}
	ew.printf("\n")
	for _, n := range r.BackendNotes {
		ew.printf("backend note: %s\n", n)
	}
	for _, f := range r.Faults {
		ew.printf("fault %s: %s\n", faultLabel(f), r.window(f))
	}
	ew.printf("\n")
	for _, v := range r.Verdicts {
		check := v.Check
		if v.Subject != "" {
			check += " " + v.Subject
		}
		ew.printf("%-8s %s\n", strings.ToUpper(string(v.Status)), check)
		ew.printf("         expected: %s\n", v.Expected)
		if v.Status == assert.StatusNotRun {
			ew.printf("         not run:  %s\n", v.Reason)
		} else {
			ew.printf("         observed: %s\n", v.Observed)
		}
	}
	for _, v := range r.Verdicts {
		if v.Status != assert.StatusFail && v.Status != assert.StatusWarn || len(v.Findings) == 0 {
			continue
		}
		ew.printf("\n%s findings:\n", strings.TrimSpace(v.Check+" "+v.Subject))
		for _, f := range v.Findings {
			of := ""
			if f.Of > 0 {
				of = fmt.Sprintf(" of %d", f.Of)
			}
			ew.printf("  %s: %s (%d%s)\n", f.Subject, f.Message, f.Count, of)
			if f.Fault != "" {
				ew.printf("      %s\n", f.Fault)
			}
			for _, ex := range f.Examples {
				ew.printf("      e.g. %s\n", ex)
			}
		}
	}
	for _, e := range r.Errors {
		ew.printf("\nerror: %s\n", e)
	}
	result := "PASS"
	switch {
	case r.Interrupted:
		result = "INTERRUPTED"
	case !r.Passed:
		result = "FAIL"
	}
	ew.printf("\n%s\n", result)
	return ew.err
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

// faultLabel names a fault window: "#2 strip-headers cart -> inventory", or
// "live 7 …" for one added through the control API.
func faultLabel(f record.Fault) string {
	if f.Number == 0 {
		return fmt.Sprintf("live %d %s", f.ID, f.Desc)
	}
	return fmt.Sprintf("#%d %s", f.Number, f.Desc)
}

// window renders a fault window relative to the start of load.
func (r *Report) window(f record.Fault) string {
	at := func(ns int64) string {
		return fmt.Sprintf("%.1fs", time.Duration(ns-r.StartedAt.UnixNano()).Seconds())
	}
	return at(f.Start) + "–" + at(f.End)
}
