package scenarios

import (
	"context"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// order-events: checkout publishes every order to Kafka; billing takes
// them in batches of 10, in traces of its own that link to the orders;
// shipping takes each under its producer span.
const billingBatch = 10

// TestBlastMessaging blasts order-events into the embedded backend, with a
// trace limit that cuts the last batch short: every check passes, the
// read-back counts billing's traces beside the requests' and samples them
// whole, and in the backend each of billing's consumer spans links to the
// producer spans of exactly the orders of its batch, each shipping span
// to the producer span it is under.
func TestBlastMessaging(t *testing.T) {
	sc := load(t, "order-events.yaml")
	b := startShardSink(t)
	id := simulator.RunID(0x0de7e5a11ce5)
	// The generator Blast makes: a backend of the run's own shares no ID.
	g, err := synthetic.ForScenario(sc, synthetic.WithRunID(uint64(id), false))
	if err != nil {
		t.Fatal(err)
	}
	sink := &BlastSink{
		Start: func(context.Context, synthetic.Protocol) (string, error) { return b.GRPCAddr(), nil },
		Name:  func(endpoint string) string { return "the test's backend over " + endpoint },
		Held:  func(_ context.Context, st synthetic.Stats) assert.SinkHeld { return EmbeddedHeld(g, b, st.Traces) },
	}
	rep, err := Blast(context.Background(), sc, BlastOptions{Command: "blast", Scenario: "order-events", RunID: id, Sink: sink,
		Run: synthetic.RunOptions{Duration: 5 * time.Second, MaxTraces: 995, Workers: 2, Conns: 1, Batch: 256}})
	if err != nil {
		t.Fatal(err)
	}
	tt := rep.Totals
	if !rep.Passed || len(rep.Verdicts) != 2 || rep.Verdicts[1].Check != assert.CheckReadBack {
		t.Fatalf("verdicts %+v", rep.Verdicts)
	}
	if batches := (tt.Traces + billingBatch - 1) / billingBatch; tt.Traces != 995 || tt.LinkedTraces != batches ||
		uint64(b.Stats().Traces) != tt.Traces+batches {
		t.Fatalf("%d requests and %d linked traces sent, the backend holds %d traces; want 995, %d", tt.Traces, tt.LinkedTraces, b.Stats().Traces, batches)
	}
	links := 0
	for seq := range tt.Traces {
		sent := g.ExpectSent(seq, synthetic.Shard{}, seq == tt.Traces-1)
		checkShipping(t, b, sent[0].ID)
		for _, tr := range sent[1:] {
			links += checkBilling(t, g, b, tr.ID, seq)
		}
	}
	if links != int(tt.Traces) {
		t.Fatalf("billing's spans link to %d orders, %d were sent", links, tt.Traces)
	}
}

// checkBilling checks the trace of billing's run with request last: its
// consumer span is the root and links to the producer spans of the orders
// of last's batch. It returns its links.
func checkBilling(t *testing.T, g *synthetic.Generator, b *embedded.Backend, id record.TraceID, last uint64) int {
	t.Helper()
	root := rootOf(t, b, id)
	if root.Service != "billing" || root.Kind != record.KindConsumer || root.Name != "process orders" {
		t.Fatalf("trace %s: root %s %q (%v), want billing's consumer span", id, root.Service, root.Name, root.Kind)
	}
	want := min(billingBatch, int(last%billingBatch)+1)
	if len(root.Links) != want {
		t.Fatalf("billing's run with request %d links to %d orders, want %d", last, len(root.Links), want)
	}
	for _, l := range root.Links {
		seq, ok := g.SeqOf(l.Trace)
		p := spanOf(b, l)
		if !ok || seq/billingBatch != last/billingBatch || p == nil || p.Kind != record.KindProducer || p.Name != "send orders" {
			t.Fatalf("billing's run with request %d links to %s/%s: not the producer span of an order of its batch", last, l.Trace, l.Span)
		}
	}
	return len(root.Links)
}

// checkShipping checks that the request's trace holds shipping's consumer
// span under the order's producer span, linking to it.
func checkShipping(t *testing.T, b *embedded.Backend, id record.TraceID) {
	t.Helper()
	for _, s := range b.Trace(id) {
		if s.Service != "shipping" || s.Kind != record.KindConsumer {
			continue
		}
		p := spanOf(b, record.Link{Trace: id, Span: s.Parent})
		if p == nil || p.Name != "send orders" || len(s.Links) != 1 || s.Links[0] != (record.Link{Trace: id, Span: p.ID}) {
			t.Fatalf("trace %s: shipping's span is not under the order's producer span, linking to it", id)
		}
		return
	}
	t.Fatalf("trace %s: no shipping span", id)
}

// rootOf returns the root span of trace id in b.
func rootOf(t *testing.T, b *embedded.Backend, id record.TraceID) record.Span {
	t.Helper()
	for _, s := range b.Trace(id) {
		if s.Parent == (record.SpanID{}) {
			return s
		}
	}
	t.Fatalf("trace %s: no root in the backend", id)
	return record.Span{}
}

// spanOf returns the span l names in b, or nil.
func spanOf(b *embedded.Backend, l record.Link) *record.Span {
	for _, s := range b.Trace(l.Trace) {
		if s.ID == l.Span {
			return &s
		}
	}
	return nil
}

// TestBlastShardsMessaging runs three shards of order-events through
// their API, each cut short by a trace limit that is not a multiple of
// billing's batch: each shard sends its own batches, the last one flushed,
// and the run's read-back, over every shard's requests and billing's
// traces, passes.
func TestBlastShardsMessaging(t *testing.T) {
	b := startShardSink(t)
	run := synthetic.RunOptions{Endpoint: b.GRPCAddr(), Duration: time.Second, MaxTraces: 23, Workers: 2, Conns: 1, Batch: 64}
	h, o, g := localShardsOf(t, b, "order-events", run, 3, -1)
	t0, outs := h.blast(context.Background(), o.Blast.Run.Duration)
	held := h.readBack(context.Background(), g, 3, outs)
	rep := shardsReport(o, kube.ShardPlan{Plan: kube.Plan{Namespace: "test"}}, g, t0, outs, &held)
	for _, s := range rep.Shards {
		if s.Traces != 23 || s.Linked != 3 {
			t.Errorf("shard %d: %d requests and %d of billing's traces, want 23 and 3", s.Index, s.Traces, s.Linked)
		}
	}
	if !rep.Passed || rep.Totals.LinkedTraces != 9 || uint64(b.Stats().Traces) != 3*23+9 {
		t.Fatalf("passed %v, %d linked traces, the backend holds %d traces; verdicts %+v", rep.Passed, rep.Totals.LinkedTraces, b.Stats().Traces, rep.Verdicts)
	}
	if s := held.Sample; s == nil || s.Checked != 3*23+9 || s.Complete != s.Checked {
		t.Errorf("sample %+v: want every trace of every shard, whole", s)
	}
}
