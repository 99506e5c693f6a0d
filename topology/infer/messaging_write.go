package infer

import (
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/topology"
)

// writeBrokers writes the brokers: section, when a topic was written.
func writeBrokers(w *writer, m *Model) {
	if len(m.Brokers) == 0 {
		return
	}
	w.line(0, "# One broker per messaging.system of the producer and consumer spans, named after it;")
	w.line(0, "# topics from messaging.destination.name.")
	w.line(0, "brokers:")
	for _, br := range m.Brokers {
		w.line(1, "%s:", br.Name)
		switch {
		case br.System == "":
			w.line(2, "# no messaging.system on its spans: run as %s", br.Kind)
		case !strings.EqualFold(br.System, string(br.Kind)):
			w.line(2, "# messaging.system %s has no broker kind in the topology: run as %s", br.System, br.Kind)
		}
		w.line(2, "kind: %s", br.Kind)
		w.line(2, "topics:")
		for _, t := range br.Topics {
			w.line(3, "# %d producer and %d consumer spans", t.Producers, t.Consumers)
			if t.Partitions == 0 {
				w.line(3, "%s: {}", q(t.Name))
				continue
			}
			w.line(3, "# partitions: the highest messaging.destination.partition.id seen, plus one, in %d spans", t.Partitioned)
			w.line(3, "%s: {partitions: %d}", q(t.Name), t.Partitions)
		}
	}
}

// writeConsume writes a consume route's consume: line, with what each
// setting was derived from.
func writeConsume(w *writer, c *Consume) {
	var b strings.Builder
	b.WriteString("consume: {topic: " + q(c.Topic))
	switch {
	case c.Group == "":
		w.line(4, "# group: no consumer span names one (messaging.consumer.group.name): the default, the service's name")
	case c.DefaultGroup:
		w.line(4, "# group %s (messaging.consumer.group.name of %d of %d consumer spans): the default, the service's name", c.Group, c.GroupSpans, c.Spans)
	default:
		w.line(4, "# group: the most common messaging.consumer.group.name, of %d of %d consumer spans", c.GroupSpans, c.Spans)
		b.WriteString(", group: " + q(c.Group))
	}
	if c.Batch > 1 {
		w.line(4, "# batch: the most messages one consumer span carried (links or messaging.batch.message_count);")
		w.line(4, "# %d of %d consumer spans carried more than one", c.Batched, c.Spans)
		b.WriteString(", batch: " + strconv.Itoa(c.Batch))
	}
	w.line(4, "# mode %s: %d of %d consumer spans are children of a producer span", c.Mode, c.ParentSpans, c.Spans)
	if c.Mode == topology.ConsumeLink && 2*c.ParentSpans > c.Spans {
		w.line(4, "# (most, but a batch of messages takes mode link: a span has one parent)")
	}
	b.WriteString(", mode: " + string(c.Mode) + "}")
	w.line(4, "%s", b.String())
}

// writePublish writes one publish step at indent (the dash's), once per
// time it is made in a request.
func writePublish(w *writer, indent int, c *Callee) {
	w.line(indent, "# a producer span in %.0f%% of requests, %.2f per request publishing", 100*c.Share, c.PerRequest)
	for range c.Times {
		w.line(indent, "- publish: {topic: %s}", q(c.Topic))
	}
}

// written reports whether a service has a route to write: a consume route
// of a topic left out is not written.
func written(s *Service) bool {
	for _, r := range s.Routes {
		if r.Consume == nil || r.Consume.Written {
			return true
		}
	}
	return false
}
