package simulator

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/topology"
)

// TestRuntimeSplitMatchesOneProcess runs the chain topology with every
// instance in a runtime of its own (WithOnly, WithPeers), drives load from a
// runtime that hosts nothing (WithNone), merges the exported ledgers and
// checks they tell the same story as one process with the same seed.
func TestRuntimeSplitMatchesOneProcess(t *testing.T) {
	const n = 40
	want, _, _ := run(t, 5, n)

	topo, err := topology.LoadTopology("testdata/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	peers := map[string][]string{}
	for _, s := range topo.Services {
		for range s.Instances {
			peers[s.Name] = append(peers[s.Name], freeAddr(t))
		}
	}
	exp := tracetest.NewInMemoryExporter()
	opts := func(extra ...Option) []Option {
		return append([]Option{WithSeed(5), WithPeers(peers), WithExporter(func(context.Context) (sdktrace.SpanExporter, error) {
			return &keepOpen{exp}, nil
		})}, extra...)
	}
	ctx := t.Context()
	var parts []*Runtime
	for _, s := range topo.Services {
		for i := range s.Instances {
			rt := New(topo, opts(WithOnly(s.Name, i), WithListen(peers[s.Name][i]))...)
			if err := rt.Start(ctx); err != nil {
				t.Fatal(err)
			}
			parts = append(parts, rt)
		}
	}
	// Each part reaches the instances of the services it calls: front
	// calls mid, rpc and proxy; mid calls leaf alone.
	for _, rt := range parts {
		got := rt.RemotePeers()
		switch rt.cfg.only.service {
		case "front":
			if len(got) != 4 || got["rpc-1"] != peers["rpc"][1] || got["proxy-0"] != peers["proxy"][0] {
				t.Errorf("front's remote peers %v", got)
			}
		case "mid":
			if len(got) != 1 || got["leaf-0"] != peers["leaf"][0] {
				t.Errorf("mid's remote peers %v, want leaf-0 at %s", got, peers["leaf"][0])
			}
		}
	}
	host := New(topo, opts(WithNone())...)
	if err := host.Start(ctx); err != nil {
		t.Fatal(err)
	}
	load := topology.Load{Targets: []topology.Target{{Service: "front", Route: "GET /go", Weight: 1}}, Rate: topology.Rate{Freq: 200, Per: time.Second}, Requests: n, Workers: 4}
	if _, err := host.Drive(ctx, []topology.Load{load}); err != nil {
		t.Fatal(err)
	}
	for _, rt := range parts {
		if err := rt.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := rt.Ledger().Export(&buf); err != nil {
			t.Fatal(err)
		}
		if err := host.Ledger().Merge(&buf); err != nil {
			t.Fatal(err)
		}
	}
	// Instances apart (front-0 and front-1, rpc-0 and rpc-1 each in a
	// runtime of its own) never share a span ID, as in one process.
	ids := map[trace.SpanID]string{}
	for _, sp := range exp.GetSpans() {
		id, by := sp.SpanContext.SpanID(), sp.Resource.String()
		if other, ok := ids[id]; ok {
			t.Fatalf("span ID %s made by %s and by %s", id, other, by)
		}
		ids[id] = by
	}
	got := host.Ledger().Snapshot()
	if len(got.Ended) != len(want.Ended) || len(got.Hops) != len(want.Hops) {
		t.Fatalf("split run: %d spans, %d hops; one process: %d spans, %d hops", len(got.Ended), len(got.Hops), len(want.Ended), len(want.Hops))
	}
	key := func(s Snapshot) map[string]int {
		m := map[string]int{}
		for _, h := range s.Hops {
			m[fmt.Sprintf("%s-%d>%s-%d %s recv=%v err=%v", h.From, h.FromInstance, h.To, h.ToInstance, h.Route, h.Received, h.CalleeError)]++
		}
		for _, e := range s.Ended {
			m[fmt.Sprintf("span %s %s %s %v", e.Trace, e.Instance, e.Name, e.Export)]++
		}
		return m
	}
	gk, wk := key(got), key(want)
	for k, v := range wk {
		if gk[k] != v {
			t.Errorf("%s: split %d, one process %d", k, gk[k], v)
		}
	}
	if host.Ledger().Totals().Requests != n {
		t.Errorf("requests = %d, want %d", host.Ledger().Totals().Requests, n)
	}
}

func TestLedgerExportMergeRoundTrip(t *testing.T) {
	// Re-run to get the ledger itself, export it twice into one fresh
	// ledger: every record appears twice, names intact.
	l := NewLedger()
	l.syms.id("some-other-symbol") // shift the symbol table
	rt := runLedger(t, 7, 20)
	want := rt.Snapshot()
	for range 2 {
		var buf bytes.Buffer
		if err := rt.Export(&buf); err != nil {
			t.Fatal(err)
		}
		if err := l.Merge(&buf); err != nil {
			t.Fatal(err)
		}
	}
	got := l.Snapshot()
	if len(got.Ended) != 2*len(want.Ended) || len(got.Hops) != 2*len(want.Hops) {
		t.Fatalf("merged twice: %d spans %d hops, want %d and %d", len(got.Ended), len(got.Hops), 2*len(want.Ended), 2*len(want.Hops))
	}
	if g, w := got.Ended[0], want.Ended[0]; g.Trace != w.Trace || g.Service != w.Service || g.Instance != w.Instance || g.Name != w.Name || g.Export != w.Export || g.ExportAt != w.ExportAt || g.ExportAt == 0 {
		t.Errorf("first span %+v, want %+v", got.Ended[0], want.Ended[0])
	}
	answered := make(map[uint64]int64)
	for _, h := range want.Hops {
		answered[h.ID] = h.AnsweredAt
	}
	for _, h := range got.Hops {
		if h.AnsweredAt != answered[h.ID] || (h.From != "" && h.AnsweredAt == 0) {
			t.Fatalf("hop %x answered at %d after the round trip, want %d", h.ID, h.AnsweredAt, answered[h.ID])
		}
	}
	if a, b := l.Totals(), rt.Totals(); a.Requests != 2*b.Requests || a.SpansExported != 2*b.SpansExported {
		t.Errorf("totals %+v, want twice %+v", a, b)
	}
	if err := l.Merge(bytes.NewReader([]byte("not a ledger"))); err == nil {
		t.Error("merging garbage succeeded")
	}
}

func runLedger(t *testing.T, seed uint64, n int) *Ledger {
	t.Helper()
	topo, err := topology.LoadTopology("testdata/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rt := New(topo, WithSeed(seed), WithExporter(func(context.Context) (sdktrace.SpanExporter, error) {
		return &keepOpen{tracetest.NewInMemoryExporter()}, nil
	}))
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	load := topology.Load{Targets: []topology.Target{{Service: "front", Route: "GET /go", Weight: 1}}, Rate: topology.Rate{Freq: 200, Per: time.Second}, Requests: n, Workers: 4}
	if _, err := rt.Drive(t.Context(), []topology.Load{load}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rt.Ledger()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
