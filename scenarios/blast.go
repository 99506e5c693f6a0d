package scenarios

import (
	"context"
	"runtime"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator/synthetic"
	"github.com/tracerig/tracerig/topology"
)

// BlastOptions configure Blast. The scenario is left as it is: Seed and
// Run carry what replaces its settings.
type BlastOptions struct {
	Command  string // blast or bench, as the report names it
	Scenario string // the scenario as the user named it
	// Seed, when not 0, replaces the scenario's seed.
	Seed uint64
	// Run configures the generator; an empty Run.Endpoint sends to the
	// embedded backend, started in this process for the run and read
	// back after it.
	Run synthetic.RunOptions
	// Sink, with Run.Endpoint, is the sink there, named in the summary
	// and read back; nil: an endpoint neither named nor read back.
	Sink *BlastSink
	// Profile, when set, starts a CPU profile just before the generator
	// runs; the func it returns stops it right after.
	Profile func() (stop func(), err error)
}

// BlastSink is a sink outside this process that a synthetic run sends to.
type BlastSink struct {
	// Name names the sink in the summary, given its endpoint as SinkName
	// names it.
	Name func(endpoint string) string
	// Held reads back what the sink holds after a run that sent st.
	Held func(ctx context.Context, st synthetic.Stats) assert.SinkHeld
}

// Blast sends synthetic traces shaped by sc's topology to a sink for as
// long as opts.Run says, measures what that cost this process, reads the
// sink back, and judges the run with assert.Blast. A generator sc cannot
// give is an error of the scenario; a sink that does not start or a run
// that cannot export is a RuntimeError.
func Blast(ctx context.Context, sc *topology.Scenario, opts BlastOptions) (*report.Blast, error) {
	g, err := synthetic.ForScenario(sc, synthetic.WithSeed(opts.Seed))
	if err != nil {
		return nil, err
	}
	run, sink := opts.Run, opts.Sink
	if run.Endpoint == "" {
		b := embedded.New()
		if err := b.Start(ctx); err != nil {
			return nil, &RuntimeError{err}
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			b.Shutdown(stopCtx)
		}()
		run.Endpoint = b.GRPCAddr()
		if run.Protocol == synthetic.ProtocolHTTP {
			run.Endpoint = b.HTTPAddr()
		}
		sink = embeddedSink(g, b)
	}
	m, err := measure(ctx, g, run, opts.Profile)
	if err != nil {
		return nil, err
	}
	name := SinkName(run.Protocol, run.Endpoint)
	o := BlastOutcome(m)
	var held *assert.SinkHeld
	if sink != nil {
		h := sink.Held(ctx, m.Stats)
		held, name = &h, sink.Name(name)
	}
	return report.NewBlast(report.BlastRun{
		Command: opts.Command, Scenario: opts.Scenario, Sink: name, Options: run, Seed: g.Seed(), Measurement: m,
		Verdicts: assert.Blast(o, run.Rate, held),
	}), nil
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
		Traces: st.Traces, Sent: st.Sent, Delivered: st.Delivered, Failed: st.Failed, Rejected: st.Rejected,
		FailedRequests: st.FailedReq, Elapsed: st.Elapsed, Workers: st.Workers, Busy: st.Busy, QueueFull: st.QueueFull,
		ExportLatency: st.ExportLatency, CPU: m.CPU, Cores: runtime.GOMAXPROCS(0),
	}
}

// embeddedSink is the embedded backend b in this process as the sink of
// g's run: read back by its counts and a sample of traces recomputed from
// their sequence numbers (Generator.Expect).
func embeddedSink(g *synthetic.Generator, b *embedded.Backend) *BlastSink {
	return &BlastSink{
		Name: func(endpoint string) string {
			return "the embedded backend in this process over " + endpoint + " (its ingest cost is included below)"
		},
		Held: func(_ context.Context, st synthetic.Stats) assert.SinkHeld { return EmbeddedHeld(g, b, st.Traces) },
	}
}

// EmbeddedHeld reads back what the embedded backend b holds of a run of g
// that sent traces traces: its counts, and a thousand or so of the traces,
// spread evenly over the sequence numbers sent, each looked up whole.
func EmbeddedHeld(g *synthetic.Generator, b *embedded.Backend, traces uint64) assert.SinkHeld {
	bs := b.Stats()
	h := assert.SinkHeld{Holder: "backend", Spans: bs.Spans, Traces: int64(bs.Traces), Rejected: bs.Rejected, Sample: &assert.TraceSample{}}
	if traces > 0 {
		step := max(traces/1000, 1)
		for seq := uint64(0); seq < traces; seq += step {
			id, n := g.Expect(seq)
			h.Sample.Checked++
			if len(b.Trace(id)) == n {
				h.Sample.Complete++
			}
		}
	}
	return h
}
