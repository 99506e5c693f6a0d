package otlpexport

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// fastRetry retries after a millisecond or two, for at most a second.
var fastRetry = otlptracegrpc.RetryConfig{
	Enabled:         true,
	InitialInterval: time.Millisecond,
	MaxInterval:     2 * time.Millisecond,
	MaxElapsedTime:  time.Second,
}

func oneSpan() []sdktrace.ReadOnlySpan {
	return tracetest.SpanStubs{{Name: "span", Resource: resCheckout, InstrumentationScope: scopeHTTP}}.Snapshots()
}

// failing answers the first n calls with err, and accepts the next ones.
func failing(n int, err error) handlerFunc {
	return func(_ context.Context, call int, _ []byte) ([]byte, error) {
		if call <= n {
			return nil, err
		}
		return nil, nil
	}
}

func withRetryInfo(code codes.Code, delay time.Duration) error {
	st, err := status.New(code, "slow down").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// exportResult is what one export did.
type exportResult struct {
	err     error
	calls   int
	elapsed time.Duration
}

// exportWith exports one span through a new exporter on a new receiver
// answering with handle.
func exportWith(t *testing.T, handle handlerFunc, reference bool, timeout time.Duration, rc otlptracegrpc.RetryConfig) exportResult {
	t.Helper()
	srv := startServer(t, handle)
	conn := srv.dial(t)
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	if reference {
		ref, err := otlptracegrpc.New(ctx, otlptracegrpc.WithGRPCConn(conn.conn),
			otlptracegrpc.WithTimeout(timeout), otlptracegrpc.WithRetry(rc))
		if err != nil {
			t.Fatal(err)
		}
		exp = ref
	} else {
		exp = New(conn, WithTimeout(timeout), WithRetry(rc))
	}
	start := time.Now()
	err := exp.ExportSpans(ctx, oneSpan())
	r := exportResult{err: err, calls: srv.callCount(), elapsed: time.Since(start)}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	return r
}

// innerMessage is an export error's message without the exporter's
// prefix.
func innerMessage(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	for _, p := range []string{"traces export: ", "otlpexport: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}

// TestRetry runs each case through otlptracegrpc and through an Exporter:
// both must make the same calls and fail the same way.
func TestRetry(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "down")
	cases := []struct {
		name    string
		handle  handlerFunc
		timeout time.Duration
		retry   otlptracegrpc.RetryConfig
		calls   int        // 0: at least 2
		code    codes.Code // of the error, codes.OK for none
		anyCode bool       // an error of whatever code
		message string     // in the error
		// minElapsed is a lower bound of the export's duration.
		minElapsed time.Duration
		// sameMessage says whether the error messages (without the
		// exporters' prefixes) are the same.
		sameMessage bool
	}{
		{
			name: "unavailable twice", handle: failing(2, unavailable),
			timeout: 10 * time.Second, retry: fastRetry, calls: 3, code: codes.OK, sameMessage: true,
		},
		{
			name: "resource exhausted", handle: failing(1, status.Error(codes.ResourceExhausted, "full")),
			timeout: 10 * time.Second, retry: fastRetry, calls: 1, code: codes.ResourceExhausted, sameMessage: true,
		},
		{
			name: "resource exhausted with retry info", handle: failing(1, withRetryInfo(codes.ResourceExhausted, 60*time.Millisecond)),
			timeout: 10 * time.Second, retry: fastRetry, calls: 2, code: codes.OK, minElapsed: 60 * time.Millisecond, sameMessage: true,
		},
		{
			name: "unavailable with retry info", handle: failing(1, withRetryInfo(codes.Unavailable, 60*time.Millisecond)),
			timeout: 10 * time.Second, retry: fastRetry, calls: 2, code: codes.OK, minElapsed: 60 * time.Millisecond, sameMessage: true,
		},
		{
			name: "invalid argument", handle: failing(1, status.Error(codes.InvalidArgument, "bad")),
			timeout: 10 * time.Second, retry: fastRetry, calls: 1, code: codes.InvalidArgument, sameMessage: true,
		},
		{
			name: "max elapsed time", handle: failing(1000, unavailable), timeout: 10 * time.Second,
			retry: otlptracegrpc.RetryConfig{
				Enabled: true, InitialInterval: 5 * time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsedTime: 60 * time.Millisecond,
			},
			anyCode: true, message: "max retry time", minElapsed: 60 * time.Millisecond,
		},
		{
			name: "throttled beyond max elapsed time", handle: failing(1000, withRetryInfo(codes.ResourceExhausted, time.Hour)),
			timeout: 10 * time.Second, retry: fastRetry, calls: 1, code: codes.ResourceExhausted,
			message: "max retry time would elapse", sameMessage: true,
		},
		{
			name: "timeout", handle: failing(1000, unavailable), timeout: 80 * time.Millisecond,
			retry: otlptracegrpc.RetryConfig{
				Enabled: true, InitialInterval: 10 * time.Millisecond, MaxInterval: 10 * time.Millisecond, MaxElapsedTime: time.Minute,
			},
			anyCode: true, message: "exporter export timeout", minElapsed: 80 * time.Millisecond,
		},
		{
			name: "timeout of a slow receiver",
			handle: func(ctx context.Context, _ int, _ []byte) ([]byte, error) {
				<-ctx.Done()
				return nil, ctx.Err()
			},
			timeout: 50 * time.Millisecond, retry: fastRetry, calls: 1, code: codes.DeadlineExceeded,
			// The description of the status depends on whether the
			// client's deadline or the stream's reset comes first.
			message: "exporter export timeout: rpc error: code = DeadlineExceeded", minElapsed: 50 * time.Millisecond,
		},
		{
			name: "retry disabled", handle: failing(1000, unavailable), timeout: 10 * time.Second,
			retry: otlptracegrpc.RetryConfig{Enabled: false, InitialInterval: time.Millisecond},
			calls: 1, code: codes.Unavailable, sameMessage: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := exportWith(t, tc.handle, true, tc.timeout, tc.retry)
			got := exportWith(t, tc.handle, false, tc.timeout, tc.retry)
			for _, r := range []struct {
				name string
				exportResult
			}{{"otlptracegrpc", ref}, {"otlpexport", got}} {
				if tc.calls > 0 && r.calls != tc.calls {
					t.Errorf("%s: %d calls, want %d", r.name, r.calls, tc.calls)
				}
				if tc.calls == 0 && r.calls < 2 {
					t.Errorf("%s: %d calls, want retries", r.name, r.calls)
				}
				if tc.anyCode {
					if r.err == nil {
						t.Errorf("%s: no error", r.name)
					}
				} else if c := status.Code(r.err); (r.err == nil) != (tc.code == codes.OK) || c != tc.code && r.err != nil {
					t.Errorf("%s: error %v, want code %v", r.name, r.err, tc.code)
				}
				if tc.message != "" && (r.err == nil || !strings.Contains(r.err.Error(), tc.message)) {
					t.Errorf("%s: error %v, want it to mention %q", r.name, r.err, tc.message)
				}
				if r.elapsed < tc.minElapsed {
					t.Errorf("%s: took %v, want at least %v", r.name, r.elapsed, tc.minElapsed)
				}
			}
			if got.err != nil && !strings.HasPrefix(got.err.Error(), "otlpexport: ") {
				t.Errorf("error %q is not prefixed with the package name", got.err)
			}
			if tc.sameMessage && innerMessage(ref.err) != innerMessage(got.err) {
				t.Errorf("error %q, otlptracegrpc's is %q", got.err, ref.err)
			}
		})
	}
}

func TestRetryableCodes(t *testing.T) {
	retryableCodes := map[codes.Code]bool{
		codes.Canceled: true, codes.DeadlineExceeded: true, codes.Aborted: true,
		codes.OutOfRange: true, codes.Unavailable: true, codes.DataLoss: true,
	}
	for c := codes.OK + 1; c <= codes.Unauthenticated; c++ {
		ok, d := retryable(status.Error(c, "x"))
		if ok != retryableCodes[c] || d != 0 {
			t.Errorf("%v: retryable %v, %v", c, ok, d)
		}
		ok, d = retryable(withRetryInfo(c, time.Second))
		want := retryableCodes[c] || c == codes.ResourceExhausted
		if ok != want || (want && d != time.Second) {
			t.Errorf("%v with RetryInfo: retryable %v, %v", c, ok, d)
		}
	}
	if ok, _ := retryable(context.Canceled); ok {
		t.Errorf("a context error that is no status is retryable")
	}
}

// TestRetryBackoff checks the intervals between retries: exponential from
// InitialInterval, randomized by ±50%, capped by MaxInterval.
func TestRetryBackoff(t *testing.T) {
	var calls []time.Time
	rc := otlptracegrpc.RetryConfig{
		Enabled: true, InitialInterval: 20 * time.Millisecond, MaxInterval: 40 * time.Millisecond, MaxElapsedTime: time.Minute,
	}
	err := withRetry(context.Background(), rc, nil, func(context.Context) error {
		calls = append(calls, time.Now())
		if len(calls) < 5 {
			return status.Error(codes.Unavailable, "down")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Base intervals 20, 30, 40, 40 ms; each is randomized to [0.5, 1.5]
	// of it.
	for i, base := range []time.Duration{20, 30, 40, 40} {
		base *= time.Millisecond
		d := calls[i+1].Sub(calls[i])
		if d < base/2 || d > base*3/2+50*time.Millisecond {
			t.Errorf("interval %d: %v, want %v ± 50%%", i, d, base)
		}
	}
}

func TestRetryCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := withRetry(ctx, fastRetry, nil, func(context.Context) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return status.Error(codes.Unavailable, "down")
	})
	if calls != 2 || err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) || status.Code(err) != codes.Unavailable {
		t.Errorf("%d calls, error %v", calls, err)
	}
}

// TestRetryHook: the hook hears of every retry, with the batch's size and
// the failure, and of nothing when the first try succeeds.
func TestRetryHook(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fails int
	}{{"first try", 0}, {"two retries", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, failing(tc.fails, status.Error(codes.Unavailable, "away")))
			var (
				mu    sync.Mutex
				heard []string
			)
			exp := New(srv.dial(t), WithRetry(fastRetry), WithRetryHook(func(spans int, err error) {
				mu.Lock()
				defer mu.Unlock()
				heard = append(heard, fmt.Sprintf("%d %s", spans, status.Code(err)))
			}))
			spans := append(oneSpan(), oneSpan()...)
			if err := exp.ExportSpans(t.Context(), spans); err != nil {
				t.Fatal(err)
			}
			_ = exp.Shutdown(t.Context())
			want := slices.Repeat([]string{"2 Unavailable"}, tc.fails)
			if !slices.Equal(heard, want) {
				t.Errorf("hook heard %q, want %q", heard, want)
			}
			if srv.callCount() != tc.fails+1 {
				t.Errorf("%d calls, want %d", srv.callCount(), tc.fails+1)
			}
		})
	}
}
