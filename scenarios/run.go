// Package scenarios holds tracerig's library of ready scenarios and runs a
// scenario end to end: topology → runtime → load → backend → checks → report.
package scenarios

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/buildinfo"
	"github.com/tracerig/tracerig/internal/otlpexport"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// RuntimeError is a failure of the run itself (a port taken, a backend
// unreachable), as opposed to a failed check or a bad file.
type RuntimeError struct{ Err error }

func (e *RuntimeError) Error() string { return e.Err.Error() }
func (e *RuntimeError) Unwrap() error { return e.Err }

// Export settings of every service: an export gives up after 5s, and a
// failed one is retried for up to 3s, so a backend outage longer than that
// loses the spans of its window (and the report says so).
var (
	exportTimeout = 5 * time.Second
	exportRetry   = otlptracegrpc.RetryConfig{
		Enabled:         true,
		InitialInterval: 100 * time.Millisecond,
		MaxInterval:     time.Second,
		MaxElapsedTime:  3 * time.Second,
	}
)

// needsPipe reports whether any fault acts on the export pipeline.
func needsPipe(faults []topology.Fault) bool {
	for _, f := range faults {
		if f.Kind == topology.FaultExporterOutage || f.Kind == topology.FaultSlowBackend {
			return true
		}
	}
	return false
}

// Run runs sc and returns its report. A cancelled ctx stops the load early:
// servers are still closed, spans flushed, the checks run on what arrived and
// the report is marked interrupted. The error is non-nil only when the run
// could not proceed; failed checks are in the report.
func Run(ctx context.Context, sc *topology.Scenario, opts Options) (*report.Report, error) {
	s, err := Start(ctx, sc, opts)
	if err != nil {
		return nil, err
	}
	if err := s.Drive(ctx); err != nil {
		return nil, err
	}
	return s.Finish(ctx)
}

// started is a topology brought up with its backend.
type started struct {
	rt   *simulator.Runtime
	snk  *sink
	stop func(context.Context) error // flushes the services; the ledger is whole after it
	// remote is a runtime whose instances run elsewhere (containers, pods):
	// their records are pulled into rt's ledger as the run goes. nil in
	// process.
	remote interface {
		Pull(context.Context) error
		Close(context.Context) error
	}
	// owed waits for the consumers to process what was published and
	// returns what they still owe; nil: rt's own (in process).
	owed func(context.Context) int64
}

// startRuntime brings sc up in its runtime, with its backend.
func startRuntime(ctx context.Context, sc *topology.Scenario, seed uint64, loads []topology.Load, faults []topology.Fault, opts Options) (started, error) {
	switch sc.Runtime {
	case topology.RuntimeContainers:
		crt, snk, err := startContainers(ctx, sc, seed, loads, faults, opts)
		if err != nil {
			return started{}, err
		}
		return started{rt: crt.Runtime, snk: snk, stop: crt.Shutdown, remote: crt, owed: crt.WaitMessages}, nil
	case topology.RuntimeKubernetes:
		krt, snk, err := startKubernetes(ctx, sc, seed, loads, opts)
		if err != nil {
			return started{}, err
		}
		return started{rt: krt.Runtime, snk: snk, stop: krt.Shutdown, remote: krt}, nil
	}
	snk, rt, err := startInProcess(ctx, sc, seed, loads, faults, opts)
	if err != nil {
		return started{}, err
	}
	return started{rt: rt, snk: snk, stop: rt.Shutdown}, nil
}

// newEvidence starts the evidence of a run of sc: its seed, run ID, loads as
// overridden and how it was started.
func newEvidence(ctx context.Context, sc *topology.Scenario, opts Options) *report.Evidence {
	seed := sc.Seed
	if opts.Seed != nil {
		seed = *opts.Seed
	}
	return &report.Evidence{Scenario: sc, Seed: seed, RunID: opts.RunID.String(), TimeScale: opts.TimeScale,
		Loads: overrideLoads(sc.Load, opts), Interrupted: ctx.Err() != nil,
		TracerigVersion: buildinfo.Version(), CommandLine: opts.CommandLine}
}

