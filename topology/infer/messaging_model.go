package infer

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// Broker is one derived broker: one per messaging.system seen.
type Broker struct {
	Name   string
	Kind   topology.BrokerKind
	System string // messaging.system, "" when no span said
	Topics []*Topic
}

// Topic is one derived topic: a messaging.destination.name.
type Topic struct {
	Name   string
	Broker string
	System string
	// Partitions is the highest partition id seen plus one, on a Kafka
	// topic whose spans carry one; 0: the topology's default.
	Partitions  int
	Partitioned int64 // spans carrying a partition id
	Producers   int64
	Consumers   int64
	// Written says a written route publishes to the topic and another
	// consumes it; a topic without both ends is left out.
	Written bool
}

// Consume is a consume route's settings, as its consumer spans said.
type Consume struct {
	Topic string
	// Group is the most common consumer group; "" when no span named
	// one. DefaultGroup says it is the service's name (or none), the
	// topology's default, and is not written.
	Group        string
	GroupSpans   int64 // the consumer spans naming Group
	DefaultGroup bool
	// Batch is the most messages one consumer span carried (links or
	// messaging.batch.message_count), at least 1; Batched the spans
	// carrying more than one.
	Batch   int
	Batched int64
	Mode    topology.ConsumeMode
	// Spans are the route's consumer spans, ParentSpans those whose
	// parent is a producer span (the producer's trace goes on).
	Spans, ParentSpans int64
	Written            bool
	Why                string // why the route is not written
}

// maxBatch and maxPartitions are the topology's bounds.
const (
	maxBatch      = 1000
	maxPartitions = 1000
)

// topics derives the topics from their aggregates, by interned
// destination: names made unique, each on the broker of its most common
// messaging.system.
func (b *Builder) topics() map[uint32]*Topic {
	ids := make([]uint32, 0, len(b.agg.topics))
	for id := range b.agg.topics {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y uint32) int { return cmp.Compare(b.names.str(x), b.names.str(y)) })
	out, used := map[uint32]*Topic{}, map[string]bool{}
	for _, id := range ids {
		ta := b.agg.topics[id]
		name := topicName(b.names.str(id))
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", topicName(b.names.str(id)), n)
		}
		used[name] = true
		sys, _ := b.most(ta.systems)
		t := &Topic{Name: name, System: sys, Broker: brokerName(sys), Partitioned: ta.partitioned,
			Producers: ta.producers, Consumers: ta.consumers}
		if brokerKind(sys) == topology.BrokerKafka && ta.maxPartition >= 0 {
			t.Partitions = min(ta.maxPartition+1, maxPartitions)
		}
		out[id] = t
	}
	return out
}

// brokerName names the broker of a messaging system after it.
func brokerName(system string) string {
	if system == "" {
		return "broker"
	}
	return serviceName(system)
}

// brokerKind is the broker kind a messaging system runs as: kafka for
// kafka, nats for every other (the topology knows these two).
func brokerKind(system string) topology.BrokerKind {
	if strings.EqualFold(system, string(topology.BrokerKafka)) {
		return topology.BrokerKafka
	}
	return topology.BrokerNATS
}

// consume derives a consume route's settings; svc is its service's name,
// the topology's default group.
func (b *Builder) consume(ca *consumeAgg, ra *routeAgg, svc string, topics map[uint32]*Topic) *Consume {
	topic, _ := b.mostID(ca.topics)
	c := &Consume{Topic: topics[topic].Name, Batch: max(1, min(ca.maxBatch, maxBatch)), Batched: ca.batched,
		Mode: topology.ConsumeLink, Spans: ra.requests, ParentSpans: ca.parent, Written: true}
	if g, n := b.most(ca.groups); g != "" {
		c.Group, c.GroupSpans = topicName(g), n
	}
	c.DefaultGroup = c.Group == "" || c.Group == svc
	if 2*c.ParentSpans > c.Spans && c.Batch == 1 {
		c.Mode = topology.ConsumeParent
	}
	return c
}

// mostID is most, returning the interned key.
func (b *Builder) mostID(counts map[uint32]int64) (uint32, int64) {
	best, n := uint32(0), int64(-1)
	for id, c := range counts {
		if c > n || c == n && b.names.str(id) < b.names.str(best) {
			best, n = id, c
		}
	}
	return best, n
}

