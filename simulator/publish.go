package simulator

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator/broker"
	"github.com/tracerig/tracerig/topology"
)

// EnvelopeHeader is the harness header every message carries: what the
// producer sent, sealed, so that the consumer can record a redelivery's
// hop in full. It is tracerig's own, so no header fault touches it.
const EnvelopeHeader = "tracerig-envelope"

// envelope is what the producer seals into a message.
type envelope struct {
	msg, request, parent uint64
	sentAt               int64
	sent                 record.Context
	clientSpan           bool
	from                 string // producing service
	fromInst             int
	headers              record.Header
	// poison has a bit per consumer group (by index) that a poison fault
	// on the edge to it marked the message for: every delivery fails.
	poison uint64
}

// String writes the envelope as space-separated fields.
func (e envelope) String() string {
	b := make([]byte, 0, 128)
	for _, v := range []uint64{e.msg, e.request, e.parent, uint64(e.sentAt)} {
		b = appendHex(b, v)
		b = append(b, ' ')
	}
	b = append(b, e.sent.Trace.String()...)
	b = append(b, ' ')
	b = append(b, e.sent.Span.String()...)
	flags := uint64(0)
	for i, on := range []bool{e.sent.Sampled, e.clientSpan} {
		if on {
			flags |= 1 << i
		}
	}
	b = append(b, ' ')
	b = appendHex(b, flags)
	b = append(b, ' ')
	b = appendHex(b, uint64(e.headers))
	b = append(b, ' ')
	b = appendHex(b, e.poison)
	b = append(b, ' ')
	b = append(b, e.from...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(e.fromInst), 10)
	return string(b)
}

// parseEnvelope reads an envelope written by String.
func parseEnvelope(v string) (envelope, bool) {
	f := strings.Fields(v)
	if len(f) != 11 {
		return envelope{}, false
	}
	var e envelope
	var nums [4]uint64
	for i := range nums {
		n, ok := parseHex(f[i])
		if !ok {
			return envelope{}, false
		}
		nums[i] = n
	}
	e.msg, e.request, e.parent, e.sentAt = nums[0], nums[1], nums[2], int64(nums[3])
	flags, ok1 := parseHex(f[6])
	hdrs, ok2 := parseHex(f[7])
	poison, ok3 := parseHex(f[8])
	inst, err := strconv.Atoi(f[10])
	_, err1 := hex.Decode(e.sent.Trace[:], []byte(f[4]))
	_, err2 := hex.Decode(e.sent.Span[:], []byte(f[5]))
	if !ok1 || !ok2 || !ok3 || err != nil || err1 != nil || err2 != nil || len(f[4]) != 32 || len(f[5]) != 16 {
		return envelope{}, false
	}
	e.sent.Sampled = flags&1 != 0
	e.clientSpan, e.poison = flags&2 != 0, poison
	e.headers, e.from, e.fromInst = record.Header(hdrs), f[9], inst
	return e, true
}

// deliveryHop returns the hop ID of delivery redelivery of message msg to
// the group at index group among those consuming topic.
func deliveryHop(msg uint64, topic string, group, redelivery int) uint64 {
	return mix(mix(msg, hashName(topic)^uint64(group)), uint64(redelivery))
}

// hashName is FNV-1a of s: the same in every process.
func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// messageID returns the ID of the message the publish step at index
// publishes in the handler of hop parent.
func messageID(parent uint64, index int) uint64 {
	return mix(mix(parent, 0x9b1c), uint64(index))
}