// playLoad plays the load phase: the backend's arrival probe, the fault
// timeline, the control API and the loads, until the loads end or ctx is
// done. It records in ev when load began, the load's results and the fault
// windows. loadErr is the load's failure; err, the control API's, stops the
// run before any load.
func playLoad(ctx context.Context, sc *topology.Scenario, rt *simulator.Runtime, snk *sink, faults []topology.Fault, opts Options, ev *report.Evidence) (loadErr, err error) {
	snk.startProbe(ev.Loads)
	if ev.StartedAt.IsZero() {
		ev.StartedAt = time.Now()
	}
	started := ev.StartedAt

	loadCtx, endLoad := context.WithCancel(ctx)
	waitFaults := rt.PlayFaults(loadCtx, faults, started)
	stopControl, err := serveControl(opts.Control, rt, sc, opts.ControlReady, opts.controlOn)
	if err != nil {
		endLoad()
		waitFaults()
		return nil, &RuntimeError{err}
	}
	loadOver := opts.live.loading(started, rt, sc.Topology)
	stopped := watchStop(loadCtx, endLoad, opts.Stop, opts.live.stopped())
	results, samples, loadErr := drive(loadCtx, rt, ev.Loads, ev.Seed, opts)
	if opts.LoadDone != nil {
		opts.LoadDone()
	}
	endLoad()
	waitFaults()
	stopControl()
	loadOver()
	if stopped() && ctx.Err() == nil {
		ranFor(ev.Loads, time.Since(started))
	}
	ev.Input.Faults = rt.FaultWindows()
	ev.LoadResults, ev.Samples, ev.SamplesOf, ev.SamplesNote = results, samples.samples, samples.of, samples.note
	ev.Interrupted = ev.Interrupted || ctx.Err() != nil
	return loadErr, nil
}

// awaitMessages gives the consumers the scenario's settle time after the
// load to process what was published (not long after an interrupted
// run): a message still in its broker when the services stop is one its
// group never processed.
func awaitMessages(ctx context.Context, wait func(context.Context) int64, ev *report.Evidence) {
	if !ev.Scenario.Topology.HasAsync() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, settleLimit(ev))
	defer cancel()
	wait(ctx)
}

// settle waits for the backend to hold what the services exported (not
// long after an interrupted run) and records in ev whether it did, and how
// long the run took.
func settle(ctx context.Context, rt *simulator.Runtime, snk *sink, opts Options, ev *report.Evidence) {
	settle := settleLimit(ev)
	var show func(have, want int64)
	if opts.Progress != nil {
		p := newProgress(opts.Progress, opts.ProgressPlain, nil)
		defer p.done()
		show = p.settling
	}
	ev.Settled, ev.SettleTime = awaitBackend(ctx, snk, rt.Ledger(), settle, show)
	ev.Duration = time.Since(ev.StartedAt)
}

// settleLimit is how long a run waits for its backend after the load: the
// scenario's settle, at most 2s after an interrupted run.
func settleLimit(ev *report.Evidence) time.Duration {
	if ev.Interrupted {
		return min(ev.Scenario.Settle, 2*time.Second)
	}
	return ev.Scenario.Settle
}

// gather records in ev what the ledger holds and what the backend returned:
// the input of the checks, planned the faults as played.
func gather(rt *simulator.Runtime, snk *sink, planned []topology.Fault, ev *report.Evidence) {
	snap := rt.Ledger().Snapshot()
	ev.Ledger = rt.Ledger().Totals()
	ev.QueueCapacity = rt.QueueSize()
	ev.Retries = rt.Ledger().ExportRetries()
	ev.ExportFailures = rt.Ledger().ExportFailures()
	ev.TracesStarted, ev.TracesSampled = snap.Traces()
	in := staticInput(ev.Scenario, snk, planned, ev)
	in.Faults = ev.Input.Faults
	in.Hops, in.Ended = snap.Hops, snap.Ended
	snk.stopProbe()
	var probeNote string
	if in.ReadBack {
		in.Backend = snk.spans()
		snk.saved.save(in.Backend)
		probeNote = snk.applyArrivals(in.Backend)
	}
	ev.BackendNotes = snk.notes(exportedTraces(snap.Ended))
	if probeNote != "" {
		ev.BackendNotes = append(ev.BackendNotes, probeNote)
	}
	if snk.evicts(exportedTraces(snap.Ended)) {
		in.BackendLoss = fmt.Sprintf("evicted by jaeger, which keeps only its newest %d traces", snk.maxTraces())
	}
	ev.Input = in
}

// judge makes the run's report from the evidence and the checks' verdicts,
// and checks the load.
func judge(ev *report.Evidence, verdicts []assert.Verdict, expects []topology.Expect) *report.Report {
	rep := report.New(ev)
	verdicts = append(verdicts, assert.Load(ev.Loads, rep.LoadOutcomes(), rep.Interrupted, expects))
	rep.SetVerdicts(verdicts)
	return rep
}

// describeBackend says where the run's spans went.
func describeBackend(b topology.Backend, s *sink) report.BackendReport {
	typ := string(b.Type)
	if _, ok := s.backend.(exportOnly); ok && b.Type == topology.BackendEmbedded {
		typ = "otlp" // --otlp-endpoint
	}
	reason := s.noReadBack()
	r := report.BackendReport{Type: typ, Endpoint: s.Endpoint(), ReadBack: reason == "", Reason: reason}
	if s.runID != "" { // a backend tracerig did not start: how the export reached it
		r.Export, r.HeaderKeys = s.export.String(), s.export.HeaderKeys()
	}
	return r
}

