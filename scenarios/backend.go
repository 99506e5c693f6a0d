package scenarios

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerig/tracerig/fixtures"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// sink is where a run's services export and, where possible, where the run
// reads spans back from.
type sink struct {
	endpoint string            // OTLP gRPC host:port
	embedded *fixtures.Backend // nil unless the embedded backend runs
	// noReadBack says why spans cannot be read back; "" when they can.
	noReadBack string
	conn       *grpc.ClientConn
}

// openSink starts or reaches the backend the run exports to.
func openSink(ctx context.Context, b topology.Backend, override string) (*sink, error) {
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
	}
	if s.embedded == nil {
		if err := probe(ctx, s.endpoint); err != nil {
			return nil, &RuntimeError{err}
		}
	}
	conn, err := grpc.NewClient(s.endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.close(ctx)
		return nil, &RuntimeError{fmt.Errorf("connect to otlp endpoint %s: %w", s.endpoint, err)}
	}
	s.conn = conn
	return s, nil
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
	if s.embedded != nil {
		if e := s.embedded.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	return err
}
