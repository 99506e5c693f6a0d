package scenarios

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report/metrics"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// telemetry serves a run's metrics (Options.Metrics), or pushes them over
// OTLP (Options.MetricsOTLP), from its start until its report is made. Its
// figures are read at each scrape or push from the ledger, the runtime's
// fault windows and the verifier, never counted apart.
type telemetry struct {
	srv  *metrics.Server // nil without Options.Metrics
	push *metrics.Pusher // nil without Options.MetricsOTLP
	rt   *simulator.Runtime
	// asked is the address as given (":0" and the like), bound the one
	// the server listens on.
	asked, bound string
	// capacity is the SDK queues' room over every simulated instance.
	capacity int
	// closing, when set, is called with the address before the server
	// closes (opts.metricsClosing).
	closing func(addr string)

	mu    sync.Mutex
	start time.Time // when load began; zero before
	loads []topology.Load
	ver   *verifier // nil before load, and for a run judged at its end
}

// startTelemetry serves the metrics of rt, running topo, on opts.Metrics
// and pushes them to opts.MetricsOTLP; nil when neither is set and no live
// page (opts.UI) reads them.
// opts.MetricsReady, when set, is called with the address it listens on.
func startTelemetry(ctx context.Context, rt *simulator.Runtime, topo *topology.Topology, opts Options) (*telemetry, error) {
	if opts.Metrics == "" && opts.MetricsOTLP == "" && opts.UI == "" {
		return nil, nil
	}
	t := &telemetry{rt: rt, asked: opts.Metrics, closing: opts.metricsClosing}
	for _, s := range topo.Services {
		if !s.IsExternal() {
			t.capacity += rt.Instances(s.Name) * rt.QueueSize()
		}
	}
	c := metrics.NewRunCollector(t.figures)
	srv, push, err := serveMetrics(ctx, opts.Metrics, opts.MetricsOTLP, c)
	if err != nil {
		return nil, err
	}
	t.srv, t.push = srv, push
	if srv != nil {
		t.bound = srv.Addr()
		if opts.MetricsReady != nil {
			opts.MetricsReady(srv.Addr())
		}
	}
	return t, nil
}

// serveMetrics serves c on addr and pushes it over OTLP to endpoint, each
// when set.
func serveMetrics(ctx context.Context, addr, endpoint string, c prometheus.Collector) (*metrics.Server, *metrics.Pusher, error) {
	var srv *metrics.Server
	if addr != "" {
		var err error
		if srv, err = metrics.Listen(addr, c); err != nil {
			return nil, nil, fmt.Errorf("%w; pick another --metrics address", err)
		}
	}
	if endpoint == "" {
		return srv, nil, nil
	}
	push, err := metrics.PushOTLP(ctx, endpoint, metrics.PushEvery, c)
	if err != nil {
		if srv != nil {
			srv.Close(context.Background())
		}
		return nil, nil, err
	}
	return srv, push, nil
}

// stopMetrics pushes the last figures and stops pushing, then stops
// serving, each if started; closing, when set, is called with the
// address first.
func stopMetrics(srv *metrics.Server, push *metrics.Pusher, closing func(addr string)) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if push != nil {
		push.Shutdown(ctx)
	}
	if srv == nil {
		return
	}
	if closing != nil {
		closing(srv.Addr())
	}
	srv.Close(ctx)
}

// driving records that load began at start with loads, verified as it
// goes by ver (nil: judged at its end).
func (t *telemetry) driving(start time.Time, loads []topology.Load, ver *verifier) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start, t.loads, t.ver = start, loads, ver
}

// shared returns the server to serve the control API on addr beside the
// metrics, when they name the same address; nil otherwise.
func (t *telemetry) shared(addr string) *metrics.Server {
	if t == nil || t.srv == nil || addr == "" || addr != t.asked && addr != t.bound {
		return nil
	}
	return t.srv
}

// close pushes the last figures and stops serving, after the closing
// hook.
func (t *telemetry) close() {
	if t != nil {
		stopMetrics(t.srv, t.push, t.closing)
	}
}

// figures are the run's figures as they stand.
func (t *telemetry) figures() metrics.Run {
	t.mu.Lock()
	start, loads, ver := t.start, t.loads, t.ver
	t.mu.Unlock()
	l := t.rt.Ledger()
	tot := l.Totals()
	f := metrics.Run{
		Requests: tot.Requests, Hops: tot.Hops,
		SpansEnded: tot.SpansEnded, SpansExported: tot.SpansExported, ExportFailed: tot.ExportFailed, ExportRetries: tot.ExportRetries,
		ExportFailures: l.ExportFailures(), QueueCapacity: t.capacity, Faults: t.rt.FaultWindows(),
	}
	if !start.IsZero() {
		f.RequestsAsked = asked(loads, time.Since(start))
	}
	if ver != nil {
		ver.figures(&f)
	}
	f.QueueSpans = max(0, f.SpansEnded-f.SpansExported-f.ExportFailed-f.SpansDropped)
	return f
}

// asked returns the requests loads call for in their first elapsed, at
// their rates; -1 when one goes flat out (asks for no rate).
func asked(loads []topology.Load, elapsed time.Duration) float64 {
	n := 0.0
	for _, l := range loads {
		if l.Rate.Freq <= 0 {
			return -1
		}
		per := l.Rate.Per
		if per == 0 {
			per = time.Second
		}
		d := elapsed
		if l.Duration > 0 {
			d = min(d, l.Duration)
		}
		from, s := float64(l.Rate.Freq)/per.Seconds(), d.Seconds()
		hits := from * s
		if l.Rate.Ramp && l.Duration > 0 {
			to := float64(l.Rate.To) / per.Seconds()
			hits += (to - from) / l.Duration.Seconds() * s * s / 2
		}
		if l.Requests > 0 {
			hits = min(hits, float64(l.Requests))
		}
		n += hits
	}
	return n
}

// figures adds what v has judged so far to f.
func (v *verifier) figures(f *metrics.Run) {
	v.mu.Lock()
	defer v.mu.Unlock()
	f.Verified = true
	f.SpansVerified = v.series.Spans()
	f.SpansDropped, _, f.SpansMissing = v.series.Lost()
	f.EdgeBreaks = edgeBreaks(v.stream.Verdicts())
}

// edgeBreaks sums the propagation check's findings by edge.
func edgeBreaks(verdicts []assert.Verdict) []metrics.EdgeBreaks {
	var out []metrics.EdgeBreaks
	index := make(map[[2]string]int)
	for _, v := range verdicts {
		if v.Check != string(topology.ExpectPropagation) {
			continue
		}
		for _, f := range v.Findings {
			if f.From == "" || f.To == "" {
				continue
			}
			k := [2]string{f.From, f.To}
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, metrics.EdgeBreaks{From: f.From, To: f.To})
			}
			out[i].Hops += f.Count
		}
	}
	return out
}
