package synthetic

// This file compiles the asynchronous edges of a topology: the topics its
// routes publish to, and the consumer groups that take each topic's
// messages, with the spans the in-process runtime makes for them.

import (
	"encoding/binary"

	"go.opentelemetry.io/collector/pdata/ptrace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/tracerig/tracerig/topology"
)

// maxChunk bounds Generator.chunk, the traces a builder of Run claims at
// once: when the batch sizes have no common multiple this small, the
// batches a chunk cuts are completed by replaying their first traces.
const maxChunk = 4096

// msgShape is the constant part of a messaging span.
type msgShape struct {
	name  string
	kind  ptrace.SpanKind
	attrs []attr // without the attribute that varies (msgAttr)
	enc   []byte // attrs as encoded Span.attributes fields
}

// topicInfo is a topic as the generator publishes to it: the producer
// span's shape, and the groups every message goes to.
type topicInfo struct {
	shape  msgShape
	groups []*groupInfo // in file order
}

// groupInfo is one consumer group of a topic: its consume route, run for
// each message (batch 1) or for the messages of each batch of consecutive
// requests of a shard (batch above 1, mode link).
type groupInfo struct {
	shape  msgShape
	key    uint64 // from the topic's and the group's names: salts what it starts
	batch  int
	parent bool // mode parent: in the producer's trace, under its span
	route  *routeInfo
	// slot is the group's index in Generator.batched and Builder.acc;
	// -1 for a group that takes single messages.
	slot int
	// feeds has a bit per slot: the batched groups whose runs carry, at
	// some depth, messages to this group's topic (itself included). A
	// replay of this group's batch tracks only those.
	feeds []bool
}

// msgAttr is the attribute of a messaging span that varies: the message's
// ID (hex) or, for a batch, its message count.
type msgAttr struct {
	key   string
	num   uint64
	isHex bool
}

// messageIDAttr is messaging.message.id of message id.
func messageIDAttr(id uint64) msgAttr {
	return msgAttr{key: string(semconv.MessagingMessageIDKey), num: id, isHex: true}
}

// batchAttr is messaging.batch.message_count of a batch of n messages.
func batchAttr(n int) msgAttr {
	return msgAttr{key: string(semconv.MessagingBatchMessageCountKey), num: uint64(n)}
}

// messagingAttrs are the attributes every messaging span of a broker kind
// has, as the in-process runtime sets them.
func messagingAttrs(kind topology.BrokerKind, topic, op string) []attr {
	system := semconv.MessagingSystemKafka.Value.AsString()
	if kind == topology.BrokerNATS {
		system = "nats"
	}
	return []attr{
		{key: string(semconv.MessagingSystemKey), str: system},
		{key: string(semconv.MessagingDestinationNameKey), str: topic},
		{key: string(semconv.MessagingOperationNameKey), str: op},
		{key: string(semconv.MessagingOperationTypeKey), str: op},
	}
}

func newShape(name string, kind ptrace.SpanKind, attrs []attr) msgShape {
	return msgShape{name: name, kind: kind, attrs: attrs, enc: encodeAttrs(nil, 9, attrs)}
}

// topic compiles a topic and its consumer groups; nil when it names
// nothing or its messages lead back to it (a cycle validation refuses).
func (c *routeCompiler) topic(name string) *topicInfo {
	if ti, ok := c.topics[name]; ok {
		return ti
	}
	tp := c.t.Topic(name)
	if tp == nil || c.topicOnPath[name] {
		return nil
	}
	c.topicOnPath[name] = true
	defer delete(c.topicOnPath, name)
	kind := topology.BrokerNATS
	if b := c.t.Broker(tp.Broker); b != nil && b.Kind != "" {
		kind = b.Kind
	}
	ti := &topicInfo{shape: newShape("send "+name, ptrace.SpanKindProducer,
		append(messagingAttrs(kind, name, "send"), extra(c.extra)...))}
	for _, cons := range c.t.Consumers(name) {
		if gi := c.group(kind, cons); gi != nil {
			ti.groups = append(ti.groups, gi)
		}
	}
	c.topics[name] = ti
	return ti
}

