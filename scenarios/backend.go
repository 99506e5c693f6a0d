package scenarios

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerig/tracerig/fixtures"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// sink is where a run's services export and, where possible, where the run
// reads spans back from.
type sink struct {
	endpoint string            // OTLP gRPC host:port
	embedded *fixtures.Backend // nil unless the embedded backend runs
	// collector is the OpenTelemetry Collector between the services and the
	// embedded backend, for backend type collector; nil otherwise.
	collector *fixtures.Collector
	// jaeger is the Jaeger v2 process the services export to, for backend
	// type jaeger; nil otherwise. Spans are read back through jq.
	jaeger *fixtures.Jaeger
	jq     *fixtures.JaegerQuery
	// jaegerMax is the size of Jaeger's store (process or container); 0
	// without Jaeger.
	jaegerMax int
	// tempo reads back an otlp backend through Tempo's HTTP API.
	tempo *fixtures.TempoReader
	// query reads back an embedded backend in another process (the
	// backend container of runtime containers); nil otherwise.
	query *fixtures.QueryClient
	// opened is when the sink was opened: read-back from Jaeger covers
	// spans starting from a minute before it (clocks may be skewed).
	opened time.Time
	// readMu guards the cached read-back: count polls it at most once a
	// second, spans reads afresh.
	readMu   sync.Mutex
	readAt   time.Time
	readN    int64
	readSpan []record.Span
	readErr  error
	// probe measures time until queryable on a backend that gives no
	// arrival times (Jaeger); probed is what it found, after stopProbe.
	probe      *fixtures.ArrivalProbe
	probeName  string // the backend probed
	probed     map[record.TraceID]map[record.SpanID]int64
	probePolls int
	// noReadBack says why spans cannot be read back; "" when they can.
	noReadBack string
	conn       *grpc.ClientConn
	pipe       *simulator.Pipe // between exporters and backend, for pipeline faults
}

// openSink starts or reaches the backend the run exports to. scenarioFile
// is the scenario's path ("" for one built in Go): a collector config is
// relative to its folder, and the collector binary is looked for above it.
func openSink(ctx context.Context, b topology.Backend, scenarioFile, override string) (*sink, error) {
	s := &sink{opened: time.Now()}
	switch {
	case override != "":
		s.endpoint = override
		s.noReadBack = fmt.Sprintf("spans were exported to %s (--otlp-endpoint), which tracerig cannot read back", override)
	case b.Type == topology.BackendOTLP:
		s.endpoint = b.Endpoint
		if s.endpoint == "" {
			var err error
			if s.endpoint, err = otlpEndpointFromEnv(); err != nil {
				return nil, &RuntimeError{err}
			}
		}
		switch b.Query.Type {
		case "jaeger":
			s.jq = fixtures.NewJaegerQuery(b.Query.URL)
		case "tempo":
			s.tempo = &fixtures.TempoReader{BaseURL: b.Query.URL}
		default:
			s.noReadBack = fmt.Sprintf("backend otlp at %s has no query API configured (backend.query: {type: jaeger|tempo, url: ...})", s.endpoint)
		}
	case b.Type == topology.BackendJaeger:
		if err := s.startJaeger(ctx, b, scenarioFile); err != nil {
			return nil, err
		}
		s.endpoint = s.jaeger.OTLPEndpoint()
	default:
		s.embedded = fixtures.NewBackend()
		if err := s.embedded.Start(ctx); err != nil {
			return nil, &RuntimeError{fmt.Errorf("start embedded backend: %w", err)}
		}
		s.endpoint = s.embedded.GRPCAddr()
		if b.Type == topology.BackendCollector {
			if err := s.startCollector(ctx, b, scenarioFile); err != nil {
				s.close(context.Background())
				return nil, err
			}
			s.endpoint = s.collector.Endpoint()
		}
	}
	if s.embedded == nil && s.jaeger == nil {
		if err := probe(ctx, s.endpoint); err != nil {
			return nil, &RuntimeError{err}
		}
	}
	return s, nil
}

