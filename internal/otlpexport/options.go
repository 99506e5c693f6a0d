package otlpexport

import (
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
)

// Defaults, those of otlptracegrpc.
const (
	defaultTimeout = 10 * time.Second
	// maxRequestSize is the largest request sent, as otlptracegrpc's
	// default WithMaxRequestSize.
	maxRequestSize = 64 << 20
)

var defaultRetry = otlptracegrpc.RetryConfig{
	Enabled:         true,
	InitialInterval: 5 * time.Second,
	MaxInterval:     30 * time.Second,
	MaxElapsedTime:  time.Minute,
}

type config struct {
	timeout time.Duration
	retry   otlptracegrpc.RetryConfig
	onRetry func(spans int, err error)
}

// An Option configures an Exporter.
type Option func(*config)

// WithTimeout bounds each ExportSpans call, retries included, as
// otlptracegrpc.WithTimeout does. A duration of 0 or less sets no bound
// beyond the caller's context. The default is 10 seconds.
func WithTimeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// WithRetry sets the policy for retrying an export that failed with a
// transient error, with the semantics of otlptracegrpc.WithRetry. The
// default is otlptracegrpc's: enabled, first retry after 5 seconds,
// intervals of at most 30 seconds, giving up after a minute.
func WithRetry(rc otlptracegrpc.RetryConfig) Option {
	return func(c *config) { c.retry = rc }
}

// WithRetryHook sets a function called each time an export is about to be
// sent again after a transient failure, with the number of spans in it and
// the failure: where a caller counts retries. It is called on the
// exporting goroutine and must not block.
func WithRetryHook(f func(spans int, err error)) Option {
	return func(c *config) { c.onRetry = f }
}