// group compiles one consumer group; its route, and what that route
// publishes, first, so that c.groups lists every group after the groups
// its runs publish to.
func (c *routeCompiler) group(kind topology.BrokerKind, cons topology.Consumer) *groupInfo {
	cs := cons.Route.Consume
	ri := c.route(topology.RouteRef{Service: cons.Service.Name, Route: cons.Route.Name})
	if ri == nil {
		return nil
	}
	attrs := append(messagingAttrs(kind, cs.Topic, "process"), attr{key: string(semconv.MessagingConsumerGroupNameKey), str: cs.Group})
	gi := &groupInfo{
		shape: newShape(cs.SpanName(), ptrace.SpanKindConsumer, append(attrs, extra(c.extra)...)),
		key:   mix64(hashName(cs.Topic) ^ mix64(hashName(cs.Group))),
		batch: max(cs.Batch, 1), parent: cs.Mode == topology.ConsumeParent, route: ri, slot: -1,
	}
	if gi.parent {
		gi.batch = 1
	}
	c.groups = append(c.groups, gi)
	return gi
}

// addBatched lists the groups that take batches, upstream first (a group
// before every group its runs publish to), gives each its slot and what
// feeds it, and sizes the chunks of Run to their batches.
func (g *Generator) addBatched(post []*groupInfo) {
	for i := len(post) - 1; i >= 0; i-- {
		if gi := post[i]; gi.batch > 1 {
			gi.slot = len(g.batched)
			g.batched = append(g.batched, gi)
		}
	}
	g.chunk = 1
	for _, gi := range g.batched {
		l := lcm(g.chunk, gi.batch)
		if l > maxChunk {
			l = max(g.chunk, gi.batch)
		}
		g.chunk = l
		gi.feeds = make([]bool, len(g.batched))
	}
	memo := map[*routeInfo][]bool{}
	for _, up := range g.batched {
		for slot, on := range reach(up.route, len(g.batched), memo) {
			if on {
				g.batched[slot].feeds[up.slot] = true
			}
		}
		up.feeds[up.slot] = true
	}
}

// reach returns a bit per slot: the batched groups that messages from a
// run of r reach, at any depth.
func reach(r *routeInfo, n int, memo map[*routeInfo][]bool) []bool {
	if out, ok := memo[r]; ok {
		return out
	}
	out := make([]bool, n)
	memo[r] = out
	var walk func(steps []step)
	walk = func(steps []step) {
		for i := range steps {
			st := &steps[i]
			switch {
			case st.call != nil && st.call.callee != nil:
				or(out, reach(st.call.callee, n, memo))
			case st.topic != nil:
				for _, gi := range st.topic.groups {
					if gi.slot >= 0 {
						out[gi.slot] = true
					}
					or(out, reach(gi.route, n, memo))
				}
			}
			walk(st.steps)
		}
	}
	walk(r.steps)
	return out
}

func or(dst, src []bool) {
	for i, on := range src {
		dst[i] = dst[i] || on
	}
}

func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}

// hashName is FNV-1a of s.
func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// ownTraceID returns the ID of a trace a consumer starts while trace seq
// is built, key telling it from the others: a function of the seed (and
// run, with IsolateIDs), seq and key, which SeqOf does not take for a
// request's.
func (g *Generator) ownTraceID(seq, key uint64) [16]byte {
	lo := mix64(seq^g.loMask) ^ mix64(key+0x6a09e667f3bcc909)
	hi := mix64(lo ^ g.hiSalt ^ 0xbb67ae8584caa73b)
	if hi == 0 {
		hi = 1
	}
	var t [16]byte
	binary.BigEndian.PutUint64(t[:8], hi)
	binary.BigEndian.PutUint64(t[8:], lo)
	return t
}

// messageID returns the ID of the i-th message published in the trace
// whose ID's high half is hi.
func messageID(hi uint64, i int) uint64 {
	return max(mix64(hi^(uint64(i+1)*0xc2b2ae3d27d4eb4f)), 1)
}
