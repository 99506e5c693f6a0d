package otlpexport

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"google.golang.org/grpc/mem"

	"github.com/tracerig/tracerig/internal/rawcodec"
)

// Preflight sends one export request without spans, once, and returns the
// endpoint's refusal, if any: it proves that the endpoint takes the
// connection, the TLS settings and the credentials before a run relies on
// them. It waits at most the Client's timeout (or ctx).
func (c *Client) Preflight(ctx context.Context) error {
	e := New(c, WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	defer e.Shutdown(context.Background())
	ctx, cancel := e.exportContext(ctx)
	defer cancel()
	req := rawcodec.Buffer{Buf: mem.SliceBuffer(nil)}
	var resp response
	if err := e.send(ctx, &req, &resp, nil); err != nil {
		return fmt.Errorf("otlpexport: %w", err)
	}
	return nil
}
