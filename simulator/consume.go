package simulator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/simulator/broker"
	"github.com/tracerig/tracerig/topology"
)

// errPoison fails every delivery of a message a poison fault marked.
var errPoison = errors.New("poison message: the consumer cannot process it")

// brokerClient returns the instance's publishing connection to the broker
// name, connecting on first use.
func (in *instance) brokerClient(ctx context.Context, name string) (broker.Client, error) {
	in.cons.mu.Lock()
	defer in.cons.mu.Unlock()
	if c := in.cons.clients[name]; c != nil {
		return c, nil
	}
	ref := in.rt.msg.brokers[name]
	if ref == nil {
		return nil, fmt.Errorf("broker %s is not running", name)
	}
	c, err := ref.dial(ctx)
	if err != nil {
		return nil, err
	}
	if in.cons.clients == nil {
		in.cons.clients = map[string]broker.Client{}
	}
	in.cons.clients[name] = c
	return c, nil
}

// startConsumers runs a consumer for each consume route of the instance,
// each a member of its group with a connection of its own, until
// stopConsumers.
func (in *instance) startConsumers() {
	var groups []consumerGroup
	for _, r := range in.svc.Routes {
		if r.Consume == nil {
			continue
		}
		for _, g := range in.rt.msg.groups[r.Consume.Topic] {
			if g.route == r {
				groups = append(groups, g)
			}
		}
	}
	if len(groups) == 0 {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	in.cons.mu.Lock()
	in.cons.stop, in.cons.done = cancel, done
	in.cons.mu.Unlock()
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Go(func() { in.consume(ctx, g) })
	}
	go func() {
		wg.Wait()
		close(done)
	}()
}

// consume runs one consumer until ctx ends, connecting again after a
// failure to start (a broker in an outage).
func (in *instance) consume(ctx context.Context, g consumerGroup) {
	c := g.route.Consume
	tp := in.rt.topo.Topic(c.Topic)
	ref := in.rt.msg.brokers[tp.Broker]
	kind := ref.b.Kind
	spec := broker.Consume{
		Topic: c.Topic, Group: c.Group, Batch: c.Batch, MaxWait: c.MaxWait,
		MaxDeliveries: c.MaxDeliveries, DeadLetter: c.DeadLetter,
	}
	for ctx.Err() == nil {
		client, err := ref.dial(ctx)
		if err == nil {
			err = client.Consume(ctx, spec, func(ctx context.Context, batch []broker.Delivery) []error {
				return in.process(ctx, g, kind, batch)
			})
			client.Close()
		}
		if err != nil && ctx.Err() == nil {
			slog.Warn("consumer stopped; starting it again", "topic", c.Topic, "group", c.Group, "instance", in.id, "err", err)
			sleep(ctx, 200*time.Millisecond)
		}
	}
}

// stopConsumers ends the instance's consumers and closes its broker
// connections.
func (in *instance) stopConsumers() {
	in.cons.mu.Lock()
	stop, done := in.cons.stop, in.cons.done
	in.cons.stop, in.cons.done = nil, nil
	in.cons.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	in.cons.mu.Lock()
	for name, c := range in.cons.clients {
		c.Close()
		delete(in.cons.clients, name)
	}
	in.cons.mu.Unlock()
}

// delivered is one message of a batch as the consumer read it.
type delivered struct {
	d    *broker.Delivery
	env  envelope
	key  uint64 // the message and group: its first delivery's hop
	n    int    // the delivery's number: 0 the first time
	hop  uint64
	rec  recvRec
	rctx context.Context // the extracted context
	// from is the service that sent it: its producer, or the consumer
	// that gave up on it and sent it to this dead-letter topic.
	from string
	// sealed says the hop's send is the consumer's to record, from the
	// envelope: a redelivery, or a dead letter.
	sealed bool
	// foreign says the message carries no envelope: a producer outside
	// the harness published it, and the ledger does not record it.
	foreign bool
}

