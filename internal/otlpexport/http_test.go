package otlpexport

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/testcerts"
)

// httpAnswer answers the call-th request (from 1) once it is recorded;
// writing nothing answers 200 with no body.
type httpAnswer func(call int, w http.ResponseWriter)

func okHTTP(int, http.ResponseWriter) {}

// httpRequest is a request an httpServer received.
type httpRequest struct {
	proto  string
	host   string
	header http.Header
	body   []byte // as it arrived
	raw    []byte // decompressed
	spans  int    // decoded by the collector's pdata
}

// httpServer is an OTLP/HTTP receiver that decodes each request with the
// collector's pdata and keeps it.
type httpServer struct {
	srv    *httptest.Server
	answer httpAnswer

	mu   sync.Mutex
	reqs []httpRequest
}

// startHTTPServer starts a receiver answering with answer, on TLS (HTTP/2
// offered) with set's server certificate, or in plaintext when set is
// nil. It is stopped when the test ends.
func startHTTPServer(tb testing.TB, set *testcerts.Set, answer httpAnswer) *httpServer {
	tb.Helper()
	return startHTTPServerAuth(tb, set, false, answer)
}

// startHTTPServerAuth is startHTTPServer requiring a client certificate
// signed by set's CA when mtls is true.
func startHTTPServerAuth(tb testing.TB, set *testcerts.Set, mtls bool, answer httpAnswer) *httpServer {
	tb.Helper()
	s := &httpServer{answer: answer}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Refused handshakes are what some tests are about.
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if set == nil {
		s.srv.Start()
	} else {
		tc, err := set.ServerConfig(mtls)
		if err != nil {
			tb.Fatal(err)
		}
		s.srv.TLS = tc
		s.srv.EnableHTTP2 = true
		s.srv.StartTLS()
	}
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *httpServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != otlpconf.TracesPath || r.Header.Get("Content-Type") != contentTypeProtobuf {
		http.Error(w, "not an OTLP/HTTP protobuf export", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := httpRequest{proto: r.Proto, host: r.Host, header: r.Header.Clone(), body: body, raw: body}
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			req.raw, err = io.ReadAll(zr)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	decoded := ptraceotlp.NewExportRequest()
	if err := decoded.UnmarshalProto(req.raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.spans = decoded.Traces().SpanCount()
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	call := len(s.reqs)
	s.mu.Unlock()
	s.answer(call, w)
}

func (s *httpServer) addr() string { return s.srv.Listener.Addr().String() }

// url is the receiver's traces URL, by the name localhost.
func (s *httpServer) url(tb testing.TB) string {
	tb.Helper()
	scheme := "http"
	if s.srv.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + localhost(tb, s.addr()) + otlpconf.TracesPath
}

func (s *httpServer) requests() []httpRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// grpcRequest is the request an Exporter sends over gRPC for spans.
func grpcRequest(t *testing.T, n int) []byte {
	t.Helper()
	srv := startServer(t, okHandler)
	exp := New(srv.dial(t))
	if err := exp.ExportSpans(context.Background(), benchmarkSpans(n)); err != nil {
		t.Fatal(err)
	}
	_ = exp.Shutdown(context.Background())
	return srv.requests()[0]
}

func TestHTTPExport(t *testing.T) {
	const n = 64
	want := grpcRequest(t, n)
	set := makeCerts(t)
	headers := []otlpconf.Header{{Key: "x-api-key", Value: "s3cret"}, {Key: "Authorization", Value: "Bearer t0ken"}}
	tests := []struct {
		name        string
		tls         bool
		compression string
		proto       string
	}{
		{"plaintext", false, "", "HTTP/1.1"},
		{"plaintext, gzip", false, "gzip", "HTTP/1.1"},
		{"tls", true, "", "HTTP/2.0"},
		{"tls, gzip", true, "gzip", "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Headers: headers, Compression: tt.compression, Insecure: !tt.tls}
			var srv *httpServer
			if tt.tls {
				srv = startHTTPServer(t, set, okHTTP)
				cfg.CAFile = set.CAFile
			} else {
				srv = startHTTPServer(t, nil, okHTTP)
			}
			cfg.Endpoint = srv.url(t)
			exp := New(openClient(t, cfg), WithRetry(noRetry))
			ctx := context.Background()
			for range 2 {
				if err := exp.ExportSpans(ctx, benchmarkSpans(n)); err != nil {
					t.Fatal(err)
				}
			}
			_ = exp.Shutdown(ctx)
			reqs := srv.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			r := reqs[1]
			if !bytes.Equal(r.raw, want) || r.spans != n {
				t.Errorf("the request (%d spans) is not the one sent over gRPC (%d spans)", r.spans, n)
			}
			if r.proto != tt.proto {
				t.Errorf("sent over %s, want %s", r.proto, tt.proto)
			}
			if r.header.Get("X-Api-Key") != "s3cret" || r.header.Get("Authorization") != "Bearer t0ken" {
				t.Errorf("headers did not arrive: %v", r.header)
			}
			gzipped := r.header.Get("Content-Encoding") == "gzip"
			if gzipped != (tt.compression == "gzip") || gzipped == bytes.Equal(r.body, r.raw) {
				t.Errorf("Content-Encoding %q with compression %q", r.header.Get("Content-Encoding"), tt.compression)
			}
		})
	}
}

// statusBody is a google.rpc.Status with msg, encoded.
func statusBody(t *testing.T, code int32, msg string) []byte {
	t.Helper()
	b, err := proto.Marshal(&spb.Status{Code: code, Message: msg})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// answerFirst answers the first n requests with status, headers and body,
// and the next ones with 200.
func answerFirst(n, status int, contentType, retryAfter string, body []byte) httpAnswer {
	return func(call int, w http.ResponseWriter) {
		if call > n {
			return
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func TestHTTPStatus(t *testing.T) {
	slowRetry := otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond, MaxElapsedTime: time.Minute}
	html := []byte("<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n</body>\r\n</html>\r\n")
	tests := []struct {
		name    string
		answer  httpAnswer
		retry   otlptracegrpc.RetryConfig
		err     string // "" for none
		reason  string
		calls   int
		retried int
		after   time.Duration // the least time the export takes
	}{
		{"401 with a status", answerFirst(1, 401, contentTypeProtobuf, "", statusBody(t, 16, "missing token")), slowRetry,
			"otlpexport: http 401 Unauthorized: missing token", "http 401", 1, 0, 0},
		{"401 from nginx", answerFirst(1, 401, "text/html", "", html), slowRetry,
			"otlpexport: http 401 Unauthorized: <html> <head><title>401 Authorization Required</title></head> <body> <center><h1>401 Authorization Required</h1></center> </body> </html>", "http 401", 1, 0, 0},
		{"400, no body", answerFirst(1, 400, "", "", nil), slowRetry,
			"otlpexport: http 400 Bad Request", "http 400", 1, 0, 0},
		{"503 with Retry-After, then 200", answerFirst(1, 503, "", "1", nil), slowRetry, "", "", 2, 1, time.Second},
		{"429, 502, 504, then 200", func(call int, w http.ResponseWriter) {
			if call <= 3 {
				w.WriteHeader([]int{429, 502, 504}[call-1])
			}
		}, slowRetry, "", "", 4, 3, 0},
		{"503 asking for longer than the retries may take", answerFirst(1, 503, "text/plain", "120", []byte("busy\n")), slowRetry,
			"otlpexport: max retry time would elapse: http 503 Service Unavailable: busy", "http 503", 1, 0, 0},
		{"503 without retries", answerFirst(1, 503, "", "", nil), noRetry,
			"otlpexport: http 503 Service Unavailable", "http 503", 1, 0, 0},
		{"partial success", answerFirst(1, 200, contentTypeProtobuf, "", partialSuccessResponse(t, 2, "2 spans are too old")), slowRetry,
			"otlpexport: OTLP partial success: 2 spans are too old (2 spans rejected)", "partial success", 1, 0, 0},
		{"200 with a body of another type", answerFirst(1, 200, "application/json", "", []byte(`{"partialSuccess":{}}`)), slowRetry, "", "", 1, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startHTTPServer(t, nil, tt.answer)
			c := openClient(t, otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Endpoint: srv.url(t), Insecure: true})
			retried := 0
			exp := New(c, WithRetry(tt.retry), WithRetryHook(func(int, error) { retried++ }))
			start := time.Now()
			err := exp.ExportSpans(context.Background(), oneSpan())
			elapsed := time.Since(start)
			_ = exp.Shutdown(context.Background())
			if got := errorString(err); got != tt.err {
				t.Errorf("error %q, want %q", got, tt.err)
			}
			if got := Reason(err); got != tt.reason {
				t.Errorf("Reason %q, want %q", got, tt.reason)
			}
			if n := len(srv.requests()); n != tt.calls || retried != tt.retried {
				t.Errorf("%d requests, %d retried, want %d and %d", n, retried, tt.calls, tt.retried)
			}
			if elapsed < tt.after {
				t.Errorf("took %v, less than the %v asked for", elapsed, tt.after)
			}
		})
	}
}

func errorString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestHTTPTransportFailures(t *testing.T) {
	set := makeCerts(t)
	other := makeCerts(t)
	srv := startHTTPServer(t, set, okHTTP)
	plain := startHTTPServer(t, nil, okHTTP)
	mtls := startHTTPServerAuth(t, set, true, okHTTP)

	tests := []struct {
		name     string
		endpoint string
		insecure bool
		files    otlpconf.TLSFiles
		reason   string
		retried  bool
	}{
		{"unknown CA", srv.url(t), false, otlpconf.TLSFiles{CAFile: other.CAFile}, "tls: certificate signed by unknown authority", false},
		{"system roots", srv.url(t), false, otlpconf.TLSFiles{}, "tls: certificate signed by unknown authority", false},
		{"mtls", mtls.url(t), false, otlpconf.TLSFiles{CAFile: set.CAFile, CertFile: set.ClientCert, KeyFile: set.ClientKey}, "", false},
		{"mtls without a client certificate", mtls.url(t), false, otlpconf.TLSFiles{CAFile: set.CAFile}, "tls: client certificate required", false},
		{"tls to a plaintext endpoint", strings.Replace(plain.url(t), "http:", "https:", 1), false, otlpconf.TLSFiles{CAFile: set.CAFile}, "tls: endpoint is plaintext", false},
		{"connection refused", "http://127.0.0.1:1/v1/traces", true, otlpconf.TLSFiles{}, "connection refused", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openClient(t, otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Endpoint: tt.endpoint, Insecure: tt.insecure, TLSFiles: tt.files})
			retried := false
			exp := New(c, WithRetry(fastRetry), WithRetryHook(func(int, error) { retried = true }))
			err := exp.ExportSpans(context.Background(), oneSpan())
			_ = exp.Shutdown(context.Background())
			if got := Reason(err); got != tt.reason {
				t.Errorf("Reason(%v) = %q, want %q", err, got, tt.reason)
			}
			// Over TLS 1.3 the client learns that its certificate was
			// refused only after its handshake: a first request may fail
			// before the refusal arrives, and be retried.
			if retried != tt.retried && tt.reason != "tls: client certificate required" {
				t.Errorf("retried: %v, want %v", retried, tt.retried)
			}
		})
	}
}
