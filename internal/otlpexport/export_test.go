package otlpexport

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// respond answers every call with resp.
func respond(resp []byte) handlerFunc {
	return func(context.Context, int, []byte) ([]byte, error) { return resp, nil }
}

func partialSuccessResponse(t *testing.T, rejected int64, msg string) []byte {
	t.Helper()
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{
		PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: rejected, ErrorMessage: msg},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPartialSuccess(t *testing.T) {
	withUnknown := partialSuccessResponse(t, 3, "3 spans are too old")
	withUnknown = protowire.AppendTag(withUnknown, 99, protowire.BytesType)
	withUnknown = protowire.AppendBytes(withUnknown, []byte("future"))
	withUnknown = protowire.AppendTag(withUnknown, 98, protowire.Fixed32Type)
	withUnknown = protowire.AppendFixed32(withUnknown, 7)

	cases := []struct {
		name string
		resp []byte
		want string // the error handled, "" for none
	}{
		{"rejected spans and a message", partialSuccessResponse(t, 3, "3 spans are too old"),
			"OTLP partial success: 3 spans are too old (3 spans rejected)"},
		{"unknown fields", withUnknown, "OTLP partial success: 3 spans are too old (3 spans rejected)"},
		{"rejected spans only", partialSuccessResponse(t, 2, ""), "OTLP partial success: empty message (2 spans rejected)"},
		{"message only", partialSuccessResponse(t, 0, "look"), "OTLP partial success: look (0 spans rejected)"},
		{"empty partial success", partialSuccessResponse(t, 0, ""), ""},
		{"empty response", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, respond(tc.resp))
			conn := srv.dial(t)
			ctx := context.Background()

			exp := New(conn)
			err := exp.ExportSpans(ctx, oneSpan())
			_ = exp.Shutdown(ctx)
			if innerMessage(err) != tc.want {
				t.Errorf("ExportSpans: %v, want %q", err, tc.want)
			}
			if tc.want != "" && srv.callCount() != 1 {
				t.Errorf("%d calls: a partial success is not retried", srv.callCount())
			}

			// otlptracegrpc v1.47.0 returns the same error from ExportSpans.
			ref, err := otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(conn.conn))
			if err != nil {
				t.Fatal(err)
			}
			err = ref.ExportSpans(ctx, oneSpan())
			_ = ref.Shutdown(ctx)
			if innerMessage(err) != tc.want {
				t.Errorf("otlptracegrpc: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMalformedResponse(t *testing.T) {
	srv := startServer(t, respond([]byte{0x0a, 0x05, 0x08}))
	conn := srv.dial(t)
	exp := New(conn, WithRetry(fastRetry))
	err := exp.ExportSpans(context.Background(), oneSpan())
	if status.Code(err) != codes.Internal || srv.callCount() != 1 {
		t.Errorf("error %v after %d calls, want an Internal error after 1", err, srv.callCount())
	}
	_ = exp.Shutdown(context.Background())
}

func TestEmptyExport(t *testing.T) {
	srv := startServer(t, okHandler)
	exp := New(srv.dial(t))
	ctx := context.Background()
	for _, spans := range [][]sdktrace.ReadOnlySpan{nil, {}, {nil, nil}} {
		if err := exp.ExportSpans(ctx, spans); err != nil {
			t.Errorf("ExportSpans(%v): %v", spans, err)
		}
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// As otlptracegrpc: no spans is no error, even after Shutdown.
	if err := exp.ExportSpans(ctx, nil); err != nil {
		t.Errorf("ExportSpans(nil) after Shutdown: %v", err)
	}
	if n := srv.callCount(); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
}

func TestShutdown(t *testing.T) {
	srv := startServer(t, okHandler)
	conn := srv.dial(t)
	ctx := context.Background()
	exp := New(conn)
	if err := exp.ExportSpans(ctx, oneSpan()); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := exp.Shutdown(canceled); err != nil {
		t.Errorf("third Shutdown, canceled: %v", err)
	}

	err := exp.ExportSpans(ctx, oneSpan())
	if !errors.Is(err, errShutdown) || !strings.HasPrefix(err.Error(), "otlpexport: ") {
		t.Errorf("ExportSpans after Shutdown: %v", err)
	}
	if n := srv.callCount(); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}

	if s := conn.conn.GetState(); s == connectivity.Shutdown {
		t.Errorf("Shutdown closed the connection")
	}
	other := New(conn)
	if err := other.ExportSpans(ctx, oneSpan()); err != nil {
		t.Errorf("export on the connection after Shutdown: %v", err)
	}
	_ = other.Shutdown(ctx)
}

// blockingServer holds each call until release is closed or the client
// gives up; started is signalled on every call.
func blockingServer(t *testing.T) (srv *testServer, started chan struct{}, release chan struct{}) {
	started = make(chan struct{}, 10)
	release = make(chan struct{})
	srv = startServer(t, func(ctx context.Context, _ int, _ []byte) ([]byte, error) {
		started <- struct{}{}
		select {
		case <-release:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	return srv, started, release
}

func TestShutdownWaitsForExports(t *testing.T) {
	srv, started, release := blockingServer(t)
	exp := New(srv.dial(t))
	ctx := context.Background()

	exported := make(chan error, 1)
	go func() { exported <- exp.ExportSpans(ctx, oneSpan()) }()
	<-started

	shutdown := make(chan error, 1)
	go func() { shutdown <- exp.Shutdown(ctx) }()
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned %v during an export", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-exported; err != nil {
		t.Errorf("export: %v", err)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestShutdownTimeoutCancelsExports(t *testing.T) {
	srv, started, release := blockingServer(t)
	defer close(release)
	exp := New(srv.dial(t), WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	ctx := context.Background()

	exported := make(chan error, 1)
	go func() { exported <- exp.ExportSpans(ctx, oneSpan()) }()
	<-started

	sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := exp.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want the deadline", err)
	}
	if err := <-exported; status.Code(err) != codes.Canceled {
		t.Errorf("export: %v, want it canceled", err)
	}
}

func TestConcurrentExports(t *testing.T) {
	srv := startServer(t, okHandler)
	exp := New(srv.dial(t))
	ctx := context.Background()
	batches := [][]sdktrace.ReadOnlySpan{fixtureSpans(t), benchmarkSpans(64), oneSpan()}

	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if err := exp.ExportSpans(ctx, batches[i%len(batches)]); err != nil {
				t.Errorf("export: %v", err)
			}
		})
	}
	wg.Wait()
	_ = exp.Shutdown(ctx)

	var want [][]byte
	c := newBlockCache()
	for _, spans := range batches {
		enc := &encoder{index: make(map[groupKey]int32)}
		enc.group(spans)
		b, off := enc.encode(nil, spans, c)
		want = append(want, b[off:])
	}
	for _, req := range srv.requests() {
		found := false
		for _, w := range want {
			found = found || bytes.Equal(req, w)
		}
		if !found {
			t.Errorf("a request (%d bytes) is not one of the batches", len(req))
		}
	}
	if n := srv.callCount(); n != 12 {
		t.Errorf("%d calls, want 12", n)
	}
}

func TestRequestTooLarge(t *testing.T) {
	srv := startServer(t, okHandler)
	conn := srv.dial(t)
	ctx := context.Background()
	spans := tracetest.SpanStubs{{
		Name:       "huge",
		Attributes: []attribute.KeyValue{attribute.String("blob", strings.Repeat("x", maxRequestSize))},
	}}.Snapshots()

	exp := New(conn)
	err := exp.ExportSpans(ctx, spans)
	_ = exp.Shutdown(ctx)
	ref, rerr := otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(conn.conn))
	if rerr != nil {
		t.Fatal(rerr)
	}
	rerr = ref.ExportSpans(ctx, spans)
	_ = ref.Shutdown(ctx)

	if err == nil || innerMessage(err) != innerMessage(rerr) {
		t.Errorf("error %v, otlptracegrpc's is %v", err, rerr)
	}
	if n := srv.callCount(); n != 0 {
		t.Errorf("%d calls, want none", n)
	}
}
