package otlpexport

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// withRetry calls fn until it succeeds, fails with an error that is not
// transient, or rc gives up, waiting between calls as otlptracegrpc's retry
// package does: exponential backoff with cenkalti/backoff's randomization,
// or longer when the receiver asks for it (RetryInfo, Retry-After), and never beyond
// MaxElapsedTime or ctx. onRetry, when not nil, is called with the failure
// before each wait for a retry.
func withRetry(ctx context.Context, rc otlptracegrpc.RetryConfig, onRetry func(error), fn func(context.Context) error) error {
	if !rc.Enabled {
		return fn(ctx)
	}
	b := backoff.ExponentialBackOff{
		InitialInterval:     rc.InitialInterval,
		RandomizationFactor: backoff.DefaultRandomizationFactor,
		Multiplier:          backoff.DefaultMultiplier,
		MaxInterval:         rc.MaxInterval,
	}
	b.Reset()
	start := time.Now()
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		ok, throttle := retryable(err)
		if !ok {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
		if rc.MaxElapsedTime != 0 && time.Since(start) > rc.MaxElapsedTime {
			return fmt.Errorf("max retry time elapsed: %w", err)
		}
		delay := max(throttle, b.NextBackOff())
		if rc.MaxElapsedTime != 0 && time.Since(start)+throttle > rc.MaxElapsedTime {
			return fmt.Errorf("max retry time would elapse: %w", err)
		}
		if onRetry != nil {
			onRetry(err)
		}
		if werr := wait(ctx, delay); werr != nil {
			return fmt.Errorf("%w: %w", werr, err)
		}
	}
}

// wait blocks until delay elapses or ctx is done, and returns ctx's cause
// in the latter case. When both happen together the delay wins.
func wait(ctx context.Context, delay time.Duration) error {
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		select {
		case <-timer.C:
		default:
			return context.Cause(ctx)
		}
	case <-timer.C:
	}
	return nil
}

// retryable reports whether err is transient, and the delay the receiver
// asked for. An error of the HTTP transport is classified by
// httpRetryable; a gRPC error as otlptracegrpc classifies it: CANCELLED,
// DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are
// transient, and RESOURCE_EXHAUSTED is when it carries a RetryInfo.
func retryable(err error) (bool, time.Duration) {
	if ok, retry, delay := httpRetryable(err); ok {
		return retry, delay
	}
	s := status.Convert(err)
	switch s.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		_, d := throttleDelay(s)
		return true, d
	case codes.ResourceExhausted:
		return throttleDelay(s)
	}
	return false, 0
}

// throttleDelay reports whether s carries a RetryInfo, and its delay.
func throttleDelay(s *status.Status) (bool, time.Duration) {
	for _, d := range s.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return true, ri.RetryDelay.AsDuration()
		}
	}
	return false, 0
}
