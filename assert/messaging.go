package assert

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Messaging checks the asynchronous edges against the ledger: per edge,
// the messages its consumer group processed (not dead-lettered, not
// waiting forever), the links the consumer spans in the backend carry
// against those the ledger says they made, the lag from publish to
// processing, and how head sampling fell on each side of the link.
func Messaging(in Input, exp topology.MessagingExpect) Verdict {
	return Run(in, []topology.Expect{{Kind: topology.ExpectMessaging, Messaging: exp}})[0]
}

// asyncKey names one asynchronous edge: producer, consuming service, topic
// and group.
type asyncKey struct {
	from, to, topic, group string
}

func (k asyncKey) name() string { return edgeName(k.from, k.to) }

// asyncEdge is what the ledger and the backend say about one edge.
type asyncEdge struct {
	messages    int // messages published to the group (first deliveries' sends)
	acked       int // of them, acknowledged by the broker
	processed   int // processed by the group
	dead        int // given up on after their last delivery
	deliveries  int // every delivery
	redelivered int
	lag         dist // first deliveries: publish to processing
	// links: consumer spans in the backend against the contexts the
	// consumer extracted (the ledger's links).
	linksWant, linksFound, consumerLost int
	linkMissing                         []string
	// unlinked counts deliveries that arrived without a context to link.
	unlinked int
	// sampling across the link, first deliveries processed by a traced
	// consumer: producer span kept or not × consumer span kept or not.
	bothKept, producerOnly, consumerOnly, neither int
	neverEx                                       []string
}

// msgTally is the messaging check judged group by group: a message's
// deliveries to one group are hops of one load request, so they meet in
// one group.
type msgTally struct {
	exp      topology.MessagingExpect
	readBack bool
	edges    map[asyncKey]*asyncEdge
}

func newMsgTally(exp topology.MessagingExpect, base *Input) *msgTally {
	return &msgTally{exp: exp, readBack: base.ReadBack, edges: map[asyncKey]*asyncEdge{}}
}

// msgDeliveries are the deliveries of one message to one group.
type msgDeliveries struct {
	key             asyncKey
	first           *record.Hop
	processed, dead bool
	acked           bool
}

func (t *msgTally) add(in *Input, idx *spanIndex, _ *faultSet) {
	type msgGroup struct {
		id    uint64
		group string
	}
	per := map[msgGroup]*msgDeliveries{}
	var order []msgGroup
	for i := range in.Hops {
		h := &in.Hops[i]
		m := h.Message
		if m == nil {
			continue
		}
		k := asyncKey{h.From, h.To, m.Topic, m.Group}
		if t.exp.Edge != "" && parseEdge(t.exp.Edge) != (edge{h.From, h.To}) {
			continue
		}
		e := t.edge(k)
		id := msgGroup{m.ID, m.Group}
		d := per[id]
		if d == nil {
			d = &msgDeliveries{key: k}
			per[id] = d
			order = append(order, id)
		}
		if m.Redelivery == 0 {
			d.first = h
			d.acked = m.PublishedAt != 0
		} else {
			e.redelivered++
		}
		if !h.Received {
			continue
		}
		e.deliveries++
		d.processed = d.processed || !h.CalleeError
		d.dead = d.dead || m.DeadLetter
		t.links(e, h, idx)
	}
	for _, id := range order {
		t.settle(per[id])
	}
}

func (t *msgTally) edge(k asyncKey) *asyncEdge {
	e := t.edges[k]
	if e == nil {
		e = &asyncEdge{}
		t.edges[k] = e
	}
	return e
}

// links checks one delivery's consumer span in the backend for the link to
// the context the consumer extracted.
func (t *msgTally) links(e *asyncEdge, h *record.Hop, idx *spanIndex) {
	if !h.Got.IsValid() {
		e.unlinked++
		return
	}
	if idx == nil || !h.ServerSpan || !h.Server.Sampled {
		return
	}
	e.linksWant++
	j, ok := idx.lookup(h.Server.Trace, h.Server.Span)
	if !ok {
		e.consumerLost++
		return
	}
	if s := idx.span(j); hasLink(s, h.Got) {
		e.linksFound++
	} else if len(e.linkMissing) < maxExamples {
		e.linkMissing = append(e.linkMissing, fmt.Sprintf("%s: consumer span %s (trace %s) has %d links, none to trace %s span %s",
			messageString(h.Message), s.ID, s.Trace, len(s.Links), h.Got.Trace, h.Got.Span))
	}
}

// hasLink reports whether s links to c.
func hasLink(s *record.Span, c record.Context) bool {
	for _, l := range s.Links {
		if l.Trace == c.Trace && l.Span == c.Span {
			return true
		}
	}
	return false
}

