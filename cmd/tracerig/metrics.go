package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/report/metrics"
)

// addMetricsFlag defines --metrics on fs, for the metrics of whose (a
// run's, a blast's), its help ending with more.
func addMetricsFlag(fs *pflag.FlagSet, whose, more string) *string {
	return fs.String("metrics", "", "serve "+whose+" Prometheus metrics on `HOST:PORT`, at /metrics, while it runs (see the README's Metrics); loopback only without --allow-remote"+more)
}

// addMetricsOTLPFlag defines --metrics-otlp-endpoint on fs, for the
// metrics of whose.
func addMetricsOTLPFlag(fs *pflag.FlagSet, whose string) *string {
	return fs.String("metrics-otlp-endpoint", "", "push "+whose+" metrics over OTLP/gRPC to `ENDPOINT` every 10s and at the end: HOST:PORT (plaintext), or an http:// or https:// URL, with headers and certificates from the OTEL_EXPORTER_OTLP_* variables")
}

// metricsOTLPEndpoint checks --metrics-otlp-endpoint and returns it; ""
// without it.
func metricsOTLPEndpoint(endpoint string) (string, error) {
	if endpoint == "" {
		return "", nil
	}
	if _, err := metrics.OTLPEndpointURL(endpoint); err != nil {
		return "", usageError("--metrics-otlp-endpoint: %v", err)
	}
	return endpoint, nil
}

// metricsListenAddr checks --metrics (see listenAddr) and returns the
// address the metrics are served on; "" without --metrics.
func metricsListenAddr(fs *pflag.FlagSet, addr string, allowAny bool) (string, error) {
	if !fs.Changed("metrics") {
		return "", nil
	}
	a, err := listenAddr("metrics", addr, allowAny, "the metrics tell anyone who reaches them the run's services and figures")
	if err != nil {
		return "", &exitError{code: exitUsage, err: err}
	}
	return a, nil
}

// metricsReady returns the func that tells the user, on w, where the
// metrics are served.
func metricsReady(w io.Writer) func(addr string) {
	return func(addr string) {
		fmt.Fprintf(w, "metrics on http://%s/metrics\n", clientAddr(addr))
	}
}
