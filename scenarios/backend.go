package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/tracerig/tracerig/fixtures"
	"github.com/tracerig/tracerig/fixtures/collector"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/fixtures/tempo"
	"github.com/tracerig/tracerig/internal/httpclient"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// backend is a tracing backend as a run sees it: where the services export
// and where their spans are read back from. Its methods are safe for
// concurrent use. What only some backends have is an optional interface,
// checked where it matters: counter, evicter, sampler and arrival.Source.
type backend interface {
	// Name names the backend in the report: "embedded", "jaeger", …
	Name() string
	// Endpoint is the OTLP/gRPC host:port the services export to.
	Endpoint() string
	// Spans reads back the spans sent within [from, to]: by arrival time
	// where the backend records it; elsewhere (Jaeger, Tempo) those of the
	// traces with a span starting within it, so the caller widens the
	// range for skewed clocks.
	Spans(ctx context.Context, from, to time.Time) ([]record.Span, fixtures.ReadStats, error)
	// Shutdown stops what the run started for the backend and releases
	// what it holds.
	Shutdown(ctx context.Context) error
}

// counter is a backend that can tell cheaply how many spans it holds (the
// embedded store, in the process or in a container).
type counter interface {
	Count(ctx context.Context) (int64, error)
}

// evicter is a backend whose store keeps only its newest MaxTraces traces
// (Jaeger's memory store); MaxTraces is 0 when that size is unknown.
type evicter interface {
	MaxTraces() int
}

// sampler is a backend behind a stage that may drop spans, holding each
// trace for up to DecisionWait before it decides (the Collector).
type sampler interface {
	DecisionWait() time.Duration
}

// openBackend starts or reaches the backend the run exports to. scenarioFile
// is the scenario's path ("" for one built in Go): a collector config is
// relative to its folder, and the collector and Jaeger binaries are looked
// for above it. override is --otlp-endpoint. runID is the run's ID, which
// read-back from a shared backend asks for (see sharedBackend). addr is
// host:port of the export's endpoint for a backend tracerig does not start
// (override, or type otlp).
func openBackend(ctx context.Context, b topology.Backend, scenarioFile, override, runID, addr string, getenv func(string) string) (backend, error) {
	if override != "" {
		return reached(ctx, exportOnly{endpoint: addr,
			reason: fmt.Sprintf("spans were exported to %s (--otlp-endpoint), which tracerig cannot read back", override)})
	}
	switch b.Type {
	case topology.BackendOTLP:
		return openOTLP(ctx, b, runID, addr, getenv)
	case topology.BackendJaeger:
		return startJaeger(ctx, b, scenarioFile)
	case topology.BackendCollector:
		return startCollector(ctx, b, scenarioFile)
	default:
		store, err := startEmbedded(ctx)
		if err != nil {
			return nil, err
		}
		return store, nil
	}
}

// openOTLP reaches an otlp backend, read back through the query API it
// names, if any, with the query's TLS settings and credentials, asking it
// for the traces of run runID alone. endpoint is host:port of its OTLP
// receiver; getenv reads the query's credentials.
func openOTLP(ctx context.Context, b topology.Backend, runID, endpoint string, getenv func(string) string) (backend, error) {
	if b.Query.Type == "" {
		return reached(ctx, exportOnly{endpoint: endpoint,
			reason: fmt.Sprintf("backend otlp at %s has no query API configured (backend.query: {type: jaeger|tempo, url: ...})", endpoint)})
	}
	client, err := QueryClient(b.Query, getenv)
	if err != nil {
		return nil, &RuntimeError{fmt.Errorf("backend %s query at %s: %w", b.Query.Type, httpclient.Redact(b.Query.URL), err)}
	}
	if b.Query.Type == "tempo" {
		return reached(ctx, tempo.New(endpoint, b.Query.URL, tempo.WithHTTPClient(client), tempo.WithRunID(runID)))
	}
	return reached(ctx, jaeger.New(endpoint, b.Query.URL, jaeger.WithHTTPClient(client), jaeger.WithRunID(runID)))
}

// queryTimeout bounds each request to a query API.
const queryTimeout = 60 * time.Second

// QueryClient returns the HTTP client of q's query API: its TLS settings,
// and its headers and basic authentication expanded through getenv. An
// unset variable is an error naming the field; no value is ever quoted.
func QueryClient(q topology.BackendQuery, getenv func(string) string) (*http.Client, error) {
	headers, basic, err := q.Credentials(getenv)
	if err != nil {
		return nil, err
	}
	cfg := httpclient.Config{TLS: q.TLS.Files(), InsecureSkipVerify: q.TLS.InsecureSkipVerify, Headers: headers, Timeout: queryTimeout}
	if basic != nil {
		cfg.BasicAuth = &httpclient.BasicAuth{Username: basic.Username, Password: basic.Password}
	}
	return cfg.Client()
}

// reached returns b once something listens at its endpoint, so that a run
// fails before any load when nothing does.
func reached(ctx context.Context, b backend) (backend, error) {
	if err := probe(ctx, b.Endpoint()); err != nil {
		b.Shutdown(context.Background())
		return nil, &RuntimeError{err}
	}
	return b, nil
}

// startEmbedded starts the embedded backend.
func startEmbedded(ctx context.Context) (*embedded.Backend, error) {
	store := embedded.New()
	if err := store.Start(ctx); err != nil {
		return nil, &RuntimeError{fmt.Errorf("start embedded backend: %w", err)}
	}
	return store, nil
}

