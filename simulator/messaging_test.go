package simulator

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator/broker"
	"github.com/tracerig/tracerig/topology"
)

// runAsync brings testdata/async.yaml up with its embedded brokers (the
// NATS server and the Kafka-protocol broker), sends n orders, waits for
// the consumers and returns the ledger and the exported spans.
func runAsync(t *testing.T, n int, poisonFor time.Duration) (*Ledger, tracetest.SpanStubs, time.Time) {
	t.Helper()
	topo, err := topology.LoadTopology("testdata/async.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	rt := New(topo, WithSeed(7), WithExporter(func(context.Context) (sdktrace.SpanExporter, error) {
		return &keepOpen{exp}, nil
	}))
	ctx := t.Context()
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	load := topology.Load{Targets: []topology.Target{{Service: "front", Route: "POST /order", Weight: 1}},
		Rate: topology.Rate{Freq: 100, Per: time.Second}, Requests: n, Workers: 4}
	// The orders of the first poisonFor poisoned for billing: each fails
	// every delivery until billing gives up on it.
	poison := topology.Fault{Kind: topology.FaultPoison, Window: topology.Window{For: poisonFor},
		Target: topology.FaultTarget{From: "front", To: "billing", Instance: -1}}
	start := time.Now()
	wait := rt.PlayFaults(ctx, []topology.Fault{poison}, start)
	_, err = rt.Drive(ctx, []topology.Load{load})
	wait()
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	owed := rt.WaitMessages(wctx)
	cancel()
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if owed != 0 {
		t.Fatalf("%d deliveries still owed after 30s", owed)
	}
	return rt.Ledger(), exp.GetSpans(), start
}

func TestMessagingThroughEmbeddedBrokers(t *testing.T) {
	// 60 orders at 100/s, the first 400ms of them poisoned: the load
	// starts a little after the window does, by how much depends on the
	// machine, so the poisoned ones are counted from their publish times.
	const n, poisonFor = 60, 400 * time.Millisecond
	led, spans, start := runAsync(t, n, poisonFor)
	// A publish this close to the window's edges may have been decided on
	// either side of it.
	const edge = 50 * time.Millisecond
	inWindow := func(sentAt int64) bool {
		at := time.Unix(0, sentAt)
		return at.After(start.Add(edge)) && at.Before(start.Add(poisonFor-edge))
	}
	snap := led.Snapshot()
	// The ledger of a process of its own (a container, a pod) reaches the
	// host through Export and Merge: the messages with it.
	var buf bytes.Buffer
	if err := led.Export(&buf); err != nil {
		t.Fatal(err)
	}
	merged := NewLedger()
	if err := merged.Merge(&buf); err != nil {
		t.Fatal(err)
	}
	if got := merged.Snapshot().Hops; !reflect.DeepEqual(got, snap.Hops) {
		t.Errorf("merged ledger's hops differ from the exported ones")
	}

	type groupKey struct{ topic, group string }
	first := map[groupKey]int{}
	byServer := map[trace.SpanID][]*record.Hop{}
	redelivered, dead, deadDelivered, poisoned := 0, map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}
	for i := range snap.Hops {
		h := &snap.Hops[i]
		m := h.Message
		if m == nil {
			continue
		}
		if m.Redelivery == 0 && m.Topic != "orders-dlq" {
			first[groupKey{m.Topic, m.Group}]++
			if m.PublishedAt == 0 || m.Offset < 0 {
				t.Errorf("%s: message %x not acknowledged: %+v", m.Topic, m.ID, *m)
			}
			if m.Group == "billing" && inWindow(h.SentAt) {
				poisoned[m.ID] = true
			}
			if (m.Topic == "orders") != (m.Partition >= 0) {
				t.Errorf("%s: partition %d (kafka has partitions, nats none)", m.Topic, m.Partition)
			}
		}
		if !h.Received {
			t.Errorf("%s -> %s: message %x (redelivery %d) never received", h.From, h.To, m.ID, m.Redelivery)
			continue
		}
		if m.Redelivery > 0 {
			redelivered++
		}
		if m.DeadLetter {
			dead[m.ID] = true
		}
		if m.Topic == "orders-dlq" {
			deadDelivered[m.ID] = true
			if h.From != "billing" {
				t.Errorf("a dead letter's hop comes from %q, want billing (which gave up on it)", h.From)
			}
		}
		if h.Got != h.Sent {
			t.Errorf("%s -> %s: message %x got %v, sent %v", h.From, h.To, m.ID, h.Got, h.Sent)
		}
		if h.Lag() < 0 {
			t.Errorf("message %x: no lag (sent %d, processed %d)", m.ID, h.SentAt, m.ProcessedAt)
		}
		byServer[trace.SpanID(h.Server.Span)] = append(byServer[trace.SpanID(h.Server.Span)], h)
	}
	for _, k := range []groupKey{{"orders", "billing"}, {"orders", "shipping"}, {"audit", "auditor"}} {
		if first[k] != n {
			t.Errorf("%s to %s: %d first deliveries, want %d", k.topic, k.group, first[k], n)
		}
	}
	if redelivered == 0 || len(poisoned) == 0 {
		t.Errorf("billing fails half its runs and every delivery of the orders poisoned in the first %v: want redeliveries and poisoned orders, got %d and %d",
			poisonFor, redelivered, len(poisoned))
	}
	for id := range poisoned {
		if !dead[id] {
			t.Errorf("order %x was published inside the poison window and billing did not give up on it", id)
		}
	}
	for id := range dead {
		if !deadDelivered[id] {
			t.Errorf("message %x was dead-lettered but never reached the dead-letter topic's consumer", id)
		}
	}

	producers, consumers, batched := 0, 0, 0
	for _, s := range spans {
		switch s.SpanKind {
		case trace.SpanKindProducer:
			producers++
		case trace.SpanKindConsumer:
			consumers++
			hops := byServer[s.SpanContext.SpanID()]
			if len(hops) == 0 {
				t.Errorf("consumer span %s (%s) is in no ledger hop", s.SpanContext.SpanID(), s.Name)
				continue
			}
			// The ledger's links: one per message the span processed.
			if len(s.Links) != len(hops) {
				t.Errorf("consumer span %s (%s): %d links, the ledger says %d messages", s.SpanContext.SpanID(), s.Name, len(s.Links), len(hops))
			}
			if len(hops) > 1 {
				batched++
			}
			linked := map[record.SpanID]bool{}
			for _, l := range s.Links {
				linked[record.SpanID(l.SpanContext.SpanID())] = true
			}
			for _, h := range hops {
				if !linked[h.Got.Span] {
					t.Errorf("consumer span %s does not link to %s, the context of message %x", s.SpanContext.SpanID(), h.Got.Span, h.Message.ID)
				}
			}
			h := hops[0]
			parent := s.Parent.SpanID()
			if h.Message.Parent {
				if record.SpanID(parent) != h.Sent.Span || record.TraceID(s.SpanContext.TraceID()) != h.Sent.Trace {
					t.Errorf("shipping's consumer span: parent %s in trace %s, want the producer span %s in %s", parent, s.SpanContext.TraceID(), h.Sent.Span, h.Sent.Trace)
				}
			} else if s.Parent.IsValid() {
				t.Errorf("%s's consumer span links: it must be a root, has parent %s", h.To, parent)
			}
		}
	}
	if producers != 2*n {
		t.Errorf("%d producer spans, want %d", producers, 2*n)
	}
	if batched == 0 {
		t.Error("no consumer span processed a batch of more than one message")
	}
	checkMessagingSpans(t, spans)
	t.Logf("%d producer spans, %d consumer spans (%d batches), %d redeliveries, %d poisoned, %d dead letters", producers, consumers, batched, redelivered, len(poisoned), len(dead))
}

