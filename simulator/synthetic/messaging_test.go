package synthetic

import (
	"fmt"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracerig/tracerig/internal/record"
)

// In testdata/messaging.yaml every request publishes one order (Kafka):
// billing takes them in batches of 4, in a trace of its own, and publishes
// one audit event (NATS) per run, which the auditor takes one at a time in
// a trace of its own; shipping takes each order under its producer span.

const startNanos = 1_700_000_000_000_000_000

// msgBuild is what a builder built for some requests of a shard.
type msgBuild struct {
	g      *Generator
	shard  Shard
	seqs   []uint64
	spans  []builtSpan
	byID   map[record.Link]builtSpan // every span, by trace and span ID
	linked int                       // Builder.Linked
	// ref holds, by trace and span ID, the spans of the shard's requests
	// up to the last of seqs built in order: what links may point to
	// besides the spans built.
	ref map[record.Link]builtSpan
}

// buildMsgs builds the requests seqs of shard sh in that order with one
// builder, then, with flush, the batches the last one leaves incomplete.
func buildMsgs(t *testing.T, g *Generator, sh Shard, seqs []uint64, flush bool) *msgBuild {
	t.Helper()
	b := g.NewBuilder()
	b.setStride(sh.shards())
	b.Begin()
	n := 0
	for _, seq := range seqs {
		n += b.Add(seq, startNanos)
	}
	if flush {
		n += b.Flush(seqs[len(seqs)-1], startNanos)
	}
	if n != b.Spans() {
		t.Fatalf("Add and Flush say %d spans, the batch has %d", n, b.Spans())
	}
	m := &msgBuild{g: g, shard: sh, seqs: seqs, linked: b.Linked(), spans: spansOf(b.Traces()), byID: map[record.Link]builtSpan{}}
	if len(m.spans) != n {
		t.Fatalf("built %d spans, the batch holds %d", n, len(m.spans))
	}
	for _, s := range m.spans {
		m.byID[linkOf(s.span.TraceID(), s.span.SpanID())] = s
	}
	m.ref = map[record.Link]builtSpan{}
	last, _ := sh.Owns(slices.Max(seqs))
	rb := g.NewBuilder()
	rb.setStride(sh.shards())
	rb.Begin()
	for k := range last + 1 {
		rb.Add(sh.Seq(k), startNanos)
	}
	for _, s := range spansOf(rb.Traces()) {
		m.ref[linkOf(s.span.TraceID(), s.span.SpanID())] = s
	}
	return m
}

func linkOf(t pcommon.TraceID, s pcommon.SpanID) record.Link {
	return record.Link{Trace: record.TraceID(t), Span: record.SpanID(s)}
}

// named returns the spans of service svc named name.
func (m *msgBuild) named(svc, name string) []ptrace.Span {
	var out []ptrace.Span
	for _, s := range m.spans {
		if s.service == svc && s.span.Name() == name {
			out = append(out, s.span)
		}
	}
	return out
}

// producer returns the producer span a link of a consumer span points to,
// built or not, and the request whose trace it is in (false for a trace of
// a consumer's own).
func (m *msgBuild) producer(t *testing.T, l ptrace.SpanLink, name string) (ptrace.Span, uint64, bool) {
	t.Helper()
	p, ok := m.byID[linkOf(l.TraceID(), l.SpanID())]
	if !ok {
		p, ok = m.ref[linkOf(l.TraceID(), l.SpanID())]
	}
	if !ok || p.span.Name() != name || p.span.Kind() != ptrace.SpanKindProducer {
		t.Fatalf("a link to %s/%s is not a %q producer span of the batch", l.TraceID(), l.SpanID(), name)
	}
	seq, isRequest := m.g.SeqOf(record.TraceID(p.span.TraceID()))
	return p.span, seq, isRequest
}

func str(sp ptrace.Span, key string) string {
	v, _ := sp.Attributes().Get(key)
	return v.AsString()
}

