package scenarios

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report/metrics"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// telemetry serves a run's metrics (Options.Metrics) from its start until
// its report is made. Its figures are read at each scrape from the ledger,
// the runtime's fault windows and the verifier, never counted apart.
type telemetry struct {
	srv *metrics.Server
	rt  *simulator.Runtime
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

// startTelemetry serves the metrics of rt, running topo, on addr; nil for
// addr "". ready, when set, is called with the address it listens on.
func startTelemetry(addr string, rt *simulator.Runtime, topo *topology.Topology, opts Options) (*telemetry, error) {
	if addr == "" {
		return nil, nil
	}
	t := &telemetry{rt: rt, asked: addr, closing: opts.metricsClosing}
	for _, s := range topo.Services {
		if !s.IsExternal() {
			t.capacity += rt.Instances(s.Name) * rt.QueueSize()
		}
	}
	srv, err := metrics.Listen(addr, metrics.NewRunCollector(t.figures))
	if err != nil {
		return nil, fmt.Errorf("%w; pick another --metrics address", err)
	}
	t.srv, t.bound = srv, srv.Addr()
	if opts.MetricsReady != nil {
		opts.MetricsReady(srv.Addr())
	}
	return t, nil
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
	if t == nil || addr == "" || addr != t.asked && addr != t.bound {
		return nil
	}
	return t.srv
}

// close stops serving, after the closing hook.
func (t *telemetry) close() {
	if t == nil {
		return
	}
	if t.closing != nil {
		t.closing(t.srv.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	t.srv.Close(ctx)
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