// process runs the consume route once for a batch: one consumer span that
// links to every message's extracted context (and with mode parent is its
// child), the route's work, and the ledger's receive and delivery records.
// A failed run fails every message of the batch, for the broker to
// deliver again.
func (in *instance) process(ctx context.Context, g consumerGroup, kind topology.BrokerKind, batch []broker.Delivery) []error {
	at := time.Now().UnixNano()
	c := g.route.Consume
	traced, forward := in.instrumentedNow()
	prop := propagation.TextMapPropagator(anyFormat)
	if traced {
		prop = in.prop
	}
	items := make([]delivered, len(batch))
	links := make([]trace.Link, 0, len(batch))
	for i := range batch {
		it := in.receive(&batch[i], g, prop)
		items[i] = it
		if sc := trace.SpanContextFromContext(it.rctx); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	req := &inbound{hop: items[0].hop, request: items[0].env.request, route: g.route, instrumented: traced}
	if !traced && forward {
		req.forward = forwardableFrom(msgHeaders{&batch[0].Headers}.Get)
	}
	sctx := withHop(ctx, items[0].hop)
	span := trace.SpanFromContext(sctx)
	if traced {
		opts := []trace.SpanStartOption{
			trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
			trace.WithAttributes(messagingAttrs(kind, c.Topic, "process", semconv.MessagingOperationTypeProcess)...),
			trace.WithAttributes(semconv.MessagingConsumerGroupName(c.Group)),
		}
		if len(batch) > 1 {
			opts = append(opts, trace.WithAttributes(semconv.MessagingBatchMessageCount(len(batch))))
		} else {
			opts = append(opts, trace.WithAttributes(semconv.MessagingMessageID(strconv.FormatUint(items[0].env.msg, 16))))
			if kind == topology.BrokerKafka {
				// A NATS stream has no partitions.
				opts = append(opts, trace.WithAttributes(semconv.MessagingDestinationPartitionID(strconv.Itoa(int(batch[0].Partition)))))
			}
		}
		parent := sctx
		if c.Mode == topology.ConsumeParent {
			// The producer's trace goes on, its baggage with it.
			parent = baggage.ContextWithBaggage(sctx, baggage.FromContext(items[0].rctx))
			parent = trace.ContextWithRemoteSpanContext(parent, trace.SpanContextFromContext(items[0].rctx))
		} else {
			opts = append(opts, trace.WithNewRoot())
		}
		sctx, span = in.tracer.Tracer(tracerName).Start(parent, c.SpanName(), opts...)
	}
	err := in.handle(sctx, req)
	// A failed run fails every message of the batch; a poison message
	// fails on its own.
	errs := make([]error, len(batch))
	failed := err
	for i := range errs {
		errs[i] = err
		if err == nil && items[i].poisoned(g, in.rt.msg) {
			errs[i], failed = errPoison, errPoison
		}
	}
	if failed != nil && traced {
		span.RecordError(failed)
		span.SetStatus(codes.Error, "processing failed")
	}
	span.End()
	in.recordDeliveries(g, items, span.SpanContext(), errs, at)
	return errs
}

// poisoned reports whether a poison fault marked the message for g (not
// once it reached a dead-letter topic).
func (it *delivered) poisoned(g consumerGroup, m *messaging) bool {
	return it.env.poison&(1<<(g.index%64)) != 0 && m.deadFrom[g.route.Consume.Topic] == ""
}

// receive reads one delivery: its envelope, the headers as the network
// between producer and this group left them (header faults on the edge),
// and the context the consumer's propagators extract.
func (in *instance) receive(d *broker.Delivery, g consumerGroup, prop propagation.TextMapPropagator) delivered {
	hs := slices.Clone(d.Headers)
	h := msgHeaders{&hs}
	env, sealed := parseEnvelope(h.Get(EnvelopeHeader))
	h.Del(EnvelopeHeader)
	var it delivered
	if !sealed {
		it = delivered{d: d, hop: in.rt.externalHop(), foreign: true}
	} else {
		topic := g.route.Consume.Topic
		key := deliveryHop(env.msg, topic, g.index, 0)
		n := in.rt.msg.delivery(key, d.Redelivery)
		it = delivered{d: d, env: env, key: key, n: n, hop: deliveryHop(env.msg, topic, g.index, n), from: env.from, sealed: n > 0}
		if dlq := in.rt.msg.deadFrom[topic]; dlq != "" {
			it.from, it.sealed = dlq, true
		}
	}
	hop := it.hop
	for _, a := range in.rt.headerFaults(it.from, in.svc.Name) {
		applyHeaderFault(h, a.f, hop)
	}
	it.rctx = prop.Extract(context.Background(), broker.HeaderCarrier(&hs))
	it.rec = recvRec{hop: hop, headers: headerSet(h.Get), got: contextOf(trace.SpanContextFromContext(it.rctx))}
	in.rt.ledger.headerDetail(&it.rec, h.Get)
	return it
}

// recordDeliveries writes the consumer's side of each delivery of a batch
// processed under span, and pays what the group was owed for those it is
// done with.
func (in *instance) recordDeliveries(g consumerGroup, items []delivered, span trace.SpanContext, errs []error, at int64) {
	l := in.rt.ledger
	c := g.route.Consume
	delivs := make([]delivRec, 0, len(items))
	var msgs []msgRec
	topic := l.syms.id(c.Topic)
	for i := range items {
		it := &items[i]
		if it.foreign {
			continue
		}
		if it.sealed {
			// The producer recorded the first delivery's send; this one's
			// comes from what it sealed in the message.
			fromInst := uint16(it.env.fromInst)
			if it.from != it.env.from {
				fromInst = 0 // the dead-lettering instance is not known
			}
			in.shard.addSend(it.env.send(it.hop, it.n, g, l.syms.id(it.from), fromInst))
			in.shard.addAnswer(it.hop, it.d.Timestamp, 0)
			msgs = append(msgs, msgRec{hop: it.hop, msg: it.env.msg, at: it.d.Timestamp, offset: it.d.Offset,
				topic: topic, group: g.group32, partition: it.d.Partition})
		}
		err := errs[i]
		it.rec.server, it.rec.serverSpan = contextOf(span), span.IsValid()
		it.rec.calleeError = err != nil
		in.shard.addRecv(it.rec)
		dead := err != nil && it.d.Redelivery+1 >= c.MaxDeliveries
		delivs = append(delivs, delivRec{hop: it.hop, at: at, toInst: uint16(in.index), batch: uint16(min(len(items), 65535)),
			redelivery: uint8(min(it.n, 255)), parent: c.Mode == topology.ConsumeParent, dead: dead})
		switch {
		case err == nil:
			in.rt.msg.pay(it.key, 0)
		case dead:
			// What the group gave up on, its dead-letter topic's groups
			// now owe.
			in.rt.msg.pay(it.key, len(in.rt.msg.groups[c.DeadLetter]))
		}
	}
	if len(msgs) > 0 {
		in.shard.addMessages(msgs)
	}
	in.shard.addDeliveries(delivs)
}