// TestMessagingSpans builds requests of the messaging topology and checks
// the asynchronous edges span by span: a producer span per message with
// the messaging attributes of its broker; billing's consumer spans, roots
// of traces of their own, linking to the producer spans of exactly the
// requests of their batch (4 consecutive requests of the shard, fewer for
// the batch a flush cuts short); shipping's under each producer span and
// linking to it; the auditor's linking to billing's audit events; and
// ExpectSent listing exactly the traces built, span counts included.
func TestMessagingSpans(t *testing.T) {
	g, err := ForScenario(openScenario(t, "messaging"))
	if err != nil {
		t.Fatal(err)
	}
	seqsOf := func(sh Shard, from, to uint64) []uint64 {
		var out []uint64
		for k := from; k < to; k++ {
			out = append(out, sh.Seq(k))
		}
		return out
	}
	one, third := Shard{}, Shard{Index: 2, Count: 3}
	for _, tc := range []struct {
		name    string
		shard   Shard
		seqs    []uint64
		flush   bool
		batches []int // links of billing's runs, in order of their batches
	}{
		{"whole batches", one, seqsOf(one, 0, 12), false, []int{4, 4, 4}},
		{"the last batch waits for its last request", one, seqsOf(one, 0, 10), false, []int{4, 4}},
		{"the last batch flushed", one, seqsOf(one, 0, 10), true, []int{4, 4, 2}},
		{"a flush after a whole batch runs nothing more", one, seqsOf(one, 0, 8), true, []int{4, 4}},
		{"not from the start", one, seqsOf(one, 6, 13), true, []int{4, 4, 1}},
		{"out of order", one, []uint64{11, 2, 9, 0, 5, 3, 10, 8, 6, 1, 7, 4}, false, []int{4, 4, 4}},
		{"shard 2 of 3", third, seqsOf(third, 0, 9), true, []int{4, 4, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := buildMsgs(t, g, tc.shard, tc.seqs, tc.flush)
			m.checkOrders(t, tc.batches)
			m.checkShipping(t)
			m.checkAudit(t, len(tc.batches))
			m.checkExpectSent(t, tc.flush)
			if want := 2 * len(tc.batches); m.linked != want {
				t.Errorf("Linked() = %d, want %d (billing's runs and the auditor's)", m.linked, want)
			}
		})
	}
}

// checkOrders checks the orders' producer spans and billing's runs.
func (m *msgBuild) checkOrders(t *testing.T, batches []int) {
	t.Helper()
	sends := m.named("checkout", "send orders")
	if len(sends) != len(m.seqs) {
		t.Fatalf("%d producer spans for %d requests", len(sends), len(m.seqs))
	}
	for _, p := range sends {
		want := map[string]string{"messaging.system": "kafka", "messaging.destination.name": "orders",
			"messaging.operation.name": "send", "messaging.operation.type": "send"}
		for k, v := range want {
			if got := str(p, k); got != v {
				t.Fatalf("producer span: %s = %q, want %q", k, got, v)
			}
		}
		if _, isRequest := m.g.SeqOf(record.TraceID(p.TraceID())); !isRequest || str(p, "messaging.message.id") == "" || p.ParentSpanID().IsEmpty() {
			t.Fatalf("producer span %s: not in a request's trace under its route's span, or without a message ID", p.SpanID())
		}
	}
	runs := m.named("billing", "process orders")
	var got []int
	for _, c := range runs {
		if c.Kind() != ptrace.SpanKindConsumer || !c.ParentSpanID().IsEmpty() || str(c, "messaging.consumer.group.name") != "billing" ||
			str(c, "messaging.operation.type") != "process" {
			t.Fatalf("billing's span: kind %v, parent %s, group %q", c.Kind(), c.ParentSpanID(), str(c, "messaging.consumer.group.name"))
		}
		if _, isRequest := m.g.SeqOf(record.TraceID(c.TraceID())); isRequest {
			t.Fatalf("billing's run is in a request's trace")
		}
		batch := -1
		seen := map[uint64]bool{}
		for _, l := range c.Links().All() {
			_, seq, isRequest := m.producer(t, l, "send orders")
			k, ok := m.shard.Owns(seq)
			if !isRequest || !ok || seen[seq] || (batch >= 0 && int(k/4) != batch) {
				t.Fatalf("billing's run links to request %d: not one of its shard's, twice, or not of batch %d", seq, batch)
			}
			batch, seen[seq] = int(k/4), true
		}
		if n := c.Links().Len(); n > 1 && str(c, "messaging.batch.message_count") != fmt.Sprint(n) {
			t.Errorf("a batch of %d: messaging.batch.message_count = %q", n, str(c, "messaging.batch.message_count"))
		}
		got = append(got, c.Links().Len())
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(batches))
	if !slices.Equal(got, want) {
		t.Fatalf("billing's runs link to %v messages, want %v", got, want)
	}
}