// targetsOf returns what a written callee leads to: the called route, or
// every consume route of the topic published to.
func targetsOf(m *Model, routes map[uint64]*Route) func(c *Callee) []*Route {
	consumers := map[string][]*Route{}
	for _, s := range m.Services {
		for _, r := range s.Routes {
			if r.Consume != nil {
				consumers[r.Consume.Topic] = append(consumers[r.Consume.Topic], r)
			}
		}
	}
	return func(c *Callee) []*Route {
		if c.Topic != "" {
			return consumers[c.Topic]
		}
		if t := routes[c.key]; t != nil {
			return []*Route{t}
		}
		return nil
	}
}

// oneRoutePerGroup leaves out a consume route whose group already
// consumes its topic in a route of more consumer spans (a service whose
// consumer spans of one topic have two names): the topology takes one
// route per group and topic.
func oneRoutePerGroup(m *Model) {
	kept := map[[2]string]*Route{}
	for _, s := range m.Services {
		for _, r := range s.Routes {
			cs := r.Consume
			if cs == nil {
				continue
			}
			group := cs.Group
			if cs.DefaultGroup {
				group = s.Name
			}
			k := [2]string{cs.Topic, group}
			other := kept[k]
			if other == nil {
				kept[k] = r
				continue
			}
			if other.Requests < r.Requests {
				kept[k], other, r = r, r, other
			}
			r.Consume.Written = false
			r.Consume.Why = fmt.Sprintf("group %s consumes topic %s in route %q too, from more consumer spans: the topology takes one route per group and topic", group, cs.Topic, other.Name)
		}
	}
}

// closeTopics leaves out each publish to a topic no written route consumes
// and each consume route of a topic no written route publishes to, until
// every asynchronous edge has both ends, as the topology requires; then
// marks the topics written.
func closeTopics(m *Model, topics map[uint32]*Topic) {
	var published, consumed map[string]bool
	for changed := true; changed; {
		changed = false
		published, consumed = map[string]bool{}, map[string]bool{}
		for _, s := range m.Services {
			for _, r := range s.Routes {
				if r.Consume != nil && !r.Consume.Written {
					continue
				}
				if r.Consume != nil {
					consumed[r.Consume.Topic] = true
				}
				for _, c := range r.Callees {
					published[c.Topic] = published[c.Topic] || c.Written && c.Topic != ""
				}
			}
		}
		for _, s := range m.Services {
			for _, r := range s.Routes {
				changed = closeRoute(r, published, consumed) || changed
			}
		}
	}
	for _, t := range topics {
		t.Written = published[t.Name] && consumed[t.Name]
	}
}

// closeRoute leaves out r's open ends, and reports whether it did.
func closeRoute(r *Route, published, consumed map[string]bool) bool {
	if cs := r.Consume; cs != nil && cs.Written && !published[cs.Topic] {
		cs.Written = false
		cs.Why = fmt.Sprintf("no written route publishes to topic %s, and the topology needs a producer for each topic consumed", cs.Topic)
		return true
	}
	changed := false
	for _, c := range r.Callees {
		if c.Written && c.Topic != "" && !consumed[c.Topic] {
			c.Written = false
			c.Why = fmt.Sprintf("no written route consumes topic %s, and the topology needs a consumer for each topic published to", c.Topic)
			changed = true
		}
	}
	return changed
}

// brokers groups the written topics by broker, both by name.
func brokers(topics map[uint32]*Topic) []*Broker {
	byName := map[string]*Broker{}
	var out []*Broker
	for _, t := range topics {
		if !t.Written {
			continue
		}
		br := byName[t.Broker]
		if br == nil {
			br = &Broker{Name: t.Broker, Kind: brokerKind(t.System), System: t.System}
			byName[t.Broker] = br
			out = append(out, br)
		}
		br.Topics = append(br.Topics, t)
	}
	slices.SortFunc(out, func(x, y *Broker) int { return cmp.Compare(x.Name, y.Name) })
	for _, br := range out {
		slices.SortFunc(br.Topics, func(x, y *Topic) int { return cmp.Compare(x.Name, y.Name) })
	}
	return out
}
