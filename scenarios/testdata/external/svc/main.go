// Command svc is a real, independently instrumented service that plays an
// external node in tracerig's end-to-end test: the OpenTelemetry SDK with
// W3C propagation, otelhttp on both sides, exporting over OTLP gRPC (the
// endpoint from OTEL_EXPORTER_OTLP_ENDPOINT). It serves GET /reserve, which
// calls GET /stock on the simulated service at $TRACERIG_ADDR_INVENTORY.
//
// Environment: EXT_LISTEN (host:port to serve on), EXT_SERVICE_NAME (its
// service.name), TRACERIG_ADDR_INVENTORY, the OTEL_EXPORTER_OTLP_* variables.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
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
	res := resource.NewSchemaless(attribute.String("service.name", os.Getenv("EXT_SERVICE_NAME")))
	// A synchronous exporter: every span is in the backend before the
	// request it belongs to is answered.
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	defer tp.Shutdown(context.Background())
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	inventory := os.Getenv("TRACERIG_ADDR_INVENTORY")
	client := &http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport), Timeout: 5 * time.Second}
	mux := http.NewServeMux()
	mux.Handle("GET /reserve", otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, inventory+"/stock", nil)
		if err == nil {
			var resp *http.Response
			if resp, err = client.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 400 {
					err = fmt.Errorf("inventory answered %d", resp.StatusCode)
				}
			}
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}), "GET /reserve"))
	srv := &http.Server{Addr: os.Getenv("EXT_LISTEN"), Handler: mux}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}