// checkShipping checks shipping's consumer spans: one per order, a child
// of its producer span that links to it too.
func (m *msgBuild) checkShipping(t *testing.T) {
	t.Helper()
	runs := m.named("shipping", "process orders")
	if len(runs) != len(m.seqs) {
		t.Fatalf("%d shipping runs for %d requests", len(runs), len(m.seqs))
	}
	for _, c := range runs {
		if c.Links().Len() != 1 {
			t.Fatalf("shipping's span has %d links", c.Links().Len())
		}
		p, _, isRequest := m.producer(t, c.Links().At(0), "send orders")
		if !isRequest || c.Kind() != ptrace.SpanKindConsumer || c.TraceID() != p.TraceID() || c.ParentSpanID() != p.SpanID() ||
			str(c, "messaging.message.id") != str(p, "messaging.message.id") || c.StartTimestamp() < p.EndTimestamp() {
			t.Fatalf("shipping's span is not a consumer span under the producer span it links to, after it, with its message ID")
		}
	}
}

// checkAudit checks the audit events: one per billing run, each taken by
// the auditor in a trace of its own linked to it.
func (m *msgBuild) checkAudit(t *testing.T, runs int) {
	t.Helper()
	sends, takes := m.named("billing", "send audit"), m.named("auditor", "process audit")
	if len(sends) != runs || len(takes) != runs {
		t.Fatalf("%d audit events sent and %d taken for %d billing runs", len(sends), len(takes), runs)
	}
	for _, p := range sends {
		if str(p, "messaging.system") != "nats" {
			t.Fatalf("audit event: messaging.system %q", str(p, "messaging.system"))
		}
	}
	for _, c := range takes {
		if c.Links().Len() != 1 || !c.ParentSpanID().IsEmpty() || str(c, "messaging.consumer.group.name") != "audit-log" {
			t.Fatalf("the auditor's span: %d links, parent %s", c.Links().Len(), c.ParentSpanID())
		}
		p, _, isRequest := m.producer(t, c.Links().At(0), "send audit")
		if isRequest || p.TraceID() == c.TraceID() || str(c, "messaging.message.id") != str(p, "messaging.message.id") {
			t.Fatalf("the auditor's span links to an audit event of a request's trace or of its own")
		}
	}
}

// checkExpectSent checks that ExpectSent of the requests built lists the
// traces built, each once, with their span counts.
func (m *msgBuild) checkExpectSent(t *testing.T, flush bool) {
	t.Helper()
	built := map[record.TraceID]int{}
	for _, s := range m.spans {
		built[record.TraceID(s.span.TraceID())]++
	}
	expected := map[record.TraceID]int{}
	for i, seq := range m.seqs {
		for _, tr := range m.g.ExpectSent(seq, m.shard, flush && i == len(m.seqs)-1) {
			if _, dup := expected[tr.ID]; dup {
				t.Fatalf("ExpectSent lists trace %s twice", tr.ID)
			}
			expected[tr.ID] = tr.Spans
		}
		if id, n := m.g.Expect(seq); expected[id] != n {
			t.Fatalf("request %d: Expect says %d spans, ExpectSent %d", seq, n, expected[id])
		}
	}
	if len(expected) != len(built) {
		t.Fatalf("ExpectSent lists %d traces, %d were built", len(expected), len(built))
	}
	for id, n := range built {
		if expected[id] != n {
			t.Fatalf("trace %s: built %d spans, ExpectSent says %d", id, n, expected[id])
		}
	}
}

