package metrics

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	promBridge "go.opentelemetry.io/contrib/bridges/prometheus"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// PushEvery is how often a Pusher exports the metrics.
const PushEvery = 10 * time.Second

// Pusher exports the metrics of its collectors over OTLP/gRPC every
// PushEvery, with the same names, labels as attributes, counters as
// cumulative monotonic sums and gauges as gauges, and once more when it
// shuts down.
type Pusher struct {
	mp *sdkmetric.MeterProvider
}

// PushOTLP starts exporting the metrics of cs to endpoint: HOST:PORT
// (plaintext), or an http:// or https:// (TLS) URL. Headers, certificates
// and compression come from the OTEL_EXPORTER_OTLP_* variables, as the
// OpenTelemetry specification reads them (the _METRICS_ ones first).
func PushOTLP(ctx context.Context, endpoint string, every time.Duration, cs ...prometheus.Collector) (*Pusher, error) {
	reg := prometheus.NewRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics for OTLP: %w", err)
		}
	}
	u, err := OTLPEndpointURL(endpoint)
	if err != nil {
		return nil, err
	}
	exp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpointURL(u))
	if err != nil {
		return nil, fmt.Errorf("export metrics to %s: %w", redact(endpoint), err)
	}
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(every),
		sdkmetric.WithProducer(promBridge.NewMetricProducer(promBridge.WithGatherer(reg))))
	return &Pusher{mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}, nil
}

// OTLPEndpointURL returns the URL of a metrics endpoint given as HOST:PORT
// (plaintext: http://HOST:PORT) or as an http:// or https:// URL.
func OTLPEndpointURL(endpoint string) (string, error) {
	bad := fmt.Errorf("metrics endpoint %q: not HOST:PORT nor an http:// or https:// URL", redact(endpoint))
	if !strings.Contains(endpoint, "://") {
		if _, _, err := net.SplitHostPort(endpoint); err != nil {
			return "", bad
		}
		return "http://" + endpoint, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", bad
	}
	return endpoint, nil
}

// redact masks the credentials an endpoint may carry before its host
// (user:password@), so that no error shows them.
func redact(endpoint string) string {
	at := strings.LastIndexByte(endpoint, '@')
	if at < 0 {
		return endpoint
	}
	start := 0
	if i := strings.Index(endpoint, "://"); i >= 0 && i < at {
		start = i + 3
	}
	return endpoint[:start] + "***" + endpoint[at:]
}

// Shutdown exports the metrics once more and stops, within ctx.
func (p *Pusher) Shutdown(ctx context.Context) error {
	if err := p.mp.Shutdown(ctx); err != nil {
		return fmt.Errorf("export the last metrics over OTLP: %w", err)
	}
	return nil
}
