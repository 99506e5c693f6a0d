package assert

// This file holds the detect rules of the faults on asynchronous edges
// (a broker's outage and poison messages) and how the spans of a consume
// route are told apart.

import (
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// routeSpans tells the server spans of a fault's target route from the
// others of its service: by name, and for a consume route, whose spans are
// named after the topic (two routes of a service may consume one topic in
// two groups), by consumer group as well.
type routeSpans struct {
	name  string // "": every route
	group string // "": not a consume route
}

// targetRouteSpans are the spans of tgt's route, as the topology names
// them; without a topology, those named after the route.
func targetRouteSpans(topo *topology.Topology, tgt topology.FaultTarget) routeSpans {
	rs := routeSpans{name: tgt.Route}
	if topo == nil || tgt.Route == "" {
		return rs
	}
	if s := topo.Service(tgt.Service); s != nil {
		if r := s.Route(tgt.Route); r != nil && r.Consume != nil {
			rs = routeSpans{name: r.Consume.SpanName(), group: r.Consume.Group}
		}
	}
	return rs
}

// match reports whether s is a span of the route. A consumer span without
// its group attribute (a backend that keeps none) is taken by its name.
func (rs routeSpans) match(s *record.Span) bool {
	if rs.name == "" {
		return true
	}
	if s.Name != rs.name {
		return false
	}
	g, ok := s.Attr(consumerGroupKey)
	return rs.group == "" || !ok || g == rs.group
}

// consumerGroupKey is the attribute naming a consumer span's group.
const consumerGroupKey = "messaging.consumer.group.name"

// brokerOutage counts, among the messages published to the broker's
// topics (first deliveries, one per message and group), those the broker
// refused or held (acknowledged a tenth of the shortest window or more
// after the publish: a Kafka producer buffers and retries until the
// broker is back), by when they were published.
func (d *detectGroup) brokerOutage() {
	topics := map[string]bool{}
	if t := d.in.Topology; t != nil {
		if b := t.Broker(d.tgt.Broker); b != nil {
			for _, tp := range b.Topics {
				topics[tp.Name] = true
			}
		}
	}
	var pubs []*record.Hop
	for i := range d.in.Hops {
		h := &d.in.Hops[i]
		if m := h.Message; m != nil && m.Redelivery == 0 && topics[m.Topic] {
			pubs = append(pubs, h)
		}
	}
	recovered := d.recovered(pubs)
	for _, h := range pubs {
		m := h.Message
		z, w := d.zoneOf(h.SentAt, 0)
		if z == zoneOut && h.SentAt < recovered[producer{h.From, h.FromInstance}] {
			// The aftermath: the producer has not had a publish through
			// promptly since the broker came back (a Kafka client waits
			// out its reconnect backoff and a metadata refresh).
			z = zoneGrace
		}
		what := "publish refused"
		switch {
		case m.PublishedAt == 0:
		case h.AnsweredAt-h.SentAt >= d.held.floor:
			what = "publish held until the broker answered"
		default:
			d.c.t.add(z, z, false)
			continue
		}
		d.c.t.add(d.effect(z, w, h.SentAt, nil, d.tgt.Broker, what, d.messageEx(h)), z, true)
	}
}

// producer is one instance of a publishing service.
type producer struct {
	service  string
	instance int
}

// recovered returns, per producer instance, when its first publish after
// the last window closed went through promptly (acknowledged within a
// tenth of the shortest window); until then its publishes are the
// outage's aftermath.
func (d *detectGroup) recovered(pubs []*record.Hop) map[producer]int64 {
	var end int64
	for _, w := range d.wins {
		end = max(end, w.End)
	}
	out := map[producer]int64{}
	for _, h := range pubs {
		if h.SentAt <= end || h.Message.PublishedAt == 0 || h.AnsweredAt-h.SentAt >= d.held.floor {
			continue
		}
		p := producer{h.From, h.FromInstance}
		if at, ok := out[p]; !ok || h.SentAt < at {
			out[p] = h.SentAt
		}
	}
	return out
}

// poison counts, among the messages published over the edge, those its
// consumer gave up on (dead-lettered, or dropped without a dead-letter
// topic), by when they were published: a poison message fails every
// delivery however long after the window it comes.
func (d *detectGroup) poison() {
	subject := targetName(d.tgt)
	dead := map[uint64]bool{}
	var firsts []*record.Hop
	for i := range d.in.Hops {
		h := &d.in.Hops[i]
		m := h.Message
		if m == nil || !d.onEdge(h) {
			continue
		}
		if m.DeadLetter {
			dead[m.ID] = true
		}
		if m.Redelivery == 0 && m.PublishedAt != 0 {
			firsts = append(firsts, h)
		}
	}
	for _, h := range firsts {
		z, w := d.zoneOf(h.SentAt, 0)
		if !dead[h.Message.ID] {
			d.c.t.add(z, z, false)
			continue
		}
		d.c.t.add(d.effect(z, w, h.SentAt, nil, subject, "message given up on", d.messageEx(h)), z, true)
	}
}

// messageEx is evidence for the message hop h carried.
func (d *detectTally) messageEx(h *record.Hop) func() string {
	return func() string {
		return d.rel(h.SentAt) + ": request " + itoa(int(h.Request)) + " " + messageString(h.Message)
	}
}
