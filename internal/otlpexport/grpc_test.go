package otlpexport

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/testcerts"
)

// noRetry sends each export once.
var noRetry = otlptracegrpc.RetryConfig{Enabled: false}

// makeCerts makes a CA, a server certificate for localhost and names,
// and a client certificate, in a folder of the test's.
func makeCerts(tb testing.TB, names ...string) *testcerts.Set {
	tb.Helper()
	set, err := testcerts.New(tb.TempDir(), names...)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// startTLSServer starts a receiver on TLS with set's server certificate,
// requiring a client certificate signed by set's CA when mtls is true.
func startTLSServer(tb testing.TB, set *testcerts.Set, mtls bool, opts ...grpc.ServerOption) *testServer {
	tb.Helper()
	tc, err := set.ServerConfig(mtls)
	if err != nil {
		tb.Fatal(err)
	}
	return startServerWith(tb, okHandler, true, append(opts, grpc.Creds(credentials.NewTLS(tc)))...)
}

// localhost is srv's address by name, so that TLS verifies a DNS name.
func localhost(tb testing.TB, addr string) string {
	tb.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	return net.JoinHostPort("localhost", port)
}

// exportOnce exports one span through a new exporter on c, sent once.
func exportOnce(t *testing.T, c *Client) error {
	t.Helper()
	exp := New(c, WithRetry(noRetry))
	defer func() { _ = exp.Shutdown(context.Background()) }()
	return exp.ExportSpans(context.Background(), oneSpan())
}

func TestGRPCTLS(t *testing.T) {
	set := makeCerts(t)
	other := makeCerts(t)
	tlsSrv := startTLSServer(t, set, false)
	mtlsSrv := startTLSServer(t, set, true)
	withCA := otlpconf.TLSFiles{CAFile: set.CAFile}
	withCert := otlpconf.TLSFiles{CAFile: set.CAFile, CertFile: set.ClientCert, KeyFile: set.ClientKey}
	tests := []struct {
		name   string
		srv    *testServer
		files  otlpconf.TLSFiles
		reason string // "" for a successful export
	}{
		{"tls", tlsSrv, withCA, ""},
		{"tls, client certificate not asked for", tlsSrv, withCert, ""},
		{"mtls", mtlsSrv, withCert, ""},
		{"mtls without a client certificate", mtlsSrv, withCA, "tls: client certificate required"},
		{"unknown CA", tlsSrv, otlpconf.TLSFiles{CAFile: other.CAFile}, "tls: certificate signed by unknown authority"},
		{"system roots", tlsSrv, otlpconf.TLSFiles{}, "tls: certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.srv.callCount()
			c := openClient(t, otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: localhost(t, tt.srv.addr), TLSFiles: tt.files})
			err := exportOnce(t, c)
			if got := Reason(err); got != tt.reason {
				t.Fatalf("Reason(%v) = %q, want %q", err, got, tt.reason)
			}
			want := before
			if tt.reason == "" {
				want++
			}
			if n := tt.srv.callCount(); n != want {
				t.Errorf("%d calls received, want %d", n-before, want-before)
			}
		})
	}
}

// requireKey answers Unauthenticated to a call without the metadata
// x-api-key: secret.
func requireKey(secret string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		if v := md.Get("x-api-key"); len(v) != 1 || v[0] != secret {
			return status.Error(codes.Unauthenticated, "missing or wrong x-api-key")
		}
		return handler(srv, ss)
	}
}

