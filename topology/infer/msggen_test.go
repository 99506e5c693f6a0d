package infer

import (
	"encoding/binary"
	"strconv"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// The known system with asynchronous edges the tests infer back:
//
//	checkout POST /orders: inventory POST /reserve, then publish orders
//	(kafka, 3 partitions), then payments POST /pay.
//	billing "process orders": batches of up to 10 orders in a trace of its
//	own linking to each (mode link), ledger POST /entries, then publish
//	invoices (nats).
//	shipping "process orders": each order in its producer's trace (mode
//	parent), group dispatch.
//	mailer "process invoices": each invoice in its producer's trace.
var msgSystem = map[string]*route{
	"checkout":  {svc: "checkout", name: "POST /orders", p50: time.Millisecond, p99: 3 * time.Millisecond, instances: 2},
	"inventory": {svc: "inventory", name: "POST /reserve", p50: 2 * time.Millisecond, p99: 6 * time.Millisecond, instances: 1},
	"payments":  {svc: "payments", name: "POST /pay", p50: 3 * time.Millisecond, p99: 9 * time.Millisecond, instances: 1},
	"billing":   {svc: "billing", name: "process orders", p50: 2 * time.Millisecond, p99: 6 * time.Millisecond, instances: 2},
	"ledger":    {svc: "ledger", name: "POST /entries", p50: time.Millisecond, p99: 4 * time.Millisecond, instances: 1},
	"shipping":  {svc: "shipping", name: "process orders", p50: 4 * time.Millisecond, p99: 12 * time.Millisecond, instances: 1},
	"mailer":    {svc: "mailer", name: "process invoices", p50: time.Millisecond, p99: 2 * time.Millisecond, instances: 1},
}

// msgGen writes the messaging system's traces: each order's, and a
// billing batch's once enough orders wait.
type msgGen struct {
	*gen
	waiting []record.Link // orders not yet consumed by billing
	batch   int           // the size of billing's next batch
	last    int64         // the latest order's publish
}

func newMsgGen(seed uint64) *msgGen {
	g := &msgGen{gen: newGen(seed)}
	g.batch = 1 + g.rng.IntN(10)
	return g
}

// lag is the time from a publish to its processing.
const lag = int64(2 * time.Millisecond)

// newTrace starts a trace of its own.
func (g *msgGen) newTrace() {
	g.n++
	binary.BigEndian.PutUint64(g.trace[:8], g.n)
	binary.BigEndian.PutUint64(g.trace[8:], 2)
}

// order writes one checkout request's trace at start, with shipping's
// run under its publish, and billing's batch when it is full.
func (g *msgGen) order(start int64) {
	g.newTrace()
	r := msgSystem["checkout"]
	id := g.id()
	t := start + g.lognormal(r.p50, r.p99)
	t, _ = g.call(r, id, msgSystem["inventory"], t)
	pub := g.produce(r, id, "kafka", "orders", t, strconv.Itoa(int(g.n%3)))
	g.consume(msgSystem["shipping"], pub, "kafka", "orders", "dispatch", t+lag)
	g.waiting = append(g.waiting, record.Link{Trace: g.trace, Span: pub})
	g.last = t
	t, _ = g.call(r, id, msgSystem["payments"], t+int64(50*time.Microsecond))
	g.add(record.Span{ID: id, Start: start, End: t, Service: r.svc, Name: r.name,
		Instance: r.svc + "-" + strconv.Itoa(g.rng.IntN(r.instances)), Kind: record.KindServer}, r.name, 200)
	if len(g.waiting) >= g.batch {
		g.billing()
	}
}

// billing writes a batch's trace: a root consumer span linking to every
// waiting order, its call to ledger and its publish of an invoice, under
// which mailer runs.
func (g *msgGen) billing() {
	trace := g.trace
	g.newTrace()
	r := msgSystem["billing"]
	links := g.waiting
	g.waiting, g.batch = nil, 1+g.rng.IntN(10)
	id := g.id()
	start := g.last + lag
	t := start + g.lognormal(r.p50, r.p99)
	t, _ = g.call(r, id, msgSystem["ledger"], t)
	pub := g.produce(r, id, "nats", "invoices", t, "")
	g.consume(msgSystem["mailer"], pub, "nats", "invoices", "mailer", t+lag)
	t += int64(50 * time.Microsecond)
	g.consumerSpan(r, id, record.SpanID{}, "kafka", "orders", "billing", start, t, links)
	g.trace = trace
}

// produce writes a producer span of caller under parent at start, 50µs
// long, and returns its ID.
func (g *msgGen) produce(caller *route, parent record.SpanID, system, topic string, start int64, partition string) record.SpanID {
	id := g.id()
	s := record.Span{Trace: g.trace, ID: id, Parent: parent, Start: start, End: start + int64(50*time.Microsecond),
		Service: caller.svc, Instance: caller.svc + "-0", Name: "send " + topic, Kind: record.KindProducer,
		Attrs: []record.Attr{{Key: "messaging.system", Value: system}, {Key: "messaging.destination.name", Value: topic},
			{Key: "messaging.operation.name", Value: "send"}}}
	if partition != "" {
		s.Attrs = append(s.Attrs, record.Attr{Key: "messaging.destination.partition.id", Value: partition})
	}
	g.spans = append(g.spans, s)
	return id
}

// consume writes a run of route r in mode parent: a consumer span, child
// of the producer span parent and linking to it, lasting its own latency.
func (g *msgGen) consume(r *route, parent record.SpanID, system, topic, group string, start int64) {
	end := start + g.lognormal(r.p50, r.p99)
	g.consumerSpan(r, g.id(), parent, system, topic, group, start, end, []record.Link{{Trace: g.trace, Span: parent}})
}

// consumerSpan writes one consumer span as tracerig's consumers do.
func (g *msgGen) consumerSpan(r *route, id, parent record.SpanID, system, topic, group string, start, end int64, links []record.Link) {
	s := record.Span{Trace: g.trace, ID: id, Parent: parent, Start: start, End: end, Service: r.svc,
		Instance: r.svc + "-" + strconv.Itoa(g.rng.IntN(r.instances)), Name: "process " + topic, Kind: record.KindConsumer,
		Links: links, Attrs: []record.Attr{{Key: "messaging.system", Value: system}, {Key: "messaging.destination.name", Value: topic},
			{Key: "messaging.operation.name", Value: "process"}, {Key: "messaging.consumer.group.name", Value: group}}}
	if len(links) > 1 {
		s.Attrs = append(s.Attrs, record.Attr{Key: "messaging.batch.message_count", Value: strconv.Itoa(len(links))})
	}
	g.spans = append(g.spans, s)
}