func TestEnvelopeRoundTrip(t *testing.T) {
	e := envelope{msg: 0xdeadbeef, request: 42, parent: 7, sentAt: time.Now().UnixNano(),
		sent:       record.Context{Trace: record.TraceID{1, 2, 3}, Span: record.SpanID{4, 5}, Sampled: true},
		clientSpan: true, from: "order-service", fromInst: 3, headers: record.HeaderTraceparent | record.HeaderBaggage, poison: 0b101}
	got, ok := parseEnvelope(e.String())
	if !ok || got != e {
		t.Fatalf("round trip: %+v, %v; want %+v", got, ok, e)
	}
	none := envelope{msg: 1, from: "svc"}
	if got, ok := parseEnvelope(none.String()); !ok || got != none {
		t.Errorf("without a context: %+v, %v", got, ok)
	}
	for _, bad := range []string{"", "1 2 3", "zz 1 1 1 " + e.sent.Trace.String() + " " + e.sent.Span.String() + " 1 1 0 svc 0"} {
		if _, ok := parseEnvelope(bad); ok {
			t.Errorf("parseEnvelope(%q) accepted it", bad)
		}
	}
}

// TestForeignMessage: a message without tracerig's envelope (a producer
// outside the harness) is processed like any other, its consumer span
// linking to the context its headers carry, and the ledger keeps no hop of
// it nor any debt.
func TestForeignMessage(t *testing.T) {
	topo, err := topology.LoadTopology("testdata/async.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	rt := New(topo, WithExporter(func(context.Context) (sdktrace.SpanExporter, error) { return &keepOpen{exp}, nil }))
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer rt.Shutdown(context.Background())
	c, err := rt.msg.brokers["nats"].dial(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tp := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if _, err := c.Publish(t.Context(), broker.Message{Topic: "audit", Headers: []broker.Header{{Key: "traceparent", Value: tp}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// The consumer's span is exported within the batch timeout.
		for _, s := range exp.GetSpans() {
			if s.Name == "process audit" {
				if len(s.Links) != 1 || s.Links[0].SpanContext.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
					t.Errorf("links %+v, want the foreign message's context", s.Links)
				}
				if hops := rt.Ledger().Snapshot().Hops; len(hops) != 0 || rt.MessagesOwed() != 0 {
					t.Errorf("the ledger recorded %d hops, owes %d", len(hops), rt.MessagesOwed())
				}
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the foreign message was never processed")
}