func TestGRPCHeaders(t *testing.T) {
	const secret = "s3cret=="
	set := makeCerts(t)
	srv := startTLSServer(t, set, false, grpc.StreamInterceptor(requireKey(secret)))
	tests := []struct {
		name    string
		headers []otlpconf.Header
		reason  string
	}{
		{"the key", []otlpconf.Header{{Key: "x-api-key", Value: secret}}, ""},
		{"the key in capitals, and another", []otlpconf.Header{{Key: "X-Api-Key", Value: secret}, {Key: "x-tenant", Value: "a"}}, ""},
		{"no key", nil, "grpc Unauthenticated"},
		{"a wrong key", []otlpconf.Header{{Key: "x-api-key", Value: "guess"}}, "grpc Unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openClient(t, otlpconf.Config{
				Protocol: otlpconf.GRPC, Endpoint: localhost(t, srv.addr),
				TLSFiles: otlpconf.TLSFiles{CAFile: set.CAFile}, Headers: tt.headers,
			})
			err := exportOnce(t, c)
			if got := Reason(err); got != tt.reason {
				t.Fatalf("Reason(%v) = %q, want %q", err, got, tt.reason)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the header's value: %v", err)
			}
		})
	}
}

// compressionStats records how the receiver's requests arrived.
type compressionStats struct {
	mu          sync.Mutex
	compression []string
	compressed  []bool
}

func (s *compressionStats) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context {
	return ctx
}

func (s *compressionStats) HandleRPC(_ context.Context, st stats.RPCStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st := st.(type) {
	case *stats.InHeader:
		s.compression = append(s.compression, st.Compression)
	case *stats.InPayload:
		s.compressed = append(s.compressed, st.CompressedLength < st.Length)
	}
}

func (s *compressionStats) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (s *compressionStats) HandleConn(context.Context, stats.ConnStats) {}

func TestGRPCGzip(t *testing.T) {
	st := &compressionStats{}
	srv := startServerWith(t, okHandler, true, grpc.StatsHandler(st))
	spans := benchmarkSpans(64)
	ctx := context.Background()
	for _, compression := range []string{"gzip", ""} {
		c := openClient(t, otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: srv.addr, Insecure: true, Compression: compression})
		exp := New(c, WithRetry(noRetry))
		if err := exp.ExportSpans(ctx, spans); err != nil {
			t.Fatalf("compression %q: %v", compression, err)
		}
		_ = exp.Shutdown(ctx)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if got := strings.Join(st.compression, ","); got != "gzip," {
		t.Errorf("requests arrived with grpc-encoding %q, want gzip then none", got)
	}
	if len(st.compressed) != 2 || !st.compressed[0] || st.compressed[1] {
		t.Errorf("requests arrived compressed: %v, want [true false]", st.compressed)
	}
	reqs := srv.requests()
	if len(reqs) != 2 || !bytes.Equal(reqs[0], reqs[1]) {
		t.Errorf("the gzipped request is not the plain one once decompressed")
	}
}

func TestDialAddr(t *testing.T) {
	// The endpoint's name resolves nowhere: only the proxy reaches it.
	const name = "otlp.tracerig.test"
	set := makeCerts(t, name)
	files := otlpconf.TLSFiles{CAFile: set.CAFile}
	t.Run("grpc", func(t *testing.T) {
		srv := startTLSServer(t, set, false)
		proxy := startProxy(t, srv.addr)
		c := openClient(t, otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: name + ":4317", TLSFiles: files},
			WithDialAddr(proxy.addr()))
		if err := exportOnce(t, c); err != nil {
			t.Fatal(err)
		}
		if proxy.connections() == 0 || srv.callCount() != 1 {
			t.Errorf("%d connections through the proxy, %d calls received, want some and 1", proxy.connections(), srv.callCount())
		}
	})
	t.Run("http", func(t *testing.T) {
		srv := startHTTPServer(t, set, okHTTP)
		proxy := startProxy(t, srv.addr())
		c := openClient(t, otlpconf.Config{Protocol: otlpconf.HTTPProtobuf, Endpoint: "https://" + name + ":4318/v1/traces", TLSFiles: files},
			WithDialAddr(proxy.addr()))
		if err := exportOnce(t, c); err != nil {
			t.Fatal(err)
		}
		reqs := srv.requests()
		if proxy.connections() == 0 || len(reqs) != 1 {
			t.Fatalf("%d connections through the proxy, %d requests received, want some and 1", proxy.connections(), len(reqs))
		}
		if reqs[0].host != name+":4318" {
			t.Errorf("Host %q, want %q", reqs[0].host, name+":4318")
		}
	})
}
