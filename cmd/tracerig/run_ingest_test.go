package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/simulator/containers"
)

// otlpScenario writes quickstart as a scenario exporting to an otlp
// backend named only by the standard variables, read back through the
// Jaeger query API at queryURL, and returns its path.
func otlpScenario(t *testing.T, queryURL string, extra ...string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "scenarios", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "quickstart-otlp.yaml")
	doc := string(src) + "backend:\n  type: otlp\n  query: {type: jaeger, url: " + queryURL + "}\n" + strings.Join(extra, "")
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startJaeger starts a real Jaeger for read-back; the test skips when it
// is not built, unless TRACERIG_REQUIRE_JAEGER is set.
func startJaeger(t *testing.T) *jaeger.Jaeger {
	t.Helper()
	bin, err := jaeger.Find()
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_JAEGER") != "" {
			t.Fatalf("TRACERIG_REQUIRE_JAEGER is set: %v", err)
		}
		t.Skipf("jaeger not built (%v); run `bash tools/jaeger/build.sh`", err)
	}
	j, err := jaeger.Start(context.Background(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Shutdown(context.Background()) })
	return j
}

// TestRunIngest: `run` configured only through the standard variables
// exports through an ingest requiring TLS, a client certificate and a
// bearer token, over both protocols and gzipped, and reads every span back;
// a wrong token and an unknown CA exit 3 before load, saying why; no
// output holds the token.
func TestRunIngest(t *testing.T) {
	j := startJaeger(t)
	in := startIngestTo(t, j.Endpoint())
	scenario := otlpScenario(t, j.QueryURL())
	runEveryProtocol(t, in, scenario)
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"wrong token", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20wrong"},
			[]string{"preflight export to grpc 127.0.0.1:", "Unauthenticated", "OTEL_EXPORTER_OTLP_HEADERS"}},
		{"unknown CA", map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": ""},
			[]string{"certificate signed by unknown authority", "OTEL_EXPORTER_OTLP_CERTIFICATE"}},
		{"no client certificate", map[string]string{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": "", "OTEL_EXPORTER_OTLP_CLIENT_KEY": ""},
			[]string{"client certificate", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in.setEnv(t, "grpc", in.token)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			out := t.TempDir()
			r := runCLI(t, "run", "--quiet", "--duration", "1s", "--out", out, scenario)
			r.wantCode(t, exitRuntime)
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("a run refused before load wrote %d files to its output folder", len(entries))
			}
			noSecret(t, in.token, r.stdout, r.stderr, out)
		})
	}
}

// runEveryProtocol runs scenario through the ingest over OTLP/gRPC and
// OTLP/HTTP, configured only by the standard variables, and checks that
// every span ended was read back and that no output holds the token.
func runEveryProtocol(t *testing.T, in *ingest, scenario string) {
	t.Helper()
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			in.setEnv(t, protocol, in.token)
			out := t.TempDir()
			r := runCLI(t, "run", "--quiet", "--duration", "1s", "--out", out, scenario)
			r.wantCode(t, exitOK)
			rep := readReport(t, out)
			if !rep.Backend.ReadBack || rep.BackendSpans != rep.Ledger.SpansEnded || rep.Ledger.SpansEnded == 0 {
				t.Fatalf("read back %d of %d spans (backend %+v)", rep.BackendSpans, rep.Ledger.SpansEnded, rep.Backend)
			}
			if rep.Backend.Export == "" || len(rep.Backend.HeaderKeys) != 1 || rep.Backend.HeaderKeys[0] != "authorization" {
				t.Errorf("report.json's backend does not name the export and its header key: %+v", rep.Backend)
			}
			noSecret(t, in.token, r.stdout, r.stderr, out)
		})
	}
}

// noSecret fails the test when secret appears in any of the outputs or in
// any file under dir.
func noSecret(t *testing.T, secret string, stdout, stderr, dir string) {
	t.Helper()
	if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
		t.Errorf("the output shows a header value")
	}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && strings.Contains(string(data), secret) {
			t.Errorf("%s holds a header value", path)
		}
		return err
	})
}

// TestRunIngestContainers: a containers run configured only through the
// standard variables exports from every container through the relay to an
// ingest requiring TLS, a client certificate and a bearer token, over both
// protocols, and reads every span back; no output holds the token.
func TestRunIngestContainers(t *testing.T) {
	cli, err := containers.Docker(t.Context())
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_DOCKER") == "1" {
			t.Fatalf("TRACERIG_REQUIRE_DOCKER=1: %v", err)
		}
		t.Skip(err)
	}
	cli.Close()
	j := startJaeger(t)
	in := startIngestTo(t, j.Endpoint())
	scenario := otlpScenario(t, j.QueryURL(), "runtime: containers\n")
	runEveryProtocol(t, in, scenario)
}
