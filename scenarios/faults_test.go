package scenarios

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/topology"
)

// TestEveryFaultKind plants each fault kind in real traffic and requires the
// detect check to see its effect inside its window and not outside, with the
// other checks as each file states.
func TestEveryFaultKind(t *testing.T) {
	covered := map[topology.FaultKind]bool{}
	files, _ := filepath.Glob("testdata/faults/*.yaml")
	for _, file := range files {
		if strings.HasSuffix(file, "topology.yaml") {
			continue
		}
		sc := load(t, file)
		covered[sc.Faults[0].Kind] = true
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			rep, err := Run(t.Context(), sc, Options{OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			passAll(t, rep)
			if len(rep.Faults) != len(sc.Faults) {
				t.Fatalf("fault windows %+v, want one per planted fault", rep.Faults)
			}
			if k := sc.Faults[0].Kind; k == topology.FaultExporterOutage || k == topology.FaultSlowBackend {
				// Spans pile up in the export queues while the backend is
				// away or slow: the most waiting at once is in the window
				// (or as the retries after it drain the queues).
				w, e := rep.Faults[0], rep.Export
				if e.WaitingPeak == 0 || e.WaitingPeakAt < w.Start || e.WaitingPeakAt > w.End+int64(2500*time.Millisecond) {
					t.Errorf("export queues peaked at %d spans %.2fs into the run, fault window %s", e.WaitingPeak,
						time.Duration(e.WaitingPeakAt-rep.StartedAt.UnixNano()).Seconds(), rep.Window(w))
				}
				t.Logf("%s: export queues peaked at %d spans %.2fs into the run, fault window %s; %d exports retried", k, e.WaitingPeak,
					time.Duration(e.WaitingPeakAt-rep.StartedAt.UnixNano()).Seconds(), rep.Window(w), rep.Ledger.ExportRetries)
			}
			if sc.Faults[0].Kind == topology.FaultExporterOutage {
				checkRetriesIn(t, rep, rep.Faults[0])
			}
			checkFailureReasons(t, rep)
			checkRedelivered(t, rep, sc)
		})
	}
	for _, k := range topology.FaultKinds {
		if !covered[k] {
			t.Errorf("no test plants %s", k)
		}
	}
}

// checkRedelivered requires the messaging check of a scenario whose errors
// fault hits a consumer to count redeliveries into that consumer: the broker
// must have redelivered what the failed runs did not acknowledge.
func checkRedelivered(t *testing.T, rep *report.Report, sc *topology.Scenario) {
	t.Helper()
	f := sc.Faults[0]
	if f.Kind != topology.FaultErrors || !slices.ContainsFunc(sc.Expect, func(e topology.Expect) bool { return e.Kind == topology.ExpectMessaging }) {
		return
	}
	v := verdict(t, rep, string(topology.ExpectMessaging))
	n := 0.0
	for k, x := range v.Stats {
		if strings.HasSuffix(k, " -> "+f.Target.Service+" | redelivered") {
			n += x
		}
	}
	if n == 0 {
		t.Errorf("no redelivery to %s counted by the messaging check, whose stats are %v", f.Target.Service, v.Stats)
	}
	t.Logf("%g redeliveries to %s", n, f.Target.Service)
}

// checkRetriesIn requires the exporters to have retried during an exporter
// outage, and only then or just after: the exporters' connection redials
// with a backoff of up to 1.2 s (1 s, 20% jitter), and a call made before
// it is back fails at once.
func checkRetriesIn(t *testing.T, rep *report.Report, w record.Fault) {
	t.Helper()
	if rep.Ledger.ExportRetries == 0 || len(rep.Evidence.Retries) != rep.Ledger.ExportRetries {
		t.Fatalf("%d export retries in the ledger, %d in the report's series: want some during the outage", rep.Ledger.ExportRetries, len(rep.Evidence.Retries))
	}
	for _, x := range rep.Evidence.Retries {
		if x.At < w.Start || x.At > w.End+int64(1500*time.Millisecond) {
			t.Errorf("an export of %d spans retried %.2fs into the run, outside the outage %s", x.Spans,
				time.Duration(x.At-rep.StartedAt.UnixNano()).Seconds(), rep.Window(w))
		}
	}
}
