package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/fixtures/collector"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/testcerts"
)

// ingest is a real collector as an authenticated OTLP ingest (TLS, a
// client certificate, a bearer token) in front of the embedded backend.
type ingest struct {
	*collector.Ingest
	backend *embedded.Backend
	certs   *testcerts.Set
	token   string
}

// startIngest starts the embedded backend and the ingest in front of it;
// the test skips when the collector is not built, unless
// TRACERIG_REQUIRE_COLLECTOR is set.
func startIngest(t *testing.T) *ingest {
	t.Helper()
	ctx := context.Background()
	b := embedded.New()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	in := startIngestTo(t, b.GRPCAddr())
	in.backend = b
	return in
}

// startIngestTo starts the ingest in front of the OTLP/gRPC endpoint
// exportTo.
func startIngestTo(t *testing.T, exportTo string) *ingest {
	t.Helper()
	bin, err := collector.Find()
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_COLLECTOR") != "" {
			t.Fatalf("TRACERIG_REQUIRE_COLLECTOR is set: %v", err)
		}
		t.Skipf("collector not built (%v); run `bash tools/collector/build.sh`", err)
	}
	certs, err := testcerts.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	in := &ingest{certs: certs, token: "tr4cerig-t0ken"}
	in.Ingest, err = collector.StartIngest(context.Background(), bin, collector.IngestOptions{
		CertFile: certs.ServerCert, KeyFile: certs.ServerKey, ClientCAFile: certs.CAFile,
		BearerToken: in.token, ExportTo: exportTo,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Shutdown(context.Background()) })
	return in
}

// setEnv sets the standard variables for an export to the ingest over
// protocol ("grpc" or "http/protobuf"), with the client certificate, the
// given token and gzip.
func (in *ingest) setEnv(t *testing.T, protocol, token string) {
	t.Helper()
	endpoint := "https://" + in.GRPCEndpoint()
	if protocol == "http/protobuf" {
		endpoint = "https://" + in.HTTPEndpoint()
	}
	for k, v := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":           endpoint,
		"OTEL_EXPORTER_OTLP_PROTOCOL":           protocol,
		"OTEL_EXPORTER_OTLP_HEADERS":            "authorization=Bearer%20" + token,
		"OTEL_EXPORTER_OTLP_CERTIFICATE":        in.certs.CAFile,
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": in.certs.ClientCert,
		"OTEL_EXPORTER_OTLP_CLIENT_KEY":         in.certs.ClientKey,
		"OTEL_EXPORTER_OTLP_COMPRESSION":        "gzip",
	} {
		t.Setenv(k, v)
	}
}

// awaitSpans waits until the backend holds n spans, and fails the test
// when it settles on another count.
func (in *ingest) awaitSpans(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for in.backend.Stats().Spans < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := in.backend.Stats().Spans; got != n {
		t.Fatalf("backend behind the ingest holds %d spans, want %d\ncollector logs:\n%s", got, n, in.Logs())
	}
}

// TestBlastIngest: blast configured only through the standard variables
// delivers every span through an ingest requiring TLS, a client
// certificate and a bearer token, over both protocols and gzipped; a
// wrong token delivers nothing.
func TestBlastIngest(t *testing.T) {
	in := startIngest(t)
	var total int64
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			in.setEnv(t, protocol, in.token)
			dir := t.TempDir()
			r := runCLI(t, "blast", "--duration", "1s", "--workers", "2", "--conns", "1", "--batch", "256", "--out", dir, "shop")
			r.wantCode(t, exitOK)
			rep := readBlastReport(t, dir)
			if rep.Totals.Sent == 0 || rep.Totals.Sent != rep.Totals.Delivered {
				t.Fatalf("sent %d, delivered %d", rep.Totals.Sent, rep.Totals.Delivered)
			}
			total += rep.Totals.Sent
			in.awaitSpans(t, total)
		})
	}
	for _, tt := range []struct {
		name, protocol string
		env            map[string]string
		want           []string
	}{
		{"wrong token", "grpc", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20wrong"},
			[]string{"preflight export to grpc 127.0.0.1:", "Unauthenticated", "OTEL_EXPORTER_OTLP_HEADERS"}},
		{"wrong token over http", "http/protobuf", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20wrong"},
			[]string{"preflight export to http https://127.0.0.1:", "401", "OTEL_EXPORTER_OTLP_HEADERS"}},
		{"unknown CA", "grpc", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": ""},
			[]string{"certificate signed by unknown authority", "OTEL_EXPORTER_OTLP_CERTIFICATE"}},
		{"no client certificate", "grpc", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "", "OTEL_EXPORTER_OTLP_CLIENT_KEY": ""},
			[]string{"certificate required", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in.setEnv(t, tt.protocol, in.token)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			r := runCLI(t, "blast", "--duration", "300ms", "--workers", "1", "--conns", "1", "shop")
			r.wantCode(t, exitRuntime)
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, in.token) || strings.Contains(r.stderr, "wrong") {
				t.Errorf("stderr shows a header value:\n%s", r.stderr)
			}
			in.awaitSpans(t, total)
		})
	}
}
