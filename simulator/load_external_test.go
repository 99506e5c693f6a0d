package simulator

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerig/tracerig/topology"
)

// TestLoadIntoExternalEntry: a load aimed straight at an external entry
// sends each request a sampled traceparent and the run's ID as baggage,
// and the ledger holds the context it sent, so the request's trace is one
// the checks know as the run's.
func TestLoadIntoExternalEntry(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // traceparent -> baggage
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("Traceparent")] = r.Header.Get("Baggage")
		mu.Unlock()
	}))
	defer ext.Close()
	topo, err := topology.ParseTopology("ext.yaml", []byte("name: ext\nservices:\n  shop:\n    external: "+ext.URL+"\n    routes:\n      GET /checkout:\n"))
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	rt := New(topo, WithSeed(3), WithRunID(0xabc),
		WithExporter(func(context.Context) (sdktrace.SpanExporter, error) { return &keepOpen{exp}, nil }))
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	load := topology.Load{Targets: []topology.Target{{Service: "shop", Route: "GET /checkout", Weight: 1}},
		Rate: topology.Rate{Freq: 100, Per: time.Second}, Requests: 5, Workers: 1}
	if _, err := rt.Drive(t.Context(), []topology.Load{load}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	hops := rt.Ledger().Snapshot().Hops
	if len(hops) != 5 {
		t.Fatalf("ledger holds %d hops, want 5", len(hops))
	}
	for _, h := range hops {
		if h.From != "" || !h.External || !h.Sent.IsValid() || !h.Sent.Sampled {
			t.Errorf("load hop %+v: want an external hop with a sampled context sent", h)
			continue
		}
		if h.Sent != loadContext(3, h.ID) {
			t.Errorf("hop %x sent %+v, want the context derived from the seed and the hop", h.ID, h.Sent)
		}
		tp := canonicalTraceparent(h.Sent)
		if b, ok := got[tp]; !ok || b != "tracerig.run.id=0000000000000abc" {
			t.Errorf("entry did not receive traceparent %s with the run's baggage (got %q, %v)", tp, b, ok)
		}
	}
}
