package scenarios

import (
	"context"
	"testing"
	"time"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/topology"
)

// TestOTLPWithJaegerQuery exports to any OTLP endpoint (here a Jaeger
// process started apart from the run) and reads back through the query API
// the scenario names.
func TestOTLPWithJaegerQuery(t *testing.T) {
	requireJaeger(t)
	bin, _ := jaeger.Find()
	j, err := jaeger.Start(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Shutdown(context.Background()) })
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sc.Backend = topology.Backend{Type: topology.BackendOTLP, Endpoint: j.Endpoint(),
		Query: topology.BackendQuery{Type: "jaeger", URL: j.QueryURL()}}
	d := time.Second
	rep, err := Run(t.Context(), sc, Options{Duration: &d, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Backend.ReadBack || rep.BackendSpans != rep.Ledger.SpansEnded {
		t.Errorf("read back %d of %d spans (backend %+v)", rep.BackendSpans, rep.Ledger.SpansEnded, rep.Backend)
	}
	passAll(t, rep)
}

// TestOTLPEndpointFromEnvironment: an otlp backend without an endpoint
// takes the standard OTEL_EXPORTER_OTLP_* variables.
func TestOTLPEndpointFromEnvironment(t *testing.T) {
	b := embedded.New()
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+b.GRPCAddr())
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sc.Backend = topology.Backend{Type: topology.BackendOTLP}
	d := time.Second
	rep, err := Run(t.Context(), sc, Options{Duration: &d, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Stats().Spans; got != int64(rep.Ledger.SpansExported) || got == 0 {
		t.Errorf("the backend named by the environment holds %d spans, exported %d", got, rep.Ledger.SpansExported)
	}
	if rep.Backend.ReadBack || rep.Backend.Endpoint != b.GRPCAddr() {
		t.Errorf("backend report %+v", rep.Backend)
	}

	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	if _, err := Run(t.Context(), sc, Options{Duration: &d}); err == nil {
		t.Error("an otlp backend with no endpoint anywhere ran")
	}
}