// startInProcess opens the scenario's backend and starts every service
// instance in this process.
func startInProcess(ctx context.Context, sc *topology.Scenario, seed uint64, loads []topology.Load, faults []topology.Fault, opts Options) (*sink, *simulator.Runtime, error) {
	snk, err := openSink(ctx, sizeBackend(sc.Backend, loads), sc.File, opts.OTLPEndpoint, opts.RunID, opts.getenv())
	if err != nil {
		return nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			snk.close(context.Background())
		}
	}()
	if needsPipe(faults) || opts.faultsLive() {
		if snk.pipe, err = simulator.NewPipe(snk.Endpoint()); err != nil {
			return nil, nil, &RuntimeError{err}
		}
	}
	if err := snk.connect(ctx); err != nil {
		return nil, nil, err
	}
	retry := exportRetryFor(opts)
	// The exporters tell the ledger of their retries; the runtime (and its
	// ledger) exists before any exporter is made.
	var rt *simulator.Runtime
	retried := otlpexport.WithRetryHook(func(spans int, _ error) { rt.Ledger().ExportRetried(spans) })
	rt = simulator.New(sc.Topology, append(identity(sc, opts),
		simulator.WithSeed(seed),
		simulator.WithPipe(snk.pipe),
		simulator.WithExporter(func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlpexport.New(snk.conn,
				otlpexport.WithTimeout(snk.export.Timeout),
				otlpexport.WithRetry(retry),
				retried,
			), nil
		}),
	)...)
	if err := rt.Start(ctx); err != nil {
		return nil, nil, &RuntimeError{fmt.Errorf("start topology %s: %w", sc.Topology.Name, err)}
	}
	ok = true
	return snk, rt, nil
}

// exportRetryFor is the exporters' retry policy for a run. The exporters'
// patience is part of the timeline: at a time scale below 1 it shrinks with
// it, so an outage that outlasts it loses spans at any scale.
func exportRetryFor(opts Options) otlptracegrpc.RetryConfig {
	retry := exportRetry
	if s := opts.TimeScale; s > 0 && s < 1 {
		retry.MaxElapsedTime = max(scale(retry.MaxElapsedTime, s), 300*time.Millisecond)
	}
	return retry
}

// driven is every result of the load, for the report's latency figures;
// note says why they are incomplete, if they are.
type driven struct {
	samples []report.LoadSample
	of      int // results in all: more than samples when they are a sample
	note    string
}

// drive sends the loads, writing their results to results.bin when there is
// an output folder and decoding them as they come for the report.
func drive(ctx context.Context, rt *simulator.Runtime, loads []topology.Load, seed uint64, opts Options) ([]simulator.LoadResult, driven, error) {
	var file io.Writer
	if opts.OutDir != "" {
		if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
			return nil, driven{}, &RuntimeError{fmt.Errorf("create output folder: %w", err)}
		}
		f, err := os.Create(filepath.Join(opts.OutDir, "results.bin"))
		if err != nil {
			return nil, driven{}, &RuntimeError{fmt.Errorf("create load results file: %w", err)}
		}
		defer f.Close()
		file = f
	}
	col := newResultCollector(maxLoadSamples, seed)
	var out io.Writer = col
	if file != nil {
		out = io.MultiWriter(file, col)
	}
	lopts := []simulator.LoadOption{simulator.WithResults(out)}
	if opts.Progress != nil {
		p := newProgress(opts.Progress, opts.ProgressPlain, loads)
		p.verified = opts.verified
		defer p.done()
		lopts = append(lopts, simulator.WithProgress(p.update))
	}
	results, err := rt.Drive(ctx, loads, lopts...)
	samples, of, cerr := col.close()
	d := driven{samples: samples, of: of}
	if cerr != nil {
		d.note = cerr.Error()
	}
	return results, d, err
}

// awaitBackend waits until the backend holds every span the exporters had
// acknowledged and the count has stopped moving, or until limit. Behind a
// collector, which may sample spans away, it waits only for the count to
// stop moving, for longer (sink.quiet). It reports whether the backend
// settled and how long that took.
func awaitBackend(ctx context.Context, snk *sink, l *simulator.Ledger, limit time.Duration, show func(have, want int64)) (bool, time.Duration) {
	start := time.Now()
	if snk.count() < 0 {
		return false, 0
	}
	want := int64(l.Totals().SpansExported)
	if snk.samples() || snk.evicts(l.Totals().Requests) {
		// A collector may sample spans away; a Jaeger store smaller than
		// the run evicts them: wait for the count to stop moving.
		want = 0
	}
	quiet := snk.quiet()
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
		if show != nil {
			show(n, max(want, n))
		}
		if n >= want && time.Since(stableSince) >= quiet {
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
