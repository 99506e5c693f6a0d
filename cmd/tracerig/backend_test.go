package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

var (
	listeningRE = regexp.MustCompile(`^tracerig backend: OTLP/gRPC on (\S+), OTLP/HTTP and query API on http://(\S+)\n`)
	statsRE     = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  \d+ spans/s  (\d+) spans  (\d+) traces  (\d+) services: (.*)$`)
)

// TestBackend runs `tracerig backend` on free ports, exports a trace to it
// with the OpenTelemetry SDK, and sees it in the stats line and the query
// API; cancelling the context stops it with exit 0.
func TestBackend(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"backend", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--interval", "100ms"}, &stdout, &stderr)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()

	var m []string
	waitFor(t, 10*time.Second, "the listening line", func() bool {
		m = listeningRE.FindStringSubmatch(stdout.String())
		return m != nil
	})
	grpcAddr, httpAddr := m[1], m[2]
	if strings.HasSuffix(grpcAddr, ":0") || strings.HasSuffix(httpAddr, ":0") {
		t.Fatalf("printed the requested addresses, not the bound ones: %q", m[0])
	}

	const service = "cli-backend-test"
	exportSpans(t, grpcAddr, service, 3)

	var stats []string
	waitFor(t, 10*time.Second, "a stats line with the spans", func() bool {
		all := statsRE.FindAllStringSubmatch(stdout.String(), -1)
		if len(all) > 0 {
			stats = all[len(all)-1]
		}
		return stats != nil && stats[1] == "3"
	})
	if stats[2] != "1" || stats[3] != "1" || stats[4] != service {
		t.Errorf("stats line %q, want 3 spans, 1 trace, 1 service: %s", stats[0], service)
	}

	resp, err := http.Get("http://" + httpAddr + "/api/services")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Services []string }
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(body.Services, []string{service}) {
		t.Errorf("/api/services lists %q, want [%s]", body.Services, service)
	}

	cancel()
	stopped = true
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d after cancel, want 0\nstderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("backend did not stop within 10s of cancel")
	}
}

// exportSpans exports a trace of n spans for service to an OTLP/gRPC
// endpoint and shuts the SDK down, so that they have been sent on return.
func exportSpans(t *testing.T, endpoint, service string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithInsecure(), otlptracegrpc.WithEndpoint(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))),
		sdktrace.WithBatcher(exp),
	)
	tr := tp.Tracer("tracerig/cmd_test")
	rctx, root := tr.Start(ctx, "GET /root")
	for i := 1; i < n; i++ {
		_, sp := tr.Start(rctx, "child")
		sp.End()
	}
	root.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export spans: %v", err)
	}
}

// TestBackendPortTaken: a taken address is a runtime failure (3) whose
// message names the address and the flag to change.
func TestBackendPortTaken(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().String()
	tests := []struct {
		name string
		args []string
		flag string
	}{
		{"grpc", []string{"--grpc-addr", taken, "--http-addr", "127.0.0.1:0"}, "--grpc-addr"},
		{"http", []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", taken}, "--http-addr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := runCLIContext(t, ctx, append([]string{"backend"}, tt.args...)...)
			r.wantCode(t, exitRuntime)
			for _, want := range []string{"tracerig backend: listen otlp " + tt.name + " on " + taken, tt.flag} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
		})
	}
}