// startCollector starts the OpenTelemetry Collector with the scenario's
// config, exporting to the embedded backend. The binary is $TRACERIG_COLLECTOR
// or bin/otelcol-tracerig in the tracerig checkout above the scenario file or
// the working directory.
func startCollector(ctx context.Context, b topology.Backend, scenarioFile string) (backend, error) {
	store, err := startEmbedded(ctx)
	if err != nil {
		return nil, err
	}
	dir := scenarioDir(scenarioFile)
	config := b.Config
	if !filepath.IsAbs(config) {
		config = filepath.Join(dir, config)
	}
	bin, err := collector.Find(dir)
	if err == nil {
		var col *collector.Collector
		if col, err = collector.Start(ctx, bin, config, store.GRPCAddr()); err == nil {
			return behindCollector{Backend: store, col: col}, nil
		}
	}
	store.Shutdown(context.Background())
	return nil, &RuntimeError{fmt.Errorf("backend collector: %w", err)}
}

// behindCollector is the embedded backend behind an OpenTelemetry
// Collector: the services export to the collector, which exports to the
// backend, read back in the process.
type behindCollector struct {
	*embedded.Backend
	col *collector.Collector
}

// Name returns "collector".
func (b behindCollector) Name() string { return "collector" }

// Endpoint is the collector's OTLP receiver.
func (b behindCollector) Endpoint() string { return b.col.Endpoint() }

// DecisionWait is the longest decision_wait of the collector's tail
// sampling, 0 without it.
func (b behindCollector) DecisionWait() time.Duration { return b.col.DecisionWait() }

// Shutdown stops the collector, which flushes what it holds on SIGTERM,
// then the backend behind it.
func (b behindCollector) Shutdown(ctx context.Context) error {
	err := b.col.Shutdown(ctx)
	if e := b.Backend.Shutdown(ctx); err == nil {
		err = e
	}
	return err
}

// startJaeger starts Jaeger v2 with its in-memory store sized to
// b.MaxTraces (see sizeBackend). The binary is $TRACERIG_JAEGER or bin/jaeger
// in the tracerig checkout above the scenario file or the working directory.
func startJaeger(ctx context.Context, b topology.Backend, scenarioFile string) (backend, error) {
	bin, err := jaeger.Find(scenarioDir(scenarioFile))
	if err != nil {
		return nil, &RuntimeError{fmt.Errorf("backend jaeger: %w", err)}
	}
	maxTraces := b.MaxTraces
	if maxTraces <= 0 {
		maxTraces = jaeger.DefaultMaxTraces
	}
	j, err := jaeger.Start(ctx, bin, jaeger.WithMaxTraces(maxTraces))
	if err != nil {
		return nil, &RuntimeError{fmt.Errorf("backend jaeger did not come up: %w", err)}
	}
	return j, nil
}

// scenarioDir is the folder of the scenario file, "." for a scenario built
// in Go.
func scenarioDir(scenarioFile string) string {
	if scenarioFile == "" {
		return "."
	}
	return filepath.Dir(scenarioFile)
}

// exportOnly is an endpoint the run exports to but cannot read back:
// --otlp-endpoint, or an otlp backend without a query API.
type exportOnly struct {
	endpoint string
	reason   string // why spans cannot be read back
}

// Name returns "otlp".
func (e exportOnly) Name() string { return "otlp" }

// Endpoint is where the services export.
func (e exportOnly) Endpoint() string { return e.endpoint }

// Spans fails: nothing can be read back.
func (e exportOnly) Spans(context.Context, time.Time, time.Time) ([]record.Span, fixtures.ReadStats, error) {
	return nil, fixtures.ReadStats{}, errors.New(e.reason)
}

// Shutdown has nothing to stop.
func (e exportOnly) Shutdown(context.Context) error { return nil }

// probe fails fast, before any load, when nothing listens at endpoint.
func probe(ctx context.Context, endpoint string) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", endpoint)
	if err != nil {
		return fmt.Errorf("otlp backend at %s is unreachable: %w; start an OTLP gRPC receiver there (for instance `tracerig backend --grpc-addr %s`) or fix the endpoint", endpoint, err, endpoint)
	}
	return c.Close()
}

// minJaegerTraces is the least tracerig sizes Jaeger's store at.
const minJaegerTraces = jaeger.DefaultMaxTraces

// sizeBackend returns b with its Jaeger store sized when the scenario leaves
// it to tracerig: twice the traces the loads are expected to start (rate ×
// duration, or the request count, summed over loads), at least 100000. A
// load flat out (rate 0) for a duration cannot be foreseen and counts
// nothing; the eviction note then tells.
func sizeBackend(b topology.Backend, loads []topology.Load) topology.Backend {
	if b.Type != topology.BackendJaeger || b.MaxTraces > 0 {
		return b
	}
	b.MaxTraces = max(minJaegerTraces, 2*expectedTraces(loads))
	return b
}

// expectedTraces is how many traces the loads are expected to start.
func expectedTraces(loads []topology.Load) int {
	total := 0.0
	for _, l := range loads {
		switch {
		case l.Requests > 0:
			total += float64(l.Requests)
		case l.Duration > 0:
			perSec := l.Rate.PerSecond()
			if l.Rate.Ramp && l.Rate.Per > 0 {
				perSec = max(perSec, float64(l.Rate.To)/l.Rate.Per.Seconds())
			}
			total += perSec * l.Duration.Seconds()
		}
	}
	return int(math.Min(math.Ceil(total), math.MaxInt32))
}

// exportedTraces counts the distinct traces of the spans the exporters had
// acknowledged: what a backend had to store.
func exportedTraces(ended []record.Ended) int {
	seen := make(map[record.TraceID]struct{})
	for i := range ended {
		if ended[i].Export == record.ExportOK {
			seen[ended[i].Trace] = struct{}{}
		}
	}
	return len(seen)
}
