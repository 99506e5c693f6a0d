package scenarios

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/buildinfo"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/report/metrics"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/synthetic"
	"github.com/tracerig/tracerig/topology"
)

// BlastOptions configure Blast. The scenario is left as it is: Seed and
// Run carry what replaces its settings.
type BlastOptions struct {
	Command  string // blast or bench, as the report names it
	Scenario string // the scenario as the user named it
	// CommandLine is the command line that started the run, which the
	// report records with every secret value masked; nil for none.
	CommandLine []string
	// Seed, when not 0, replaces the scenario's seed.
	Seed uint64
	// RunID is the run's ID, which every resource carries; zero: a random
	// one. Sent to an endpoint Blast neither starts nor reads back (Run.
	// Endpoint without a Sink), which other runs may share, it goes into
	// every trace and span ID, so the seed and run ID replay the run's IDs.
	RunID simulator.RunID
	// Run configures the generator. Without a Sink, an empty Run.Endpoint
	// sends to the embedded backend, started in this process for the run
	// and read back after it.
	Run synthetic.RunOptions
	// Sink is where to send instead, started before the run, named in the
	// summary and read back after it; nil with Run.Endpoint: an endpoint
	// neither started nor read back.
	Sink *BlastSink
	// Profile, when set, starts a CPU profile just before the generator
	// runs; the func it returns stops it right after.
	Profile func() (stop func(), err error)
	// Metrics, when set, serves the run's metrics (package report/metrics)
	// on this address, at /metrics, from just before the generator runs
	// until the sink is read back.
	Metrics string
	// MetricsReady, when set, is called with the metrics' address once it
	// listens.
	MetricsReady func(addr string)
	// MetricsOTLP, when set, pushes the same metrics over OTLP/gRPC to this
	// endpoint (host:port, or an http:// or https:// URL) every
	// metrics.PushEvery and once more when the sink has been read back.
	MetricsOTLP string
	// metricsClosing, when set, is called with the metrics' address just
	// before they stop being served: where a test scrapes the final
	// figures.
	metricsClosing func(addr string)
}

// BlastSink is the sink of a synthetic run that Blast starts, names, reads
// back and stops. Every func but Start and Name may be nil; Blast calls
// Stop once, also when the run fails.
type BlastSink struct {
	// Start starts the sink and returns the endpoint to send to over p.
	Start func(ctx context.Context, p synthetic.Protocol) (endpoint string, err error)
	// Name names the sink in the summary, given its endpoint as SinkName
	// names it.
	Name func(endpoint string) string
	// Held reads back what the sink holds after a run that sent st.
	Held func(ctx context.Context, st synthetic.Stats) assert.SinkHeld
	// Stop stops the sink once read back and returns its CPU time and peak
	// RSS over its whole life, when it knows them apart from this
	// process's (0 when not).
	Stop func() (cpu time.Duration, peakRSS int64)
}

// Blast sends synthetic traces shaped by sc's topology to a sink for as
// long as opts.Run says, measures what that cost this process, reads the
// sink back, and judges the run with assert.Blast. A generator sc cannot
// give is an error of the scenario; a run that cannot export, or an
// embedded backend that does not start, is a RuntimeError; the error of a
// Sink's Start is returned as it is.
func Blast(ctx context.Context, sc *topology.Scenario, opts BlastOptions) (_ *report.Blast, err error) {
	run, sink := opts.Run, opts.Sink
	if opts.RunID == 0 {
		if opts.RunID, err = simulator.NewRunID(); err != nil {
			return nil, &RuntimeError{err}
		}
	}
	shared := sink == nil && run.Endpoint != ""
	g, err := synthetic.ForScenario(sc, synthetic.WithSeed(opts.Seed), synthetic.WithRunID(uint64(opts.RunID), shared))
	if err != nil {
		return nil, err
	}
	if sink == nil && run.Endpoint == "" {
		sink = embeddedSink(g)
	}
	if sink != nil {
		if run.Endpoint, err = sink.Start(ctx, run.Protocol); err != nil {
			return nil, err
		}
		if sink.Stop != nil {
			once := *sink
			once.Stop = sync.OnceValues(sink.Stop)
			sink = &once
			defer sink.Stop()
		}
	}
	stopTelemetry, err := serveBlastMetrics(ctx, &run, opts)
	if err != nil {
		return nil, err
	}
	defer stopTelemetry()
	m, err := measure(ctx, g, run, opts.Profile)
	if err != nil {
		return nil, err
	}
	return blastReport(ctx, g, opts, run, sink, m), nil
}

// serveBlastMetrics serves the metrics of a synthetic run on
// opts.Metrics and pushes them to opts.MetricsOTLP, counting run's
// samples (neither set: nothing). The returned stop pushes the last
// figures and closes the server.
func serveBlastMetrics(ctx context.Context, run *synthetic.RunOptions, opts BlastOptions) (stop func(), err error) {
	if opts.Metrics == "" && opts.MetricsOTLP == "" {
		return func() {}, nil
	}
	b := metrics.NewBlast(run.QueueCap())
	srv, push, err := serveMetrics(ctx, opts.Metrics, opts.MetricsOTLP, b)
	if err != nil {
		return nil, &RuntimeError{err}
	}
	if next := run.OnSample; next != nil {
		run.OnSample = func(s synthetic.Sample) { b.Add(s); next(s) }
	} else {
		run.OnSample = b.Add
	}
	if srv != nil && opts.MetricsReady != nil {
		opts.MetricsReady(srv.Addr())
	}
	return func() { stopMetrics(srv, push, opts.metricsClosing) }, nil
}

