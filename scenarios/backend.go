package scenarios

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
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
	// noReadBack says why spans cannot be read back; "" when they can.
	noReadBack string
	conn       *grpc.ClientConn
	pipe       *simulator.Pipe // between exporters and backend, for pipeline faults
}

// openSink starts or reaches the backend the run exports to. scenarioFile
// is the scenario's path ("" for one built in Go): a collector config is
// relative to its folder, and the collector binary is looked for above it.
func openSink(ctx context.Context, b topology.Backend, scenarioFile, override string) (*sink, error) {
	s := &sink{}
	switch {
	case override != "":
		s.endpoint = override
		s.noReadBack = fmt.Sprintf("spans were exported to %s (--otlp-endpoint), which tracerig cannot read back", override)
	case b.Type == topology.BackendOTLP:
		s.endpoint = b.Endpoint
		s.noReadBack = fmt.Sprintf("backend otlp at %s has no query API configured", b.Endpoint)
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
	if s.embedded == nil {
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

// quiet is how long the backend's span count must stand still before the
// run counts it settled. A collector holds each trace for its tail-sampling
// decision_wait and decides on a one-second tick, so behind one the count
// must stand still for twice the decision_wait (at least 1s) plus that tick.
func (s *sink) quiet() time.Duration {
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

// spans reads every span back, or nil when the backend cannot be read.
func (s *sink) spans() []record.Span {
	if s.embedded == nil {
		return nil
	}
	return s.embedded.Spans()
}

// count is how many spans the backend holds, or -1 when unknown.
func (s *sink) count() int64 {
	if s.embedded == nil {
		return -1
	}
	return s.embedded.Stats().Spans
}

func (s *sink) close(ctx context.Context) error {
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
	return err
}
