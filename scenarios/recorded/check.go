package recorded

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
	"github.com/tracerig/tracerig/topology/infer"
)

// DefaultCheckDuration caps the load of a fidelity check's run.
const DefaultCheckDuration = 30 * time.Second

// CheckOptions tune Check.
type CheckOptions struct {
	// Duration is the run's load; 0 keeps the scenario's, at most
	// DefaultCheckDuration.
	Duration time.Duration
	// OutDir receives the run's report and the spans it saved (spans.pb).
	OutDir string
	// Progress, when not nil, receives the run's progress line.
	Progress io.Writer
	// Infer tunes the inference from the run's spans; its Name and
	// Window are the source's.
	Infer infer.Options
}

// CheckResult is what a fidelity check found.
type CheckResult struct {
	Fidelity *Fidelity
	// Report is the run's own report: its checks are the scenario's.
	Report *report.Report
	// Run is the inferred result from the run's spans: running infer on
	// what an inferred scenario sent gives its topology again.
	Run *infer.Result
}

// Check runs the scenario written in dir, saving the spans that reached
// the backend, infers from them and compares the result with src, the
// model dir's files were inferred from.
func Check(ctx context.Context, dir string, src *infer.Model, opts CheckOptions) (*CheckResult, error) {
	sc, err := topology.LoadScenario(filepath.Join(dir, ScenarioFile))
	if err != nil {
		return nil, &InputError{fmt.Errorf("check: %w", err)}
	}
	d := opts.Duration
	if d <= 0 {
		d = DefaultCheckDuration
		for _, l := range sc.Load {
			d = min(d, l.Duration)
		}
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	spans := filepath.Join(opts.OutDir, "spans.pb")
	rep, err := scenarios.Run(ctx, sc, scenarios.Options{OutDir: opts.OutDir, Duration: &d, SaveSpans: spans, Progress: opts.Progress})
	if err != nil {
		return nil, fmt.Errorf("check: run the inferred scenario: %w", err)
	}
	iopts := opts.Infer
	iopts.Window = 0
	run, _, err := Infer(ctx, fileSource{path: spans}, iopts)
	if err != nil {
		return nil, fmt.Errorf("check: infer from the run's spans: %w", err)
	}
	return &CheckResult{Fidelity: Compare(src, run.Model), Report: rep, Run: run}, nil
}
