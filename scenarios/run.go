// Package scenarios holds tracerig's library of ready scenarios and runs a
// scenario end to end: topology → runtime → load → backend → checks → report.
package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// RuntimeError is a failure of the run itself (a port taken, a backend
// unreachable), as opposed to a failed check or a bad file.
type RuntimeError struct{ Err error }

func (e *RuntimeError) Error() string { return e.Err.Error() }
func (e *RuntimeError) Unwrap() error { return e.Err }

// Options override a scenario for one run. Zero values keep the scenario's.
type Options struct {
	// OutDir receives report.json and results.bin; "" writes nothing.
	OutDir string
	// Seed, when set, replaces the scenario's seed.
	Seed *uint64
	// Duration, when set, replaces every load's duration.
	Duration *time.Duration
	// Rate, when set, replaces every load's rate (a zero Rate: flat out).
	Rate *topology.Rate
	// OTLPEndpoint exports to this OTLP gRPC endpoint instead of the
	// scenario's backend; checks that need read-back then do not run.
	OTLPEndpoint string
	// Progress, when set, receives a live progress line.
	Progress io.Writer
}

// Run runs sc and returns its report. A cancelled ctx stops the load early:
// servers are still closed, spans flushed, the checks run on what arrived and
// the report is marked interrupted. The error is non-nil only when the run
// could not proceed; failed checks are in the report.
func Run(ctx context.Context, sc *topology.Scenario, opts Options) (*Report, error) {
	rep := newReport(sc)
	seed := sc.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	rep.Seed = seed
	loads := overrideLoads(sc.Load, opts)
	rep.Interrupted = ctx.Err() != nil

	snk, err := openSink(ctx, sc.Backend, opts.OTLPEndpoint)
	if err != nil {
		return nil, err
	}
	rep.Backend = describeBackend(sc.Backend, snk)
	defer snk.close(context.Background())

	rt := simulator.New(sc.Topology,
		simulator.WithSeed(seed),
		simulator.WithExporter(func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(snk.conn))
		}),
	)
	if err := rt.Start(ctx); err != nil {
		return nil, &RuntimeError{fmt.Errorf("start topology %s: %w", sc.Topology.Name, err)}
	}
	started := time.Now()
	rep.StartedAt = started

	results, loadErr := drive(ctx, rt, loads, opts)
	rep.Load = loadReports(results)
	rep.Interrupted = rep.Interrupted || ctx.Err() != nil

	// Everything after the load runs on its own clock, so an interrupted
	// run still closes its servers, flushes its spans and writes a report.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	shutErr := rt.Shutdown(stopCtx)

	settle := sc.Settle
	if rep.Interrupted {
		settle = min(settle, 2*time.Second)
	}
	rep.Settled, rep.SettleTime = awaitBackend(stopCtx, snk, rt.Ledger(), settle)
	rep.Duration = time.Since(started)

	snap := rt.Ledger().Snapshot()
	rep.Ledger = rt.Ledger().Totals()
	rep.TracesStarted, rep.TracesSampled = snap.Traces()
	in := assert.Input{
		Topology:   sc.Topology,
		Hops:       snap.Hops,
		Ended:      snap.Ended,
		ReadBack:   snk.noReadBack == "",
		NoReadBack: snk.noReadBack,
	}
	if in.ReadBack {
		in.Backend = snk.spans()
		rep.BackendSpans = len(in.Backend)
	}
	rep.Verdicts = assert.Run(in, sc.Expect)
	rep.input = in
	rep.finish()
	if err := errors.Join(loadErr, shutErr); err != nil {
		rep.Errors = append(rep.Errors, err.Error())
	}
	if opts.OutDir != "" {
		if err := rep.WriteJSON(filepath.Join(opts.OutDir, "report.json")); err != nil {
			return rep, &RuntimeError{err}
		}
	}
	return rep, nil
}

func drive(ctx context.Context, rt *simulator.Runtime, loads []topology.Load, opts Options) ([]simulator.LoadResult, error) {
	var lopts []simulator.LoadOption
	if opts.OutDir != "" {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return nil, &RuntimeError{fmt.Errorf("create output folder: %w", err)}
		}
		f, err := os.Create(filepath.Join(opts.OutDir, "results.bin"))
		if err != nil {
			return nil, &RuntimeError{fmt.Errorf("create load results file: %w", err)}
		}
		defer f.Close()
		lopts = append(lopts, simulator.WithResults(f))
	}
	if opts.Progress != nil {
		p := newProgress(opts.Progress, loads)
		defer p.done()
		lopts = append(lopts, simulator.WithProgress(p.update))
	}
	return rt.Drive(ctx, loads, lopts...)
}

// overrideLoads applies the run's overrides to a copy of the scenario's loads.
func overrideLoads(loads []topology.Load, opts Options) []topology.Load {
	out := append([]topology.Load(nil), loads...)
	for i := range out {
		if opts.Duration != nil {
			out[i].Duration = *opts.Duration
			out[i].Requests = 0
		}
		if opts.Rate != nil {
			out[i].Rate = *opts.Rate
		}
	}
	return out
}

// awaitBackend waits until the backend holds every span the exporters had
// acknowledged and the count has stopped moving, or until limit. It reports
// whether the backend settled and how long that took.
func awaitBackend(ctx context.Context, snk *sink, l *simulator.Ledger, limit time.Duration) (bool, time.Duration) {
	start := time.Now()
	if snk.count() < 0 {
		return false, 0
	}
	want := int64(l.Totals().SpansExported)
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last, stableSince := int64(-1), time.Now()
	for {
		n := snk.count()
		if n != last {
			last, stableSince = n, time.Now()
		}
		if n >= want && time.Since(stableSince) >= 100*time.Millisecond {
			return true, time.Since(start)
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return false, time.Since(start)
		case <-ctx.Done():
			return false, time.Since(start)
		}
	}
}
