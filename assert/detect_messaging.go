package assert

// This file holds the detect rules of the faults on asynchronous edges:
// a broker's outage and poison messages.

import (
	"github.com/tracerig/tracerig/internal/record"
)

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
	for i := range d.in.Hops {
		h := &d.in.Hops[i]
		m := h.Message
		if m == nil || m.Redelivery > 0 || !topics[m.Topic] {
			continue
		}
		z, w := d.zoneOf(h.SentAt, 0)
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
