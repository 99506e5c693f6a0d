package otlpexport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/mem"

	"github.com/tracerig/tracerig/internal/rawcodec"
)

var (
	errShutdown      = errors.New("exporter is shut down")
	errExportTimeout = errors.New("exporter export timeout")
)

// An Exporter is a sdktrace.SpanExporter that sends spans over OTLP
// (gRPC or HTTP) through a Client it does not own. Its methods may be
// called concurrently.
type Exporter struct {
	client   *Client
	timeout  time.Duration
	retry    otlptracegrpc.RetryConfig
	onRetry  func(spans int, err error)
	callOpts []grpc.CallOption
	blocks   *blockCache

	// mu is held for reading by each export and for writing by Shutdown,
	// which so waits for the exports in progress.
	mu      sync.RWMutex
	stopped atomic.Bool
	// stopCtx is canceled by Shutdown, canceling the exports in progress
	// when Shutdown's context ends before they do.
	stopCtx  context.Context
	stopFunc context.CancelFunc
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// New returns an exporter that sends through c (which it never closes).
// Its export timeout is c's configured Timeout, when above 0, unless
// WithTimeout sets another.
func New(c *Client, opts ...Option) *Exporter {
	cfg := config{timeout: defaultTimeout, retry: defaultRetry}
	if c.cfg.Timeout > 0 {
		cfg.timeout = c.cfg.Timeout
	}
	for _, o := range opts {
		o(&cfg)
	}
	callOpts := []grpc.CallOption{grpc.ForceCodecV2(rawcodec.Codec{})}
	if c.cfg.Compression == gzip.Name {
		callOpts = append(callOpts, grpc.UseCompressor(gzip.Name))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Exporter{
		client:   c,
		timeout:  cfg.timeout,
		retry:    cfg.retry,
		onRetry:  cfg.onRetry,
		callOpts: callOpts,
		blocks:   newBlockCache(),
		stopCtx:  ctx,
		stopFunc: cancel,
	}
}

// ExportSpans sends spans in one ExportTraceServiceRequest, retrying as
// configured. It sends nothing when there is no span (nil spans are
// skipped). A partial success, when the receiver rejects some spans, is
// returned as an error, as otlptracegrpc returns it. After Shutdown it
// returns an error.
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	enc := encoders.Get().(*encoder)
	defer func() {
		enc.release()
		encoders.Put(enc)
	}()
	if !enc.group(spans) {
		return nil
	}

	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.stopped.Load() {
		return fmt.Errorf("otlpexport: %w", errShutdown)
	}

	bp := buffers.Get(0)
	b, off := enc.encode(*bp, spans, e.blocks)
	*bp = b
	if len(b)-off > maxRequestSize {
		buffers.Put(bp)
		return fmt.Errorf("otlpexport: request message too large: exceeded %d bytes", maxRequestSize)
	}
	root := mem.NewBuffer(bp, &buffers)
	req := rawcodec.Buffer{Buf: root.Slice(off, len(b))}
	root.Free()
	defer req.Free()

	ctx, cancel := e.exportContext(ctx)
	defer cancel()
	var resp response
	var onRetry func(error)
	if e.onRetry != nil {
		onRetry = func(err error) { e.onRetry(len(spans), err) }
	}
	err := e.send(ctx, &req, &resp, onRetry)
	if err != nil {
		return fmt.Errorf("otlpexport: %w", err)
	}
	if resp.rejectedSpans != 0 || resp.errorMessage != "" {
		// As otlptracegrpc: the export is not retried, and its error says
		// how many spans the receiver rejected.
		return fmt.Errorf("otlpexport: %w", partialSuccess{rejected: resp.rejectedSpans, message: resp.errorMessage})
	}
	return nil
}

// send sends req, retrying as configured, and decodes the response into
// resp.
func (e *Exporter) send(ctx context.Context, req *rawcodec.Buffer, resp *response, onRetry func(error)) error {
	if h := e.client.http; h != nil {
		body := req.Buf
		if h.gzip {
			var err error
			if body, err = compress(req.Bytes()); err != nil {
				return err
			}
			defer body.Free()
		}
		return withRetry(ctx, e.retry, onRetry, func(ctx context.Context) error {
			return h.post(ctx, body, resp)
		})
	}
	ctx = e.client.outgoing(ctx)
	return withRetry(ctx, e.retry, onRetry, func(ctx context.Context) error {
		return e.client.conn.Invoke(ctx, rawcodec.TraceExportMethod, req, resp, e.callOpts...)
	})
}

// exportContext returns the context of one export: parent bounded by the
// timeout, and canceled when a Shutdown gives up waiting.
func (e *Exporter) exportContext(parent context.Context) (context.Context, context.CancelFunc) {
	var (
		ctx    context.Context
		cancel context.CancelFunc
	)
	if e.timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(parent, e.timeout, errExportTimeout)
	} else {
		ctx, cancel = context.WithCancel(parent)
	}
	stop := context.AfterFunc(e.stopCtx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// Shutdown stops the exporter: it waits for the exports in progress, or,
// if ctx ends first, cancels them and returns ctx's error. Later exports
// fail. It does not close the connection. Calling it again does nothing.
func (e *Exporter) Shutdown(ctx context.Context) error {
	if e.stopped.Load() {
		return nil
	}
	err := ctx.Err()
	acquired := make(chan struct{})
	go func() {
		e.mu.Lock()
		close(acquired)
	}()
	select {
	case <-ctx.Done():
		e.stopFunc()
		err = ctx.Err()
		<-acquired
	case <-acquired:
	}
	defer e.mu.Unlock()
	if e.stopped.Swap(true) {
		return nil
	}
	e.stopFunc()
	return err
}
