package otlpexport

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/testcerts"
)

// TestPreflight: against a real TLS receiver wanting a header, a preflight
// passes with the right CA and header over both protocols, and fails with
// the reason otherwise.
func TestPreflight(t *testing.T) {
	certs, err := testcerts.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, proto := range []otlpconf.Protocol{otlpconf.GRPC, otlpconf.HTTPProtobuf} {
		endpoint := preflightReceiver(t, certs, proto)
		for _, tt := range []struct {
			name       string
			ca, header string
			want       string // Reason; "" for success
		}{
			{"ok", certs.CAFile, "s3cret", ""},
			{"wrong key", certs.CAFile, "nope", map[otlpconf.Protocol]string{otlpconf.GRPC: "grpc Unauthenticated", otlpconf.HTTPProtobuf: "http 401"}[proto]},
			{"unknown CA", "", "s3cret", "tls: certificate signed by unknown authority"},
		} {
			t.Run(string(proto)+"/"+tt.name, func(t *testing.T) {
				c, err := Open(otlpconf.Config{Protocol: proto, Endpoint: endpoint, TLSFiles: otlpconf.TLSFiles{CAFile: tt.ca},
					Headers: []otlpconf.Header{{Key: "x-api-key", Value: tt.header}}, Timeout: otlpconf.DefaultTimeout})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				err = c.Preflight(context.Background())
				if got := Reason(err); got != tt.want {
					t.Fatalf("Preflight: %v (reason %q), want reason %q", err, got, tt.want)
				}
				if err != nil && strings.Contains(err.Error(), tt.header) {
					t.Errorf("error shows the header value: %v", err)
				}
			})
		}
	}
}

// preflightReceiver starts a TLS receiver of proto wanting the header
// x-api-key: s3cret, and returns its endpoint as otlpconf.Config holds it.
func preflightReceiver(t *testing.T, certs *testcerts.Set, proto otlpconf.Protocol) string {
	t.Helper()
	if proto == otlpconf.GRPC {
		srv := startTLSServer(t, certs, false, grpc.StreamInterceptor(requireKey("s3cret")))
		return localhost(t, srv.addr)
	}
	srv := startHTTPServer(t, certs, func(_ int, w http.ResponseWriter) {})
	srv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-api-key") != "s3cret" {
			http.Error(w, "missing or wrong x-api-key", http.StatusUnauthorized)
			return
		}
		srv.serve(w, r)
	})
	return srv.url(t)
}
