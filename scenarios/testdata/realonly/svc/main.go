// Command svc is one service of a small real application, instrumented by
// its own team with the OpenTelemetry SDK (configured from the standard
// OTEL_* variables, otelhttp on both sides), for tests whose topology is
// made only of services tracerig does not run. One binary plays every role:
//
//	SVC_LISTEN   host:port to serve on
//	SVC_ROUTE    the route it serves, e.g. "GET /checkout"
//	SVC_CALLS    the URLs it calls, in order, for every request, comma-separated
//	SVC_DROP_CONTEXT  when set, its outgoing requests carry no trace context
//	                  (a broken client instrumentation): its callees start
//	                  traces of their own
//
// It answers 502 when a call fails, and serves GET /healthz.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exp, err := otlptracegrpc.New(ctx) // endpoint and insecure from OTEL_EXPORTER_OTLP_*
	if err != nil {
		return fmt.Errorf("open exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithFromEnv())
	if err != nil {
		return fmt.Errorf("build resource: %w", err)
	}
	// A synchronous exporter: every span is in the backend before the
	// request it belongs to is answered.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	defer tp.Shutdown(context.Background())
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	var topts []otelhttp.Option
	if os.Getenv("SVC_DROP_CONTEXT") != "" {
		topts = append(topts, otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()))
	}
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport, topts...), Timeout: 5 * time.Second}
	var calls []string
	if c := os.Getenv("SVC_CALLS"); c != "" {
		calls = strings.Split(c, ",")
	}
	route := os.Getenv("SVC_ROUTE")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	mux.Handle(route, otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, u := range calls {
			if err := call(r.Context(), client, u); err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
		}
	}), route))
	lis, err := net.Listen("tcp", os.Getenv("SVC_LISTEN"))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// call sends GET u.
func call(ctx context.Context, client *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("call %s: %w", u, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", u, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("call %s: answered %d", u, resp.StatusCode)
	}
	return nil
}