// settle counts one message's fate in its group.
func (t *msgTally) settle(d *msgDeliveries) {
	h := d.first
	if h == nil {
		return // its first delivery is in the ledger's send order elsewhere: counted there
	}
	e := t.edge(d.key)
	e.messages++
	if !d.acked {
		return // the broker refused it: the producer's route failed
	}
	e.acked++
	switch {
	case d.processed:
		e.processed++
	case d.dead:
		e.dead++
	default:
		if len(e.neverEx) < maxExamples {
			e.neverEx = append(e.neverEx, fmt.Sprintf("request %d: %s was never processed", h.Request, messageString(h.Message)))
		}
	}
	if lag := h.Lag(); lag >= 0 {
		e.lag.add(lag)
	}
	if h.Received && h.ServerSpan {
		prod := h.ClientSpan && h.Sent.Sampled
		switch cons := h.Server.Sampled; {
		case prod && cons:
			e.bothKept++
		case prod:
			e.producerOnly++
		case cons:
			e.consumerOnly++
		default:
			e.neither++
		}
	}
}

func (t *msgTally) verdict() Verdict {
	v := Verdict{
		Check:    string(topology.ExpectMessaging),
		Measured: "per asynchronous edge: the messages its group processed, the consumer spans' links in the backend against the ledger's, the lag from publish to processing",
		Expected: t.expected(),
		Status:   StatusPass,
		Stats:    map[string]float64{},
	}
	if len(t.edges) == 0 {
		v.Status, v.Reason = StatusNotRun, "no message went through a broker"
		if t.exp.Edge != "" {
			v.Reason = "no message went over " + t.exp.Edge
		}
		return v
	}
	keys := make([]asyncKey, 0, len(t.edges))
	for k := range t.edges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b asyncKey) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to), cmp.Compare(a.topic, b.topic), cmp.Compare(a.group, b.group))
	})
	var observed []string
	for _, k := range keys {
		observed = append(observed, t.judgeEdge(&v, k, t.edges[k]))
	}
	v.Observed = strings.Join(observed, "; ")
	return v
}

func (t *msgTally) expected() string {
	s := fmt.Sprintf("each group processes at least %s of its messages; every consumer span links to every message it processed", percent(t.exp.Delivered))
	if t.exp.LagP50 > 0 {
		s += fmt.Sprintf("; lag p50 at most %s", t.exp.LagP50)
	}
	if t.exp.LagP99 > 0 {
		s += fmt.Sprintf("; lag p99 at most %s", t.exp.LagP99)
	}
	return s
}

// judgeEdge adds one edge's stats and findings to v and returns its
// observed sentence.
func (t *msgTally) judgeEdge(v *Verdict, k asyncKey, e *asyncEdge) string {
	name := k.name()
	stat := func(key string, n float64) { v.Stats[name+" | "+key] = n }
	stat("messages", float64(e.messages))
	stat("processed", float64(e.processed))
	stat("dead_lettered", float64(e.dead))
	stat("redelivered", float64(e.redelivered))
	stat("links_expected", float64(e.linksWant))
	stat("links_found", float64(e.linksFound))
	stat("unlinked", float64(e.unlinked))
	stat("sampled_producer_only", float64(e.producerOnly))
	stat("sampled_consumer_only", float64(e.consumerOnly))
	fail := func(msg string, n, of int, ex []string) {
		v.Status = StatusFail
		v.Findings = append(v.Findings, Finding{Subject: name, Status: FindingFailing, From: k.from, To: k.to,
			Message: msg, Count: n, Of: of, Examples: ex})
	}
	if e.acked > 0 && float64(e.processed) < t.exp.Delivered*float64(e.acked) {
		never := e.acked - e.processed - e.dead
		fail(fmt.Sprintf("group %s processed %d of %d messages on %s (%d dead-lettered, %d never processed)", k.group, e.processed, e.acked, k.topic, e.dead, never),
			e.acked-e.processed, e.acked, e.neverEx)
	}
	if t.readBack && e.linksFound+e.consumerLost < e.linksWant {
		fail("consumer spans lack links the consumer made: the backend lost or dropped them", e.linksWant-e.linksFound-e.consumerLost, e.linksWant, e.linkMissing)
	}
	s := fmt.Sprintf("%s (%s, group %s): %d of %d processed, %d redelivered, %d dead-lettered", name, k.topic, k.group, e.processed, e.acked, e.redelivered, e.dead)
	if t.readBack {
		s += fmt.Sprintf("; links %d of %d", e.linksFound, e.linksWant-e.consumerLost)
	}
	if e.lag.count() > 0 {
		p50, p99 := time.Duration(e.lag.quantile(0.5)), time.Duration(e.lag.quantile(0.99))
		stat("lag_p50_ms", float64(p50)/1e6)
		stat("lag_p99_ms", float64(p99)/1e6)
		s += fmt.Sprintf("; lag p50 %s p99 %s", p50.Round(time.Microsecond), p99.Round(time.Microsecond))
		if t.exp.LagP50 > 0 && p50 > t.exp.LagP50 {
			fail(fmt.Sprintf("lag p50 %s over its bound %s", p50.Round(time.Microsecond), t.exp.LagP50), 1, 1, nil)
		}
		if t.exp.LagP99 > 0 && p99 > t.exp.LagP99 {
			fail(fmt.Sprintf("lag p99 %s over its bound %s", p99.Round(time.Microsecond), t.exp.LagP99), 1, 1, nil)
		}
	}
	if mixed := e.producerOnly + e.consumerOnly; mixed > 0 {
		s += fmt.Sprintf("; sampling split across the link for %d: producer's trace kept and consumer's dropped %d, the reverse %d",
			mixed, e.producerOnly, e.consumerOnly)
	}
	return s
}