// TestBatchesAcrossShards runs every shard of a run over its first
// traces, flushing at the end as Run does: whatever the number of shards,
// every order is in exactly one of billing's batches, and no batch mixes
// shards.
func TestBatchesAcrossShards(t *testing.T) {
	g, err := ForScenario(openScenario(t, "messaging"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprint(n, " shards"), func(t *testing.T) {
			linked := map[record.Link]int{}
			orders := 0
			for i := range n {
				sh := Shard{Index: i, Count: n}
				var seqs []uint64
				for k := range uint64(9 + i) {
					seqs = append(seqs, sh.Seq(k))
				}
				m := buildMsgs(t, g, sh, seqs, true)
				orders += len(m.named("checkout", "send orders"))
				for _, c := range m.named("billing", "process orders") {
					for _, l := range c.Links().All() {
						linked[linkOf(l.TraceID(), l.SpanID())]++
						if _, seq, _ := m.producer(t, l, "send orders"); seq%uint64(n) != uint64(i) {
							t.Fatalf("shard %d's batch links to request %d of another shard", i, seq)
						}
					}
				}
			}
			if len(linked) != orders {
				t.Fatalf("billing's runs link to %d of %d orders", len(linked), orders)
			}
			for l, times := range linked {
				if times != 1 {
					t.Fatalf("order %s/%s is in %d batches", l.Trace, l.Span, times)
				}
			}
		})
	}
}

// TestMessagingLinksDecode encodes requests of the messaging topology as
// blast sends them, decodes the request through pdata, and follows every
// link: each is a valid Span.Link whose trace and span ID name a producer
// span of the request.
func TestMessagingLinksDecode(t *testing.T) {
	g, err := ForScenario(openScenario(t, "messaging"))
	if err != nil {
		t.Fatal(err)
	}
	enc := g.NewEncoder()
	enc.Begin()
	for seq := range uint64(42) {
		enc.Add(seq, startNanos)
	}
	enc.Flush(41, startNanos)
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(enc.Bytes()); err != nil {
		t.Fatalf("the encoded request does not decode: %v", err)
	}
	td := req.Traces()
	if td.SpanCount() != enc.Spans() {
		t.Fatalf("decoded %d spans, encoded %d", td.SpanCount(), enc.Spans())
	}
	producers := map[record.Link]bool{}
	var consumers []ptrace.Span
	for _, s := range spansOf(td) {
		switch s.span.Kind() {
		case ptrace.SpanKindProducer:
			producers[linkOf(s.span.TraceID(), s.span.SpanID())] = true
		case ptrace.SpanKindConsumer:
			consumers = append(consumers, s.span)
		}
	}
	links := 0
	for _, c := range consumers {
		for _, l := range c.Links().All() {
			links++
			if !producers[linkOf(l.TraceID(), l.SpanID())] || l.TraceState().AsRaw() != "" || l.Attributes().Len() != 0 {
				t.Fatalf("%s links to %s/%s: no producer span of the request", c.Name(), l.TraceID(), l.SpanID())
			}
		}
	}
	// 42 orders: billing links to each once, shipping too; 11 billing
	// runs (10 of 4, 1 of 2), each one audit event the auditor links to.
	if want := 42 + 42 + 11; links != want || len(producers) != 42+11 {
		t.Fatalf("%d links to %d producer spans, want %d to %d", links, len(producers), want, 42+11)
	}
}