// startCollector starts the OpenTelemetry Collector with the scenario's
// config, exporting to the embedded backend. The binary is $TRACERIG_COLLECTOR
// or bin/otelcol-tracerig in the tracerig checkout above the scenario file or
// the working directory.
func (s *sink) startCollector(ctx context.Context, b topology.Backend, scenarioFile string) error {
	dir := "."
	if scenarioFile != "" {
		dir = filepath.Dir(scenarioFile)
	}
	config := b.Config
	if !filepath.IsAbs(config) {
		config = filepath.Join(dir, config)
	}
	bin, err := fixtures.FindCollector(dir)
	if err != nil {
		return &RuntimeError{fmt.Errorf("backend collector: %w", err)}
	}
	if s.collector, err = fixtures.StartCollector(ctx, bin, config, s.embedded.GRPCAddr()); err != nil {
		return &RuntimeError{fmt.Errorf("backend collector: %w", err)}
	}
	return nil
}

// startJaeger starts Jaeger v2 with its in-memory store sized to
// b.MaxTraces (see sizeBackend). The binary is $TRACERIG_JAEGER or bin/jaeger
// in the tracerig checkout above the scenario file or the working directory.
func (s *sink) startJaeger(ctx context.Context, b topology.Backend, scenarioFile string) error {
	dir := "."
	if scenarioFile != "" {
		dir = filepath.Dir(scenarioFile)
	}
	bin, err := fixtures.FindJaeger(dir)
	if err != nil {
		return &RuntimeError{fmt.Errorf("backend jaeger: %w", err)}
	}
	maxTraces := b.MaxTraces
	if maxTraces <= 0 {
		maxTraces = fixtures.DefaultJaegerMaxTraces
	}
	if s.jaeger, err = fixtures.StartJaeger(ctx, bin, fixtures.WithMaxTraces(maxTraces)); err != nil {
		return &RuntimeError{fmt.Errorf("backend jaeger did not come up: %w", err)}
	}
	s.jq = s.jaeger.Query()
	s.jaegerMax = s.jaeger.MaxTraces()
	return nil
}

// minJaegerTraces is the least tracerig sizes Jaeger's store at.
const minJaegerTraces = fixtures.DefaultJaegerMaxTraces

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

// evicts reports whether Jaeger's store is smaller than the traces a run
// started, so that some were evicted (or are about to be).
func (s *sink) evicts(traces int) bool {
	return s.jaegerMax > 0 && traces > s.jaegerMax
}

// notes are what the report should say about the backend: for Jaeger, that
// its store evicted traces (the cause of loss, not the pipeline), and a
// read-back that failed. traces is how many distinct traces the services
// exported.
func (s *sink) notes(traces int) []string {
	if s.jaegerMax == 0 {
		return nil
	}
	var out []string
	if n := s.jaegerMax; traces > n {
		out = append(out, fmt.Sprintf("jaeger keeps only its newest %d traces; %d traces were started: %d traces evicted (raise backend.max-traces to keep them)",
			n, traces, traces-n))
	}
	s.readMu.Lock()
	if s.readErr != nil {
		out = append(out, fmt.Sprintf("jaeger read-back failed: %v", s.readErr))
	}
	s.readMu.Unlock()
	return out
}

// readJaeger reads every span back from Jaeger (or Tempo) and caches the
// result.
func (s *sink) readJaeger() {
	from := s.opened.Add(-time.Minute)
	to := time.Now().Add(time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var spans []record.Span
	var err error
	if s.tempo != nil {
		spans, err = s.tempo.Spans(ctx, from, to)
	} else {
		spans, _, err = s.jq.Spans(ctx, from, to)
	}
	s.readAt = time.Now()
	s.readErr = err
	if err == nil {
		s.readSpan = spans
		s.readN = int64(len(spans))
	}
}

// quiet is how long the backend's span count must stand still before the
// run counts it settled. A collector holds each trace for its tail-sampling
// decision_wait and decides on a one-second tick, so behind one the count
// must stand still for twice the decision_wait (at least 1s) plus that tick.
func (s *sink) quiet() time.Duration {
	if s.jq != nil || s.tempo != nil {
		// Read back once a second: two unchanged reads in a row.
		return 2 * time.Second
	}
	if s.collector == nil {
		return 100 * time.Millisecond
	}
	return 2*max(s.collector.DecisionWait(), time.Second) + time.Second
}

// connect opens the connection every exporter of the run shares, to the
// backend or to the pipe in front of it. It reconnects within a second of
// the backend coming back, so an outage costs what it lasts and no more.
func (s *sink) connect(target string) error {
	conn, err := grpc.NewClient(target,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}),
	)
	if err != nil {
		return &RuntimeError{fmt.Errorf("connect to otlp endpoint %s: %w", target, err)}
	}
	s.conn = conn
	return nil
}

