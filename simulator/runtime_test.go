package simulator

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// run brings the chain topology up with an in-memory exporter, sends n
// requests and returns the ledger snapshot and the exported spans.
func run(t *testing.T, seed uint64, n int) (Snapshot, tracetest.SpanStubs, []LoadResult) {
	t.Helper()
	topo, err := topology.LoadTopology("testdata/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	rt := New(topo, WithSeed(seed), WithExporter(func(context.Context) (sdktrace.SpanExporter, error) {
		return &keepOpen{exp}, nil
	}))
	ctx := t.Context()
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	load := topology.Load{Targets: []topology.Target{{Service: "front", Route: "GET /go", Weight: 1}}, Rate: topology.Rate{Freq: 200, Per: time.Second}, Requests: n, Workers: 4}
	res, err := rt.Drive(ctx, []topology.Load{load})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rt.Ledger().Snapshot(), exp.GetSpans(), res
}

// keepOpen keeps the shared in-memory exporter's spans across the
// instances' shutdowns.
type keepOpen struct{ *tracetest.InMemoryExporter }

func (keepOpen) Shutdown(context.Context) error { return nil }

func TestRuntimeLedgerMatchesExport(t *testing.T) {
	const n = 60
	snap, spans, res := run(t, 3, n)
	if got := res[0].Metrics.Requests; got != n {
		t.Fatalf("sent %d requests, want %d", got, n)
	}
	if len(snap.Ended) != len(spans) {
		t.Errorf("ledger has %d ended spans, exporter got %d", len(snap.Ended), len(spans))
	}
	for _, e := range snap.Ended {
		if e.Export != record.ExportOK {
			t.Fatalf("span %s of %s: export %s, want exported", e.ID, e.Service, e.Export)
		}
	}
	byEdge := map[string]int{}
	rpcFailed := 0
	for _, h := range snap.Hops {
		if h.To == "rpc" && h.CalleeError {
			rpcFailed++
		}
		if !h.Received {
			t.Errorf("hop %x %s -> %s was never received", h.ID, h.From, h.To)
		}
		byEdge[h.From+" -> "+h.To]++
	}
	// Every request makes one hop per call; no retries are configured, so
	// counts are exact, and a failed rpc call ends the sequence before the
	// proxy call.
	for edge, want := range map[string]int{
		" -> front": n, "front -> mid": n, "front -> rpc": n, "front -> proxy": n - rpcFailed,
		"mid -> leaf": n, "rpc -> leaf": n, "proxy -> leaf": n - rpcFailed,
	} {
		if byEdge[edge] != want {
			t.Errorf("edge %q: %d hops, want %d", edge, byEdge[edge], want)
		}
	}
	// Spans: front server + 3 client, mid server + client, rpc server +
	// client, leaf server x3 (11 in all); the proxy emits none. A failed rpc call costs
	// the proxy path: front's client span and the leaf's server span.
	if rpcFailed == 0 {
		t.Fatal("no rpc call failed at error rate 0.3")
	}
	if want := n*11 - 2*rpcFailed; len(spans) != want {
		t.Errorf("exported %d spans, want %d", len(spans), want)
	}
}

func TestRuntimeRecordsBothEndsOfAHop(t *testing.T) {
	snap, _, _ := run(t, 5, 10)
	for _, h := range snap.Hops {
		if h.AnsweredAt < h.SentAt || h.SentAt == 0 {
			t.Errorf("hop %x %s -> %s sent at %d answered at %d: want an answer after the send", h.ID, h.From, h.To, h.SentAt, h.AnsweredAt)
		}
		switch {
		case h.From == "":
			if h.Got.IsValid() || !h.Server.IsValid() {
				t.Errorf("load hop %x: got %+v server %+v; want no parent and a new root", h.ID, h.Got, h.Server)
			}
		case h.To == "proxy":
			if !h.ClientSpan || h.Got != h.Sent || h.ServerSpan {
				t.Errorf("hop %x into the proxy: sent %+v got %+v server %+v; want no server span", h.ID, h.Sent, h.Got, h.Server)
			}
		case h.From == "proxy":
			// The proxy forwards what it received: the front's client span.
			if h.ClientSpan || !h.Sent.IsValid() || h.Got != h.Sent {
				t.Errorf("proxy hop %x: sent %+v got %+v; want the forwarded context to arrive", h.ID, h.Sent, h.Got)
			}
			if !h.GotHeaders.Has(record.HeaderTraceparent) {
				t.Errorf("proxy hop %x: headers %v, want traceparent forwarded", h.ID, h.GotHeaders)
			}
		default:
			if !h.ClientSpan || h.Got != h.Sent || h.Server.Trace != h.Sent.Trace {
				t.Errorf("hop %x %s -> %s: sent %+v got %+v server %+v", h.ID, h.From, h.To, h.Sent, h.Got, h.Server)
			}
		}
	}
}

// TestRuntimeIsSeeded runs the same seed twice and compares every decision
// the ledger shows: hop IDs, instance picks, trace IDs, error outcomes.
func TestRuntimeIsSeeded(t *testing.T) {
	a, _, _ := run(t, 11, 40)
	b, _, _ := run(t, 11, 40)
	c, _, _ := run(t, 12, 40)
	if da, db := decisions(a), decisions(b); !slices.Equal(da, db) {
		t.Errorf("same seed, different decisions:\n%v\n%v", da[:5], db[:5])
	}
	if slices.Equal(decisions(a), decisions(c)) {
		t.Error("different seeds made identical decisions")
	}
	errs := 0
	for _, h := range a.Hops {
		if h.To == "rpc" && h.CalleeError {
			errs++
		}
	}
	if errs == 0 || errs == 40 {
		t.Errorf("rpc failed %d of 40 times at rate 0.3", errs)
	}
}

type decision struct {
	hop, parent uint64
	to          string
	instance    int
	trace       record.TraceID
	failed      bool
}

func decisions(s Snapshot) []decision {
	out := make([]decision, len(s.Hops))
	for i, h := range s.Hops {
		out[i] = decision{h.ID, h.Parent, h.To, h.ToInstance, h.Server.Trace, h.CalleeError}
	}
	slices.SortFunc(out, func(a, b decision) int { return cmp.Compare(a.hop, b.hop) })
	return out
}

func TestLoadMixFollowsWeights(t *testing.T) {
	entries := []entry{{cum: 0.75}, {cum: 1}}
	counts := [2]int{}
	for n := range uint64(20000) {
		if pick(entries, requestHop(9, n)) == &entries[0] {
			counts[0]++
		} else {
			counts[1]++
		}
	}
	if share := float64(counts[0]) / 20000; share < 0.73 || share > 0.77 {
		t.Errorf("first route got %.3f of requests, weight 0.75", share)
	}
	if pick(entries, 77) != pick(entries, 77) {
		t.Error("pick is not a function of the hop")
	}
}

func TestInjectedErrorsRecordExceptions(t *testing.T) {
	_, spans, _ := run(t, 3, 40)
	exceptions := 0
	for _, s := range spans {
		if s.Name != "test.Rpc/Do" || s.SpanKind != trace.SpanKindServer {
			continue
		}
		for _, e := range s.Events {
			if e.Name == "exception" {
				exceptions++
			}
		}
		if len(s.Events) > 0 && s.Status.Code != codes.Error {
			t.Errorf("span with an exception has status %v", s.Status)
		}
	}
	if exceptions == 0 {
		t.Error("no exception event on the failing rpc service's server spans")
	}
}
