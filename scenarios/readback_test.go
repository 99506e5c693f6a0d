package scenarios

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/internal/nginxtest"
	"github.com/tracerig/tracerig/internal/testcerts"
	"github.com/tracerig/tracerig/topology"
)

// TestOTLPReadBackWithCredentials runs quickstart against a Jaeger whose
// query API sits behind nginx (TLS, basic auth), the scenario naming the
// CA and taking the credentials from the environment by reference; a
// variable left unset stops the run before any load, named, its value
// nowhere.
func TestOTLPReadBackWithCredentials(t *testing.T) {
	requireJaeger(t)
	nginxtest.Binary(t)
	bin, _ := jaeger.Find()
	j, err := jaeger.Start(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Shutdown(context.Background()) })
	certs, err := testcerts.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	proxy := nginxtest.Start(t, nginxtest.Config{Upstream: j.QueryURL(), CertFile: certs.ServerCert, KeyFile: certs.ServerKey,
		Users: map[string]string{"reader": "s3cret-pass"}})
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sc.Backend = topology.Backend{Type: topology.BackendOTLP, Endpoint: "http://" + j.Endpoint(),
		Query: topology.BackendQuery{Type: "jaeger", URL: proxy.URL, TLS: topology.TLS{CA: certs.CAFile},
			BasicAuth: &topology.BasicAuth{Username: "${TRACERIG_TEST_READ_USER}", Password: "${TRACERIG_TEST_READ_PASS}"}}}
	d := time.Second

	t.Setenv("TRACERIG_TEST_READ_USER", "reader")
	t.Setenv("TRACERIG_TEST_READ_PASS", "")
	_, err = Run(t.Context(), sc, Options{Duration: &d, OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "environment variable TRACERIG_TEST_READ_PASS is not set") || strings.Contains(err.Error(), "reader") {
		t.Fatalf("run without the password: %v, want the unset variable named", err)
	}

	t.Setenv("TRACERIG_TEST_READ_PASS", "s3cret-pass")
	rep, err := Run(t.Context(), sc, Options{Duration: &d, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Backend.ReadBack || rep.BackendSpans != rep.Ledger.SpansEnded {
		t.Errorf("read back %d of %d spans through nginx (backend %+v)\nnginx: %s", rep.BackendSpans, rep.Ledger.SpansEnded, rep.Backend, proxy.Log())
	}
	passAll(t, rep)
}
