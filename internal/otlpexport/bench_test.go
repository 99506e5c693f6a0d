package otlpexport

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

// benchmarkSpans returns n HTTP server and client spans of one service,
// with the attributes of the HTTP semantic conventions.
func benchmarkSpans(n int) []sdktrace.ReadOnlySpan {
	rng := rand.New(rand.NewPCG(7, 7))
	res := resource.NewWithAttributes(schema126,
		attribute.String("service.name", "frontend"),
		attribute.String("service.version", "1.4.2"),
		attribute.String("service.instance.id", "frontend-7c9d8f6b5-x2x9q"),
		attribute.String("telemetry.sdk.language", "go"),
		attribute.String("telemetry.sdk.name", "opentelemetry"),
		attribute.String("telemetry.sdk.version", "1.47.0"),
		attribute.String("host.name", "node-3"),
	)
	scope := instrumentation.Scope{
		Name:    "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp",
		Version: "0.72.0",
	}
	routes := []string{"/api/cart", "/api/checkout", "/api/products/{id}", "/health"}
	methods := []string{"GET", "GET", "POST", "PUT"}
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	spans := make([]sdktrace.ReadOnlySpan, n)
	for i := range spans {
		var tid trace.TraceID
		var sid, pid trace.SpanID
		for j := range tid {
			tid[j] = byte(rng.Uint32())
		}
		for j := range sid {
			sid[j] = byte(rng.Uint32())
			pid[j] = byte(rng.Uint32())
		}
		route := routes[rng.IntN(len(routes))]
		method := methods[rng.IntN(len(methods))]
		status := []int{200, 200, 200, 201, 404, 503}[rng.IntN(6)]
		begin := start.Add(time.Duration(i) * time.Millisecond)
		stub := tracetest.SpanStub{
			Name: method + " " + route,
			SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
			}),
			StartTime:            begin,
			EndTime:              begin.Add(time.Duration(rng.IntN(50_000_000))),
			Resource:             res,
			InstrumentationScope: scope,
		}
		parent := trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled,
		})
		if i%2 == 0 {
			stub.SpanKind = trace.SpanKindServer
			stub.Parent = parent.WithRemote(true)
			stub.Attributes = []attribute.KeyValue{
				attribute.String("http.request.method", method),
				attribute.String("url.scheme", "http"),
				attribute.String("url.path", route),
				attribute.String("http.route", route),
				attribute.String("server.address", "frontend"),
				attribute.Int("server.port", 8080),
				attribute.String("network.protocol.version", "1.1"),
				attribute.String("network.peer.address", fmt.Sprintf("10.0.%d.%d", rng.IntN(256), rng.IntN(256))),
				attribute.Int("network.peer.port", 30000+rng.IntN(30000)),
				attribute.String("client.address", "10.0.0.1"),
				attribute.String("user_agent.original", "Go-http-client/1.1"),
				attribute.Int("http.response.status_code", status),
				attribute.Int("http.response.body.size", rng.IntN(10000)),
			}
			if status >= 500 {
				stub.Status = sdktrace.Status{Code: codes.Error}
			}
		} else {
			stub.SpanKind = trace.SpanKindClient
			stub.Parent = parent
			stub.Attributes = []attribute.KeyValue{
				attribute.String("http.request.method", method),
				attribute.String("url.full", "http://cart:8080"+route),
				attribute.String("server.address", "cart"),
				attribute.Int("server.port", 8080),
				attribute.String("network.protocol.version", "1.1"),
				attribute.String("network.peer.address", "10.0.3.7"),
				attribute.Int("network.peer.port", 8080),
				attribute.Int("http.response.status_code", status),
			}
			if status >= 400 {
				stub.Status = sdktrace.Status{Code: codes.Error, Description: fmt.Sprintf("HTTP %d", status)}
			}
		}
		spans[i] = stub.Snapshot()
	}
	return spans
}

func BenchmarkExport(b *testing.B) {
	spans := benchmarkSpans(512)
	srv := startServerKeeping(b, okHandler, false)
	conn := srv.dial(b)
	ctx := context.Background()

	run := func(b *testing.B, exp sdktrace.SpanExporter) {
		b.ReportAllocs()
		for b.Loop() {
			if err := exp.ExportSpans(ctx, spans); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
		if err := exp.Shutdown(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("otlptracegrpc", func(b *testing.B) {
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(conn.conn))
		if err != nil {
			b.Fatal(err)
		}
		run(b, exp)
	})
	b.Run("otlpexport", func(b *testing.B) {
		run(b, New(conn))
	})
}

// BenchmarkEncode is the encoding alone: what ExportSpans does before
// handing the request to gRPC.
func BenchmarkEncode(b *testing.B) {
	spans := benchmarkSpans(512)
	enc := &encoder{index: make(map[groupKey]int32)}
	c := newBlockCache()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		enc.group(spans)
		buf, _ = enc.encode(buf, spans, c)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
}

// BenchmarkExportHTTP is BenchmarkExport's otlpexport over OTLP/HTTP,
// plaintext, without and with gzip, to a receiver that reads and
// discards each request.
func BenchmarkExportHTTP(b *testing.B) {
	spans := benchmarkSpans(512)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, compression := range []string{"none", "gzip"} {
		b.Run(compression, func(b *testing.B) {
			cfg := otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Endpoint: srv.URL + otlpconf.TracesPath, Insecure: true}
			if compression == "gzip" {
				cfg.Compression = compression
			}
			exp := New(openClient(b, cfg))
			b.ReportAllocs()
			for b.Loop() {
				if err := exp.ExportSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
			if err := exp.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkExportGzip is BenchmarkExport's otlpexport over gRPC with gzip.
func BenchmarkExportGzip(b *testing.B) {
	spans := benchmarkSpans(512)
	srv := startServerKeeping(b, okHandler, false)
	exp := New(openClient(b, otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: srv.addr, Insecure: true, Compression: "gzip"}))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := exp.ExportSpans(ctx, spans); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
	if err := exp.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}
