package infer

import (
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/internal/record"
)

// publishSvc is the service half of a publish callee's key: a publish is
// keyed by its topic, as a call by its route.
const publishSvc = ^uint32(0)

// publishKey is the callee key of a publish to the interned topic.
func publishKey(topic uint32) uint64 { return routeKey(publishSvc, topic) }

// isPublish reports whether a callee key is a publish's.
func isPublish(key uint64) bool {
	svc, _ := splitKey(key)
	return svc == publishSvc
}

// topicAgg is what the messaging spans of one topic (destination) said,
// read as they are added: none of it depends on the rest of the trace.
type topicAgg struct {
	systems      map[uint32]int64 // interned messaging.system → spans
	maxPartition int              // highest partition id seen; -1 none
	partitioned  int64            // spans carrying a partition id
	producers    int64
	consumers    int64
}

// consumeAgg is what the consumer spans of one consume route said.
type consumeAgg struct {
	topics   map[uint32]int64 // interned destination → spans
	groups   map[uint32]int64 // interned consumer group → spans
	maxBatch int              // most messages one span carried
	batched  int64            // spans that carried more than one
	parent   int64            // spans whose parent is a producer span
}

// messagingKeys are the attributes read from messaging spans: the current
// semantic conventions' names first, then older ones.
var (
	destinationKeys = []string{"messaging.destination.name", "messaging.destination"}
	partitionKeys   = []string{"messaging.destination.partition.id", "messaging.kafka.destination.partition", "messaging.kafka.partition"}
	groupKeys       = []string{"messaging.consumer.group.name", "messaging.kafka.consumer.group"}
)

// destination returns a messaging span's topic, or "".
func destination(s *record.Span) string { return attrOr(s, "", destinationKeys...) }

// messaging folds what a producer or consumer span says about its topic
// (and, for a consumer, its consume route) into the aggregates, and
// returns the span's interned name: the topic for a producer, the consume
// route for a consumer.
func (b *Builder) messaging(s *record.Span, svc uint32) uint32 {
	topic := b.names.id(destination(s))
	ta := b.agg.topics[topic]
	if ta == nil {
		ta = &topicAgg{systems: map[uint32]int64{}, maxPartition: -1}
		b.agg.topics[topic] = ta
	}
	ta.systems[b.names.id(attrOr(s, "", "messaging.system"))]++
	if p, err := strconv.Atoi(attrOr(s, "", partitionKeys...)); err == nil && p >= 0 {
		ta.maxPartition = max(ta.maxPartition, p)
		ta.partitioned++
	}
	if s.Kind == record.KindProducer {
		ta.producers++
		return topic
	}
	ta.consumers++
	route := b.names.id(consumeRouteName(s))
	ca := b.agg.consumers[routeKey(svc, route)]
	if ca == nil {
		ca = &consumeAgg{topics: map[uint32]int64{}, groups: map[uint32]int64{}}
		b.agg.consumers[routeKey(svc, route)] = ca
	}
	ca.topics[topic]++
	if g := attrOr(s, "", groupKeys...); g != "" {
		ca.groups[b.names.id(g)]++
	}
	n := len(s.Links)
	if v, err := strconv.Atoi(attrOr(s, "", "messaging.batch.message_count")); err == nil {
		n = max(n, v)
	}
	ca.maxBatch = max(ca.maxBatch, n)
	if n > 1 {
		ca.batched++
	}
	return route
}

// consumeRouteName names the consume route a consumer span ran: its name
// ("process orders", as tracerig's consumers name theirs), made printable.
func consumeRouteName(s *record.Span) string {
	name := strings.Join(strings.FieldsFunc(s.Name, func(r rune) bool { return r <= ' ' }), " ")
	if name == "" {
		return "process " + destination(s)
	}
	return name
}

// topicName turns a destination into a topic name: letters, digits, '.',
// '_' and '-', starting with a letter or digit.
func topicName(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() == 0:
		case r == '.' || r == '_' || r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	if b.Len() == 0 {
		return "topic"
	}
	return b.String()
}

// most returns the key counted most often (the smallest string on a tie),
// and its count.
func (b *Builder) most(counts map[uint32]int64) (string, int64) {
	best, n := "", int64(-1)
	for id, c := range counts {
		if s := b.names.str(id); c > n || c == n && s < best {
			best, n = s, c
		}
	}
	return best, n
}
