package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/durfmt"
)

// WriteText writes the human summary: load, ledger, then one row per check
// and the findings of every check that did not pass.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	r.textHeading(ew)
	r.textLoad(ew)
	r.textBackend(ew)
	for _, f := range r.Faults {
		ew.printf("fault %s: %s\n", faultLabel(f), r.Window(f))
	}
	ew.printf("\n")
	r.textVerdicts(ew)
	r.textFindings(ew)
	for _, e := range r.Errors {
		ew.printf("\nerror: %s\n", e)
	}
	ew.printf("\n%s\n", r.result())
	return ew.err
}

// result is the run's outcome in a word: PASS, FAIL or INTERRUPTED.
func (r *Report) result() string {
	switch {
	case r.Interrupted:
		return "INTERRUPTED"
	case !r.Passed:
		return "FAIL"
	}
	return "PASS"
}

// textHeading names the scenario and how it ran.
func (r *Report) textHeading(ew *errWriter) {
	ew.printf("scenario %s (topology %s, seed %d", r.Scenario, r.Topology, r.Seed)
	if r.RunID != "" {
		ew.printf(", run %s", r.RunID)
	}
	ew.printf(", backend %s %s", r.Backend.Type, r.Backend.Endpoint)
	if r.Backend.Export != "" {
		ew.printf(" (export %s)", r.Backend.Export)
	}
	if r.TimeScale != 1 && r.TimeScale != 0 {
		ew.printf(", time scale %g", r.TimeScale)
	}
	ew.printf(")\n")
	if r.Interrupted {
		ew.printf("INTERRUPTED: the run was stopped early; the checks ran on what had arrived\n")
	}
}

// textLoad says what each load achieved, what the ledger recorded and how
// the export queues kept up.
func (r *Report) textLoad(ew *errWriter) {
	for _, l := range r.Load {
		req := "max"
		if l.RequestedRate > 0 {
			req = fmt.Sprintf("%.1f/s", l.RequestedRate)
		}
		ew.printf("load %s: %d requests, %s requested, %.1f/s achieved, %.2f%% ok, p50 %s p99 %s\n",
			l.Target, l.Requests, req, l.AchievedRate, 100*l.Success, durfmt.Human(l.LatencyP50), durfmt.Human(l.LatencyP99))
	}
	if s := r.LatencySample; s != nil {
		ew.printf("latencies: from a uniform random sample of %d of the %d results\n", s.Kept, s.Of)
	}
	ew.printf("ledger: %d traces started, %d sampled; %d spans ended, %d exported, %d export failures; %d hops\n",
		r.TracesStarted, r.TracesSampled, r.Ledger.SpansEnded, r.Ledger.SpansExported, r.Ledger.ExportFailed, r.Ledger.Hops)
	if m := r.Memory; m != nil {
		ew.printf("memory: peak resident set %.0f MiB, checks included", float64(m.PeakRSS)/(1<<20))
		if m.GrowthPerSpan != 0 {
			ew.printf("; %+.0f bytes per span ended from a third of the run to its end", m.GrowthPerSpan)
		}
		ew.printf("\n")
	}
	if e := r.Export; e.WaitingPeak > 0 || r.Ledger.ExportRetries > 0 {
		ew.printf("export: at most %d spans waiting for export at once", e.WaitingPeak)
		if e.WaitingPeak > 0 {
			ew.printf(", %.1fs into the run", time.Duration(e.WaitingPeakAt-r.StartedAt.UnixNano()).Seconds())
		}
		ew.printf(" (SDK queues of %d spans per instance); %d exports retried\n", e.QueueCapacity, r.Ledger.ExportRetries)
	}
	r.textExportFailures(ew)
}

// textExportFailures writes the table of failed exports: per service and
// reason, the spans and the first error.
func (r *Report) textExportFailures(ew *errWriter) {
	if len(r.Export.Failures) == 0 {
		return
	}
	ew.printf("export failures:\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  service\treason\tspans\tfirst message\n")
	for _, s := range r.Export.Failures {
		for _, f := range s.Reasons {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", s.Service, f.Reason, f.Spans, strings.Join(strings.Fields(f.FirstMessage), " "))
		}
	}
	_ = tw.Flush() // ew keeps the error
}

// textBackend says what was read back from the backend, and what the
// backend did to the spans.
func (r *Report) textBackend(ew *errWriter) {
	ew.printf("backend: %d spans read back", r.BackendSpans)
	if !r.Backend.ReadBack {
		ew.printf(" (%s)", r.Backend.Reason)
	}
	if r.Backend.ReadBack {
		if r.Settled {
			ew.printf(" (settled in %s)", durfmt.Human(r.SettleTime))
		} else {
			ew.printf(" (not settled after %s)", durfmt.Human(r.SettleTime))
		}
	}
	ew.printf("\n")
	for _, n := range r.BackendNotes {
		ew.printf("backend note: %s\n", n)
	}
}

// textVerdicts writes one row per check: its status, what it expected and
// what it observed (or why it did not run).
func (r *Report) textVerdicts(ew *errWriter) {
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
}

// textFindings writes the findings of every check that failed or warned,
// with their fault attribution and examples.
func (r *Report) textFindings(ew *errWriter) {
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
}

// errWriter keeps the first error of a run of writes and skips the writes
// after it.
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