// blastReport reads the sink back, stops it, and judges the run.
func blastReport(ctx context.Context, g *synthetic.Generator, opts BlastOptions, run synthetic.RunOptions, sink *BlastSink, m synthetic.Measurement) *report.Blast {
	name := SinkName(run.Protocol, run.Endpoint)
	var held *assert.SinkHeld
	var sinkCPU time.Duration
	var sinkRSS int64
	if sink != nil {
		name = sink.Name(name)
		if sink.Held != nil {
			h := sink.Held(ctx, m.Stats)
			held = &h
		}
		if sink.Stop != nil {
			sinkCPU, sinkRSS = sink.Stop()
		}
	}
	rep := report.NewBlast(report.BlastRun{
		Command: opts.Command, Scenario: opts.Scenario, Sink: name, Options: run, Seed: g.Seed(), RunID: opts.RunID.String(), Measurement: m,
		TracerigVersion: buildinfo.Version(), CommandLine: opts.CommandLine,
		Verdicts: assert.Blast(BlastOutcome(m), run.Rate, held),
	})
	rep.Totals.SinkCPU, rep.Totals.SinkPeakRSS = sinkCPU, sinkRSS
	return rep
}

// measure runs g with a CPU profile around it when profile is set.
func measure(ctx context.Context, g *synthetic.Generator, run synthetic.RunOptions, profile func() (func(), error)) (synthetic.Measurement, error) {
	if profile != nil {
		stop, err := profile()
		if err != nil {
			return synthetic.Measurement{}, err
		}
		defer stop()
	}
	m, err := g.Measure(ctx, run)
	if err != nil {
		return m, &RuntimeError{err}
	}
	return m, nil
}

// SinkName names an endpoint with its protocol, as blast's summary shows
// it. The endpoint of ProtocolHTTP must be one synthetic.HTTPTracesURL
// takes.
func SinkName(p synthetic.Protocol, endpoint string) string {
	if p == synthetic.ProtocolHTTP {
		u, _ := synthetic.HTTPTracesURL(endpoint)
		return "OTLP/HTTP " + u
	}
	return "OTLP/gRPC " + endpoint
}

// BlastOutcome is a measured run as blast's checks read it.
func BlastOutcome(m synthetic.Measurement) assert.BlastOutcome {
	st := m.Stats
	return assert.BlastOutcome{
		Traces: st.Traces, Linked: st.Linked, Sent: st.Sent, Delivered: st.Delivered, Failed: st.Failed, Rejected: st.Rejected,
		FailedRequests: st.FailedReq, Elapsed: st.Elapsed, Workers: st.Workers, Busy: st.Busy, QueueFull: st.QueueFull,
		ExportLatency: st.ExportLatency, CPU: m.CPU, Cores: runtime.GOMAXPROCS(0),
	}
}

// embeddedSink is the embedded backend, started in this process, as the
// sink of g's run: read back by its counts and a sample of traces
// recomputed from their sequence numbers (Generator.Expect).
func embeddedSink(g *synthetic.Generator) *BlastSink {
	b := embedded.New()
	return &BlastSink{
		Start: func(ctx context.Context, p synthetic.Protocol) (string, error) {
			if err := b.Start(ctx); err != nil {
				return "", &RuntimeError{err}
			}
			if p == synthetic.ProtocolHTTP {
				return b.HTTPAddr(), nil
			}
			return b.GRPCAddr(), nil
		},
		Name: func(endpoint string) string {
			return "the embedded backend in this process over " + endpoint + " (its ingest cost is included below)"
		},
		Held: func(_ context.Context, st synthetic.Stats) assert.SinkHeld { return EmbeddedHeld(g, b, st.Traces) },
		Stop: func() (time.Duration, int64) {
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			b.Shutdown(stopCtx)
			return 0, 0
		},
	}
}

// EmbeddedHeld reads back what the embedded backend b holds of a run of g
// that sent traces traces: its counts, and the traces of a thousand or so
// requests (Generator.SampleSeqs), each looked up whole with the traces of
// their own its consumers started (Generator.ExpectSent).
func EmbeddedHeld(g *synthetic.Generator, b *embedded.Backend, traces uint64) assert.SinkHeld {
	bs := b.Stats()
	h := assert.SinkHeld{Holder: "backend", Spans: bs.Spans, Traces: int64(bs.Traces), Rejected: bs.Rejected, Sample: &assert.TraceSample{}}
	for _, seq := range g.SampleSeqs(synthetic.Shard{}, traces, 1000) {
		for _, tr := range g.ExpectSent(seq, synthetic.Shard{}, seq == traces-1) {
			h.Sample.Checked++
			if len(b.Trace(tr.ID)) == tr.Spans {
				h.Sample.Complete++
			}
		}
	}
	return h
}
