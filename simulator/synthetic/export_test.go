package synthetic

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracerig/tracerig/fixtures/embedded"
)

// expectedSpans is the span count of traces [0, traces).
func expectedSpans(g *Generator, traces uint64) int64 {
	want := int64(0)
	for seq := range traces {
		_, n := g.Expect(seq)
		want += int64(n)
	}
	return want
}

func startBackend(t *testing.T) *embedded.Backend {
	t.Helper()
	b := embedded.New()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
	return b
}

// TestRunEmbeddedBackend exports to the embedded backend over each
// protocol and endpoint form: every span is delivered, and the backend
// holds exactly the traces and spans sent, each trace complete.
func TestRunEmbeddedBackend(t *testing.T) {
	g, err := ForScenario(openScenario(t, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	const traces = 3000
	want := expectedSpans(g, traces)
	for _, tc := range []struct {
		name     string
		protocol Protocol
		endpoint func(b *embedded.Backend) string
	}{
		{"grpc", ProtocolGRPC, (*embedded.Backend).GRPCAddr},
		{"http host:port", ProtocolHTTP, (*embedded.Backend).HTTPAddr},
		{"http URL", ProtocolHTTP, func(b *embedded.Backend) string { return "http://" + b.HTTPAddr() + "/v1/traces" }},
		{"http URL without path", ProtocolHTTP, func(b *embedded.Backend) string { return "http://" + b.HTTPAddr() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startBackend(t)
			st, err := g.Run(context.Background(), RunOptions{Protocol: tc.protocol, Endpoint: tc.endpoint(b),
				MaxTraces: traces, Workers: 3, Conns: 2, Batch: 300})
			if err != nil {
				t.Fatal(err)
			}
			bs := b.Stats()
			if st.Traces != traces || st.Sent != want || st.Delivered != want || st.Undelivered() != 0 || st.Retries != 0 {
				t.Fatalf("stats %+v, want %d spans in %d traces delivered", st, want, traces)
			}
			if bs.Spans != want || bs.Traces != traces || bs.Rejected != 0 || bs.Requests != st.Requests {
				t.Fatalf("backend holds %+v; sent %d spans in %d traces, %d requests", bs, want, traces, st.Requests)
			}
			for _, seq := range []uint64{0, 1, traces / 2, traces - 1} {
				id, n := g.Expect(seq)
				if got := len(b.Trace(id)); got != n {
					t.Fatalf("trace %d: backend holds %d spans, want %d", seq, got, n)
				}
			}
		})
	}
}

// otlpResponse encodes an ExportTraceServiceResponse, with a partial
// success when rejected > 0.
func otlpResponse(t *testing.T, rejected int64, msg string) []byte {
	t.Helper()
	r := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		r.PartialSuccess().SetRejectedSpans(rejected)
		r.PartialSuccess().SetErrorMessage(msg)
	}
	b, err := r.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeSink answers each OTLP/HTTP export with the answer for its attempt
// number (0-based; past the end, the last), checking what it is sent.
type fakeSink struct {
	t        *testing.T
	answers  []func(w http.ResponseWriter, spans int)
	attempts atomic.Int64
	mu       sync.Mutex
	at       []time.Time
}

func (f *fakeSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.attempts.Add(1) - 1)
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	req := ptraceotlp.NewExportRequest()
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
		err != nil || req.UnmarshalProto(body) != nil {
		f.t.Errorf("got %s %s (%s), %d bytes: %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), len(body), err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.answers[min(n, len(f.answers)-1)](w, req.Traces().SpanCount())
}

// TestRunHTTPAnswers exports one batch to a sink answering as the
// OTLP/HTTP specification allows, and checks how each answer is counted
// and whether it is retried.
func TestRunHTTPAnswers(t *testing.T) {
	g, err := ForScenario(openScenario(t, "quickstart"))
	if err != nil {
		t.Fatal(err)
	}
	ok := func(w http.ResponseWriter, _ int) {
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(otlpResponse(t, 0, ""))
	}
	status := func(code int, retryAfter string, body []byte) func(http.ResponseWriter, int) {
		return func(w http.ResponseWriter, _ int) {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.WriteHeader(code)
			w.Write(body)
		}
	}
	rpcStatus := func(msg string) []byte {
		b, err := proto.Marshal(&spb.Status{Code: int32(codes.InvalidArgument), Message: msg})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const traces = 20 // one batch
	spans := expectedSpans(g, traces)
	for _, tc := range []struct {
		name    string
		retries int
		answers []func(http.ResponseWriter, int)
		// what the run counts
		delivered, rejected, failed, retried int64
		attempts                             int64
		minGap                               time.Duration // between the first two attempts
		firstErr                             string
	}{
		{name: "ok", retries: 3, answers: []func(http.ResponseWriter, int){ok},
			delivered: spans, attempts: 1},
		{name: "empty 200", retries: 3, answers: []func(http.ResponseWriter, int){status(http.StatusOK, "", nil)},
			delivered: spans, attempts: 1},
		{name: "partial success", retries: 3, answers: []func(http.ResponseWriter, int){func(w http.ResponseWriter, n int) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.Write(otlpResponse(t, 7, "store full"))
		}}, delivered: spans - 7, rejected: 7, attempts: 1, firstErr: "rejected: store full"},
		{name: "503 Retry-After then ok", retries: 3,
			answers:   []func(http.ResponseWriter, int){status(http.StatusServiceUnavailable, "1", rpcStatus("busy")), ok},
			delivered: spans, retried: 1, attempts: 2, minGap: time.Second},
		{name: "429 then 502 then ok", retries: 3,
			answers: []func(http.ResponseWriter, int){status(http.StatusTooManyRequests, "", nil),
				status(http.StatusBadGateway, "", []byte("upstream gone")), ok},
			delivered: spans, retried: 2, attempts: 3, minGap: retryBase / 2},
		{name: "503 without retries", retries: 0,
			answers: []func(http.ResponseWriter, int){status(http.StatusServiceUnavailable, "1", nil)},
			failed:  spans, attempts: 1, firstErr: "http 503 Service Unavailable (retry after 1s)"},
		{name: "503 until retries run out", retries: 2,
			answers: []func(http.ResponseWriter, int){status(http.StatusServiceUnavailable, "", nil)},
			failed:  spans, retried: 2, attempts: 3, firstErr: "http 503 Service Unavailable"},
		{name: "Retry-After too long", retries: 3,
			answers: []func(http.ResponseWriter, int){status(http.StatusTooManyRequests, "3600", nil)},
			failed:  spans, attempts: 1, firstErr: "http 429 Too Many Requests (retry after 1h0m0s)"},
		{name: "400 is not retried", retries: 3,
			answers: []func(http.ResponseWriter, int){status(http.StatusBadRequest, "", rpcStatus("bad span"))},
			failed:  spans, attempts: 1, firstErr: "http 400 Bad Request: bad span"},
		{name: "500 is not retried", retries: 3,
			answers: []func(http.ResponseWriter, int){status(http.StatusInternalServerError, "", nil)},
			failed:  spans, attempts: 1, firstErr: "http 500 Internal Server Error"},
		{name: "unreadable 200", retries: 3,
			answers:  []func(http.ResponseWriter, int){status(http.StatusOK, "", []byte{0xff, 0xff})},
			rejected: spans, attempts: 1, firstErr: "unreadable export response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &fakeSink{t: t, answers: tc.answers}
			srv := httptest.NewServer(sink)
			defer srv.Close()
			st, err := g.Run(context.Background(), RunOptions{Protocol: ProtocolHTTP, Endpoint: srv.URL,
				MaxTraces: traces, Workers: 1, Conns: 1, Batch: 1 << 20, Retries: tc.retries})
			if err != nil {
				t.Fatal(err)
			}
			if st.Sent != spans || st.Delivered != tc.delivered || st.Rejected != tc.rejected || st.Failed != tc.failed ||
				st.Retries != tc.retried || st.Requests != 1 || sink.attempts.Load() != tc.attempts {
				t.Fatalf("stats %+v, sink saw %d attempts; want delivered %d rejected %d failed %d of %d, %d retries, %d attempts",
					st, sink.attempts.Load(), tc.delivered, tc.rejected, tc.failed, spans, tc.retried, tc.attempts)
			}
			if st.Sent != st.Delivered+st.Undelivered() {
				t.Fatalf("spans unaccounted for: %+v", st)
			}
			if (tc.failed > 0) != (st.FailedReq == 1) {
				t.Fatalf("failed requests %d", st.FailedReq)
			}
			if !strings.HasPrefix(st.FirstErr, tc.firstErr) || (tc.firstErr == "") != (st.FirstErr == "") {
				t.Fatalf("first error %q, want %q", st.FirstErr, tc.firstErr)
			}
			if tc.minGap > 0 {
				if gap := sink.at[1].Sub(sink.at[0]); gap < tc.minGap {
					t.Fatalf("retried after %v, want at least %v", gap, tc.minGap)
				}
			}
		})
	}
}

// flakyGRPC fails the first `fail` exports with err, then accepts.
type flakyGRPC struct {
	ptraceotlp.UnimplementedGRPCServer
	fail     int64
	err      error
	attempts atomic.Int64
}

func (f *flakyGRPC) Export(_ context.Context, _ ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	if f.attempts.Add(1) <= f.fail {
		return ptraceotlp.NewExportResponse(), f.err
	}
	return ptraceotlp.NewExportResponse(), nil
}

// TestRunGRPCRetries: the gRPC path retries what the OTLP specification
// calls transient, as the HTTP path does.
func TestRunGRPCRetries(t *testing.T) {
	g, err := ForScenario(openScenario(t, "quickstart"))
	if err != nil {
		t.Fatal(err)
	}
	exhausted := status.New(codes.ResourceExhausted, "slow down")
	withInfo, err := exhausted.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(200 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	const traces = 20
	spans := expectedSpans(g, traces)
	for _, tc := range []struct {
		name              string
		fail              int64
		err               error
		delivered, failed int64
		retried           int64
	}{
		{"unavailable", 2, status.Error(codes.Unavailable, "restarting"), spans, 0, 2},
		{"resource exhausted with RetryInfo", 1, withInfo.Err(), spans, 0, 1},
		{"resource exhausted without RetryInfo", 1, exhausted.Err(), 0, spans, 0},
		{"invalid argument", 1, status.Error(codes.InvalidArgument, "bad"), 0, spans, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := grpc.NewServer()
			sink := &flakyGRPC{fail: tc.fail, err: tc.err}
			ptraceotlp.RegisterGRPCServer(srv, sink)
			addr := serve(t, srv)
			st, err := g.Run(context.Background(), RunOptions{Endpoint: addr, MaxTraces: traces, Workers: 1, Conns: 1,
				Batch: 1 << 20, Retries: 3})
			if err != nil {
				t.Fatal(err)
			}
			if st.Delivered != tc.delivered || st.Failed != tc.failed || st.Retries != tc.retried || st.Sent != spans {
				t.Fatalf("stats %+v; want delivered %d failed %d of %d, %d retries", st, tc.delivered, tc.failed, spans, tc.retried)
			}
		})
	}
}

// TestRunSamples: the samples cover the run, add up to its totals, and
// show a sink that answers slowly as a full queue and a rate not reached.
func TestRunSamples(t *testing.T) {
	g, err := ForScenario(openScenario(t, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(50 * time.Millisecond)
	}))
	defer slow.Close()
	b := startBackend(t)
	for _, tc := range []struct {
		name     string
		endpoint string
		rate     float64
		// slow: the queue is full most of the time and the rate is not
		// reached; otherwise it is.
		slow bool
	}{
		{"paced", b.HTTPAddr(), 20000, false},
		{"slow sink", slow.URL, 1e6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := g.Run(context.Background(), RunOptions{Protocol: ProtocolHTTP, Endpoint: tc.endpoint, Duration: 1200 * time.Millisecond,
				Rate: tc.rate, Workers: 1, Conns: 1, Batch: 200, SampleEvery: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			// One sample per 200ms of the run, the last one shorter; the
			// run may outlast its load while the last exports finish.
			if want := int(math.Ceil(float64(st.Elapsed) / float64(200*time.Millisecond))); st.Elapsed < 1200*time.Millisecond ||
				len(st.Samples) < want-1 || len(st.Samples) > want+1 {
				t.Fatalf("%d samples in %v: %+v", len(st.Samples), st.Elapsed, st.Samples)
			}
			var sum Sample
			for i, s := range st.Samples {
				if i < len(st.Samples)-1 && (s.Interval < 100*time.Millisecond || s.Interval > 400*time.Millisecond) {
					t.Errorf("sample %d lasts %v", i, s.Interval)
				}
				sum.Built += s.Built
				sum.Delivered += s.Delivered
				sum.Failed += s.Failed
				sum.Rejected += s.Rejected
				sum.Requests += s.Requests
				sum.Interval += s.Interval
			}
			if sum.Built != st.Sent || sum.Delivered != st.Delivered || sum.Failed != st.Failed || sum.Rejected != st.Rejected ||
				sum.Requests != st.Requests || sum.Interval != st.Elapsed || st.Samples[len(st.Samples)-1].At != st.Elapsed {
				t.Fatalf("samples add up to %+v, stats %+v", sum, st)
			}
			achieved := float64(st.Delivered) / st.Elapsed.Seconds()
			if st.Undelivered() != 0 || st.QueueCap != 1 || st.Workers != 1 {
				t.Fatalf("stats %+v", st)
			}
			if tc.slow {
				if achieved > tc.rate/10 || st.QueueFull < 0.5 || st.Busy < 0.5 || st.ExportLatency < 50*time.Millisecond {
					t.Fatalf("slow sink: achieved %.0f spans/s, queue full %.2f, busy %.2f, latency %v", achieved, st.QueueFull, st.Busy, st.ExportLatency)
				}
				return
			}
			if achieved < tc.rate*0.9 || achieved > tc.rate*1.2 || st.QueueFull > 0.2 {
				t.Fatalf("paced: achieved %.0f spans/s of %.0f, queue full %.2f", achieved, tc.rate, st.QueueFull)
			}
		})
	}
}

func TestHTTPTracesURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces", ""},
		{"localhost:4318", "http://localhost:4318/v1/traces", ""},
		{"http://127.0.0.1:4318", "http://127.0.0.1:4318/v1/traces", ""},
		{"http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces", ""},
		{"http://127.0.0.1:4318/custom/traces", "http://127.0.0.1:4318/custom/traces", ""},
		{"127.0.0.1", "", "want host:port or an http:// URL"},
		{"https://127.0.0.1:4318", "https://127.0.0.1:4318/v1/traces", ""},
		{"ftp://127.0.0.1:4318", "", "want an http:// or https:// URL"},
		{"http:///v1/traces", "", "has no host"},
	} {
		got, err := HTTPTracesURL(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("HTTPTracesURL(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestRunBadOptions(t *testing.T) {
	g, err := ForScenario(openScenario(t, "quickstart"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []RunOptions{
		{Protocol: "udp", Endpoint: "127.0.0.1:1"},
		{Protocol: ProtocolHTTP, Endpoint: "no-port"},
	} {
		if _, err := g.Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