// publish publishes one message: a producer span (when traced), the trace
// context injected into the message's headers by the service's
// propagators, one send per consumer group of the topic, and once the
// broker answered, where it stored the message.
func (in *instance) publish(ctx context.Context, req *inbound, p *topology.Publish) error {
	m := in.rt.msg
	tp := in.rt.topo.Topic(p.Topic)
	client, err := in.brokerClient(ctx, tp.Broker)
	if err != nil {
		return err
	}
	kind := in.rt.topo.Broker(tp.Broker).Kind
	e := envelope{
		msg: messageID(req.hop, m.pubIndex[p]), request: req.request, parent: req.hop,
		from: in.svc.Name, fromInst: in.index, clientSpan: req.instrumented,
	}
	span := trace.SpanFromContext(ctx)
	if req.instrumented {
		ctx, span = in.tracer.Tracer(tracerName).Start(ctx, "send "+p.Topic,
			trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(messagingAttrs(kind, p.Topic, "send", semconv.MessagingOperationTypeSend)...),
			trace.WithAttributes(semconv.MessagingMessageID(strconv.FormatUint(e.msg, 16))))
		defer span.End()
	}
	var hs []broker.Header
	if req.instrumented {
		in.prop.Inject(ctx, broker.HeaderCarrier(&hs))
		e.sent = contextOf(span.SpanContext())
	} else {
		for k, v := range req.forward {
			hs = append(hs, broker.Header{Key: k, Value: v})
		}
		e.sent = extracted(anyFormat, broker.HeaderCarrier(&hs))
	}
	get := msgHeaders{&hs}.Get
	e.headers = headerSet(get)
	e.sentAt = time.Now().UnixNano()
	groups := m.groups[p.Topic]
	for _, g := range groups {
		if in.rt.edgeFault(topology.FaultPoison, in.svc.Name, g.svc.Name) != nil {
			e.poison |= 1 << (g.index % 64)
		}
		rec := e.send(deliveryHop(e.msg, p.Topic, g.index, 0), 0, g, in.svcSym, uint16(in.index))
		in.rt.ledger.sentDetail(&rec, get)
		in.shard.addSend(rec)
	}
	hs = append(hs, broker.Header{Key: EnvelopeHeader, Value: e.String()})
	key := strconv.AppendUint(nil, e.msg, 16)
	res, perr := client.Publish(ctx, broker.Message{Topic: p.Topic, Key: key, Headers: hs, Value: key})
	at := time.Now().UnixNano()
	recs := make([]msgRec, len(groups))
	topic := in.rt.ledger.syms.id(p.Topic)
	for i, g := range groups {
		hop := deliveryHop(e.msg, p.Topic, g.index, 0)
		in.shard.addAnswer(hop, at, 0)
		recs[i] = msgRec{hop: hop, msg: e.msg, offset: res.Offset, topic: topic, group: g.group32, partition: res.Partition}
		if perr == nil {
			recs[i].at = at
		}
	}
	in.shard.addMessages(recs)
	if perr != nil {
		span.RecordError(perr)
		span.SetStatus(codes.Error, "publish failed")
		return fmt.Errorf("publish to %s: %w", p.Topic, perr)
	}
	m.owed.Add(int64(len(groups)))
	span.SetAttributes(partitionAttrs(kind, res)...)
	return nil
}

// send is the send record of the hop of one delivery of the message.
func (e envelope) send(hop uint64, redelivery int, g consumerGroup, from uint32, fromInst uint16) sendRec {
	return sendRec{
		hop: hop, parent: e.parent, request: e.request, attempt: uint8(min(redelivery, 255)),
		sentAt: e.sentAt, sent: e.sent, headers: e.headers, clientSpan: e.clientSpan,
		from: from, fromInst: fromInst, to: g.svcSym, route: g.route32, async: true,
	}
}

// tracerName is the instrumentation scope of the spans tracerig starts
// itself (the messaging spans).
const tracerName = "github.com/tracerig/tracerig/simulator"

// messagingAttrs are the attributes every messaging span of a broker kind
// has, as the messaging semantic conventions name them.
func messagingAttrs(kind topology.BrokerKind, topic, op string, opType attribute.KeyValue) []attribute.KeyValue {
	system := semconv.MessagingSystemKafka
	if kind == topology.BrokerNATS {
		system = semconv.MessagingSystemKey.String("nats")
	}
	return []attribute.KeyValue{system, semconv.MessagingDestinationName(topic), semconv.MessagingOperationName(op), opType}
}

// partitionAttrs say where the broker stored a message.
func partitionAttrs(kind topology.BrokerKind, res broker.Published) []attribute.KeyValue {
	if kind == topology.BrokerKafka {
		return []attribute.KeyValue{semconv.MessagingDestinationPartitionID(strconv.Itoa(int(res.Partition))), semconv.MessagingKafkaOffset(int(res.Offset))}
	}
	return []attribute.KeyValue{attribute.Int64("messaging.nats.stream.sequence", res.Offset)}
}

// msgHeaders adapts a message's headers to headers: names compared
// without case, as HTTP's are.
type msgHeaders struct{ h *[]broker.Header }

func (m msgHeaders) Get(k string) string {
	for _, h := range *m.h {
		if strings.EqualFold(h.Key, k) {
			return h.Value
		}
	}
	return ""
}

func (m msgHeaders) Set(k, v string) {
	m.Del(k)
	m.Add(k, v)
}

func (m msgHeaders) Add(k, v string) {
	*m.h = append(*m.h, broker.Header{Key: strings.ToLower(k), Value: v})
}

func (m msgHeaders) Del(k string) {
	out := (*m.h)[:0]
	for _, h := range *m.h {
		if !strings.EqualFold(h.Key, k) {
			out = append(out, h)
		}
	}
	*m.h = out
}
