// Command svc is a real, independently instrumented service, like a team
// would write one: the OpenTelemetry SDK configured from the standard
// OTEL_* variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
// OTEL_PROPAGATORS, OTEL_EXPORTER_OTLP_*), otelhttp on both sides. It
// serves GET /reserve, which calls GET /stock on the service at
// $INVENTORY_URL (or $TRACERIG_ADDR_INVENTORY), and GET /healthz.
//
// Environment: EXT_LISTEN (host:port to serve on, default :8080),
// EXT_SERVICE_NAME (its service.name when OTEL_SERVICE_NAME is unset),
// EXT_READY (a line printed once it listens), and the OTEL_* variables.
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
	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/contrib/propagators/jaeger"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
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
		return err
	}
	var attrs []attribute.KeyValue
	if os.Getenv("OTEL_SERVICE_NAME") == "" {
		attrs = append(attrs, attribute.String("service.name", os.Getenv("EXT_SERVICE_NAME")))
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithAttributes(attrs...))
	if err != nil {
		return err
	}
	// A synchronous exporter: every span is in the backend before the
	// request it belongs to is answered.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	defer tp.Shutdown(context.Background())
	otel.SetTracerProvider(tp)
	prop, err := propagators(os.Getenv("OTEL_PROPAGATORS"))
	if err != nil {
		return err
	}
	otel.SetTextMapPropagator(prop)

	inventory := os.Getenv("INVENTORY_URL")
	if inventory == "" {
		inventory = os.Getenv("TRACERIG_ADDR_INVENTORY")
	}
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport), Timeout: 5 * time.Second}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {})
	mux.Handle("GET /reserve", otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := reserve(r.Context(), client, inventory); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}), "GET /reserve"))
	addr := os.Getenv("EXT_LISTEN")
	if addr == "" {
		addr = ":8080"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready := os.Getenv("EXT_READY"); ready != "" {
		fmt.Println(ready)
	}
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// reserve calls GET /stock on inventory.
func reserve(ctx context.Context, client *http.Client, inventory string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inventory+"/stock", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("inventory answered %d", resp.StatusCode)
	}
	return nil
}

// propagators returns the propagators OTEL_PROPAGATORS names, as the
// OpenTelemetry specification defines the variable (default
// tracecontext,baggage).
func propagators(list string) (propagation.TextMapPropagator, error) {
	if list == "" {
		list = "tracecontext,baggage"
	}
	var out []propagation.TextMapPropagator
	for name := range strings.SplitSeq(list, ",") {
		switch strings.TrimSpace(name) {
		case "tracecontext":
			out = append(out, propagation.TraceContext{})
		case "baggage":
			out = append(out, propagation.Baggage{})
		case "b3":
			out = append(out, b3.New(b3.WithInjectEncoding(b3.B3SingleHeader)))
		case "b3multi":
			out = append(out, b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader)))
		case "jaeger":
			out = append(out, jaeger.Jaeger{})
		case "none":
		default:
			return nil, fmt.Errorf("OTEL_PROPAGATORS: unknown propagator %q", name)
		}
	}
	return propagation.NewCompositeTextMapPropagator(out...), nil
}
