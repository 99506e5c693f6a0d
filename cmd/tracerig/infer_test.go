package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/nginxtest"
	"github.com/tracerig/tracerig/internal/testcerts"
	"github.com/tracerig/tracerig/topology"
)

// inferredFiles reads the topology and scenario infer wrote into dir and
// requires both to parse.
func inferredFiles(t *testing.T, dir string) *topology.Scenario {
	t.Helper()
	sc, err := topology.LoadScenario(filepath.Join(dir, "scenario.yaml"))
	if err != nil {
		t.Fatalf("the inferred files do not load: %v", err)
	}
	return sc
}

func serviceNames(topo *topology.Topology) string {
	var names []string
	for _, s := range topo.Services {
		names = append(names, s.Name)
	}
	return strings.Join(names, " ")
}

// TestInferFromSavedRun: spans a run saved with --save-spans become a
// scenario that `infer --check` runs, reproducing the source's call trees.
func TestInferFromSavedRun(t *testing.T) {
	dir := t.TempDir()
	spans := filepath.Join(dir, "spans.pb")
	r := runCLI(t, "run", "--quiet", "--duration", "3s", "--out", filepath.Join(dir, "run"), "--save-spans", spans, "quickstart")
	r.wantCode(t, exitOK)
	out := filepath.Join(dir, "copy")
	r = runCLI(t, "infer", "--from", spans, "--out", out, "--name", "copy", "--check", "--check-duration", "3s")
	r.wantCode(t, exitOK)
	sc := inferredFiles(t, out)
	if got := serviceNames(sc.Topology); got != "pricing stock web" {
		t.Errorf("services %q, want pricing stock web", got)
	}
	for _, want := range []string{"web GET /order", "equal", "the inferred scenario's own checks: pass"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "differs") {
		t.Errorf("a call tree differs:\n%s", r.stdout)
	}
}

// TestInferFromBackend reads the query API of a running embedded backend,
// as `tracerig backend` serves it.
func TestInferFromBackend(t *testing.T) {
	b := embedded.New(embedded.WithGRPCAddr("127.0.0.1:0"), embedded.WithHTTPAddr("127.0.0.1:0"))
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b.Shutdown(context.Background())
	dir := t.TempDir()
	r := runCLI(t, "run", "--quiet", "--duration", "2s", "--out", filepath.Join(dir, "run"), "--otlp-endpoint", b.GRPCAddr(), "quickstart")
	r.wantCode(t, exitOK)
	out := filepath.Join(dir, "copy")
	r = runCLI(t, "infer", "--from", "tracerig+http://"+b.HTTPAddr(), "--out", out)
	r.wantCode(t, exitOK)
	if got := serviceNames(inferredFiles(t, out).Topology); got != "pricing stock web" {
		t.Errorf("services %q, want pricing stock web", got)
	}
}

// TestInferFromJaegerBehindNginx reads a real Jaeger through nginx
// terminating TLS with basic authentication: the credential is named on
// the command line, never written there.
func TestInferFromJaegerBehindNginx(t *testing.T) {
	nginxtest.Binary(t)
	j := startJaeger(t)
	certs, err := testcerts.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const user, pass = "reader", "s3cret-pass"
	proxy := nginxtest.Start(t, nginxtest.Config{Upstream: j.QueryURL(), CertFile: certs.ServerCert, KeyFile: certs.ServerKey,
		Users: map[string]string{user: pass}})
	dir := t.TempDir()
	r := runCLI(t, "run", "--quiet", "--duration", "2s", "--out", filepath.Join(dir, "run"), "--otlp-endpoint", j.Endpoint(), "quickstart")
	r.wantCode(t, exitOK)

	t.Setenv("TRACERIG_TEST_JAEGER_AUTH", base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	out := filepath.Join(dir, "copy")
	args := []string{"infer", "--from", "jaeger+" + proxy.URL, "--ca", certs.CAFile, "--out", out}
	r = runCLI(t, append(args, "--header", "Authorization=Basic ${TRACERIG_TEST_JAEGER_AUTH}")...)
	r.wantCode(t, exitOK)
	if got := serviceNames(inferredFiles(t, out).Topology); got != "pricing stock web" {
		t.Errorf("services %q, want pricing stock web", got)
	}

	refused := filepath.Join(dir, "refused")
	r = runCLI(t, "infer", "--from", "jaeger+"+proxy.URL, "--ca", certs.CAFile, "--out", refused)
	r.wantCode(t, exitRuntime)
	if !strings.Contains(r.stderr, "401") {
		t.Errorf("stderr does not say the query was refused:\n%s", r.stderr)
	}
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Errorf("a refused read wrote %s (%v)", refused, err)
	}
}

// TestInferBadInput: unusable input exits 2 and a failing source 3, each
// with one clear message, writing nothing.
func TestInferBadInput(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pb")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "storage unavailable", http.StatusInternalServerError)
	}))
	defer broken.Close()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"empty file", []string{"--from", empty}, exitUsage, "no spans"},
		{"missing file", []string{"--from", filepath.Join(dir, "none.pb")}, exitUsage, "no such file"},
		{"jaeger answers 500", []string{"--from", "jaeger+" + broken.URL}, exitRuntime, "500"},
		{"unknown API", []string{"--from", "zipkin+" + broken.URL}, exitUsage, "unknown query API"},
		{"header without =", []string{"--from", empty, "--header", "Authorization"}, exitUsage, "NAME=VALUE"},
		{"unset variable", []string{"--from", "jaeger+" + broken.URL, "--header", "Authorization=Bearer ${TRACERIG_TEST_UNSET}"}, exitUsage, "TRACERIG_TEST_UNSET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			r := runCLI(t, append([]string{"infer", "--out", out}, tt.args...)...)
			r.wantCode(t, tt.code)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was written (%v)", out, err)
			}
		})
	}
}