// probe fails fast, before any load, when nothing listens at endpoint.
func probe(ctx context.Context, endpoint string) error {
	d := net.Dialer{Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", endpoint)
	if err != nil {
		return fmt.Errorf("otlp backend at %s is unreachable: %w; start an OTLP gRPC receiver there (for instance `tracerig backend --grpc-addr %s`) or fix the endpoint", endpoint, err, endpoint)
	}
	return c.Close()
}

// probeInterval is how often the arrival probe polls: the resolution of
// the times until queryable it measures.
const probeInterval = 200 * time.Millisecond

// startProbe starts measuring when spans become queryable, on a backend
// read through Jaeger's or Tempo's API, by following traces of the loads'
// entry services while the run goes on.
func (s *sink) startProbe(loads []topology.Load) {
	var src fixtures.ArrivalSource
	switch {
	case s.tempo != nil:
		src, s.probeName = s.tempo.Arrivals(), "tempo"
	case s.jq != nil:
		src, s.probeName = s.jq, "jaeger"
	default:
		return
	}
	var services []string
	for _, l := range loads {
		for _, t := range l.Targets {
			if !slices.Contains(services, t.Service) {
				services = append(services, t.Service)
			}
		}
	}
	s.probe = fixtures.StartArrivalProbe(src, fixtures.ArrivalProbeOptions{Services: services, Interval: probeInterval})
}

// stopProbe ends the probe; applyArrivals then gives its times to the spans
// read back.
func (s *sink) stopProbe() {
	if s.probe != nil {
		s.probed, s.probePolls = s.probe.Stop()
		s.probe = nil
	}
}

// applyArrivals sets the arrival times the probe measured on the spans read
// back and returns a note saying how they were measured ("" without a
// probe).
func (s *sink) applyArrivals(spans []record.Span) string {
	if s.probed == nil {
		return ""
	}
	n := fixtures.ApplyArrivals(spans, s.probed)
	return fmt.Sprintf("time until queryable measured on %d traces followed whole (of %d followed) by polling %s every %s (%d polls): the times are when a span was first returned, to within %s",
		n, len(s.probed), s.probeName, probeInterval, s.probePolls, probeInterval)
}

// spans reads every span back, or nil when the backend cannot be read.
func (s *sink) spans() []record.Span {
	if s.query != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		spans, err := s.query.Spans(ctx, 0)
		if err != nil {
			s.readMu.Lock()
			s.readErr = err
			s.readMu.Unlock()
		}
		return spans
	}
	if s.jq != nil || s.tempo != nil {
		s.readMu.Lock()
		defer s.readMu.Unlock()
		s.readJaeger()
		return s.readSpan
	}
	if s.embedded == nil {
		return nil
	}
	return s.embedded.Spans()
}

// count is how many spans the backend holds, or -1 when unknown.
func (s *sink) count() int64 {
	if s.query != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.readMu.Lock()
		defer s.readMu.Unlock()
		if n, err := s.query.Count(ctx); err == nil {
			s.readN = n
		}
		return s.readN
	}
	if s.jq != nil || s.tempo != nil {
		// Jaeger and Tempo have no cheap count: spans read back, at most once a second.
		s.readMu.Lock()
		defer s.readMu.Unlock()
		if time.Since(s.readAt) >= time.Second {
			s.readJaeger()
		}
		return s.readN
	}
	if s.embedded == nil {
		return -1
	}
	return s.embedded.Stats().Spans
}

func (s *sink) close(ctx context.Context) error {
	s.stopProbe()
	var err error
	if s.conn != nil {
		err = s.conn.Close()
	}
	if s.pipe != nil {
		s.pipe.Close()
	}
	if s.collector != nil {
		// Before the backend: the collector flushes what it holds on SIGTERM.
		if e := s.collector.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	if s.embedded != nil {
		if e := s.embedded.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	if s.jaeger != nil {
		s.jq.Close()
		if e := s.jaeger.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	return err
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

// otlpEndpointFromEnv returns host:port of the OTLP endpoint the standard
// variables name: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, then
// OTEL_EXPORTER_OTLP_ENDPOINT (a URL or host:port).
func otlpEndpointFromEnv() (string, error) {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		v := strings.TrimSpace(os.Getenv(name))
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err == nil && u.Host != "" {
			v = u.Host
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return "", fmt.Errorf("%s=%q is not host:port or a URL with a port", name, v)
		}
		return v, nil
	}
	return "", errors.New("backend otlp has no endpoint: set backend.endpoint, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT")
}
