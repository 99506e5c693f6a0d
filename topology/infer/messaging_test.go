package infer

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// buildMsg feeds n orders of the messaging system, one every 10ms, to a
// Builder, finishing each trace an order wrote (its own, and a billing
// batch's) with FlushTrace.
func buildMsg(t testing.TB, n int) *Result {
	g := newMsgGen(11)
	b := NewBuilder(Options{Name: "orders"})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	var traces []record.TraceID
	for i := range n {
		g.spans, traces = g.spans[:0], traces[:0]
		g.order(start + int64(i)*int64(10*time.Millisecond))
		for k := range g.spans {
			b.Add(&g.spans[k])
			if !slices.Contains(traces, g.spans[k].Trace) {
				traces = append(traces, g.spans[k].Trace)
			}
		}
		for _, id := range traces {
			b.FlushTrace(id)
		}
	}
	res, err := b.Result()
	if err != nil {
		t.Fatalf("Result: %v\n%s", err, res.Topology)
	}
	return res
}

func TestInferMessaging(t *testing.T) {
	res := buildMsg(t, 15000) // ~2800 billing batches, for ledger's p99
	topo, err := topology.ParseTopology("topology.yaml", res.Topology)
	if err != nil {
		t.Fatalf("ParseTopology: %v\n%s", err, res.Topology)
	}
	checkBrokers(t, topo)
	for _, r := range msgSystem {
		t.Run(r.svc, func(t *testing.T) { checkRoute(t, topo, res.Model, r) })
	}
	checkSteps(t, topo, "checkout", "POST /orders", []string{"inventory POST /reserve", "publish orders", "payments POST /pay"})
	checkSteps(t, topo, "billing", "process orders", []string{"ledger POST /entries", "publish invoices"})
	for _, c := range []struct {
		svc, route, topic, group string
		batch                    int
		mode                     topology.ConsumeMode
	}{
		{"billing", "process orders", "orders", "billing", 10, topology.ConsumeLink},
		{"shipping", "process orders", "orders", "dispatch", 1, topology.ConsumeParent},
		{"mailer", "process invoices", "invoices", "mailer", 1, topology.ConsumeParent},
	} {
		got := topo.Service(c.svc).Route(c.route).Consume
		if got == nil || got.Topic != c.topic || got.Group != c.group || got.Batch != c.batch || got.Mode != c.mode {
			t.Errorf("%s %s consume %+v, want topic %s group %s batch %d mode %s", c.svc, c.route, got, c.topic, c.group, c.batch, c.mode)
		}
	}
	if got := topo.EntryRoutes(); len(got) != 1 || got[0].String() != "checkout POST /orders" {
		t.Errorf("entry routes %v, want checkout POST /orders alone", got)
	}
	if got := res.Model.Entries; len(got) != 1 || got[0].Service != "checkout" {
		t.Errorf("entries %+v, want checkout's alone: a consumer span is no entry request", got)
	}
	for _, reason := range []string{ReasonOrphan, ReasonNoServerSpans, ReasonMessaging, ReasonNoPublisher} {
		if n := res.Unused.Reasons[reason]; n != 0 {
			t.Errorf("%d spans unused: %s", n, reason)
		}
	}
	if t.Failed() {
		t.Logf("topology:\n%s\nscenario:\n%s", res.Topology, res.Scenario)
	}
}

// checkBrokers requires a kafka broker with orders on 3 partitions and a
// nats broker with invoices.
func checkBrokers(t *testing.T, topo *topology.Topology) {
	var got []string
	for _, b := range topo.Brokers {
		for _, tp := range b.Topics {
			got = append(got, b.Name+" "+string(b.Kind)+" "+tp.Name+" "+strconv.Itoa(tp.Partitions))
		}
	}
	want := []string{"kafka kafka orders 3", "nats nats invoices 0"}
	if !slices.Equal(got, want) {
		t.Errorf("brokers, kinds, topics and partitions %v, want %v", got, want)
	}
}

// checkSteps requires a route's steps, each a call or a publish.
func checkSteps(t *testing.T, topo *topology.Topology, svc, route string, want []string) {
	var got []string
	for _, st := range topo.Service(svc).Route(route).Calls {
		switch {
		case st.Kind == topology.StepCall && st.Call != nil:
			got = append(got, st.Call.Service+" "+st.Call.Route)
		case st.Kind == topology.StepPublish && st.Publish != nil:
			got = append(got, "publish "+st.Publish.Topic)
		default:
			got = append(got, "other")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s %s steps %v, want %v", svc, route, got, want)
	}
}

// msgAttrs are a messaging span's attributes: its system and topic ("":
// none).
func msgAttrs(system, topic string) []record.Attr {
	a := []record.Attr{{Key: "messaging.system", Value: system}}
	if topic != "" {
		a = append(a, record.Attr{Key: "messaging.destination.name", Value: topic})
	}
	return a
}

func TestMessagingUnused(t *testing.T) {
	root := sp(1, 1, 0, record.KindServer, "front", "POST /a", 0, 100)
	tests := []struct {
		name   string
		spans  []record.Span
		reason string
		want   int64
	}{
		{"producer without a destination", []record.Span{root,
			sp(1, 2, 1, record.KindProducer, "front", "send", 10, 11, msgAttrs("kafka", "")...)}, ReasonMessaging, 1},
		{"consumer without a destination", []record.Span{root,
			sp(2, 1, 0, record.KindConsumer, "back", "process", 20, 30, msgAttrs("nats", "")...)}, ReasonMessaging, 1},
		{"producer and consumer without a destination, in parent mode", []record.Span{root,
			sp(1, 2, 1, record.KindProducer, "front", "send", 10, 11, msgAttrs("kafka", "")...),
			sp(1, 3, 2, record.KindConsumer, "back", "process", 20, 30, msgAttrs("kafka", "")...)}, ReasonMessaging, 2},
		{"producer under no request", []record.Span{root, sp(1, 5, 0, record.KindInternal, "cron", "tick", 0, 5),
			sp(1, 6, 5, record.KindProducer, "cron", "send jobs", 1, 2, msgAttrs("nats", "jobs")...)}, ReasonNoPublisher, 1},
		{"a trace rooted at a consumer span is no orphan", []record.Span{root,
			sp(1, 2, 1, record.KindProducer, "front", "send orders", 10, 11, msgAttrs("kafka", "orders")...),
			sp(2, 1, 0, record.KindConsumer, "back", "process orders", 20, 30, msgAttrs("kafka", "orders")...),
			sp(2, 2, 1, record.KindClient, "back", "GET /c", 21, 29),
			sp(2, 3, 2, record.KindServer, "store", "GET /c", 22, 28)}, ReasonOrphan, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder(Options{})
			for i := range tc.spans {
				b.Add(&tc.spans[i])
			}
			res, err := b.Result()
			if err != nil {
				t.Fatalf("Result: %v\n%s", err, res.Topology)
			}
			if got := res.Unused.Reasons[tc.reason]; got != tc.want {
				t.Errorf("%q: %d spans, want %d; summary:\n%s", tc.reason, got, tc.want, res.Unused)
			}
		})
	}
}

// TestMessagingOpenEnds leaves out a publish no consumer span answers and
// a consume route no producer span feeds, as the topology requires both
// ends of a topic, and keeps the rest.
func TestMessagingOpenEnds(t *testing.T) {
	front := func(trace byte) record.Span { return sp(trace, 1, 0, record.KindServer, "front", "POST /a", 0, 100) }
	tests := []struct {
		name  string
		spans []record.Span
		// routes are the written routes; topics the written topics
		routes, topics []string
	}{
		{"a publish without a consumer", []record.Span{front(1),
			sp(1, 2, 1, record.KindProducer, "front", "send orders", 10, 11, msgAttrs("kafka", "orders")...)},
			[]string{"front POST /a"}, nil},
		{"a consumer without a producer", []record.Span{front(1),
			sp(2, 1, 0, record.KindConsumer, "back", "process orders", 20, 30, msgAttrs("kafka", "orders")...)},
			[]string{"front POST /a"}, nil},
		{"a consumer fed only by a consumer left out", []record.Span{front(1),
			sp(2, 1, 0, record.KindConsumer, "back", "process orders", 20, 30, msgAttrs("kafka", "orders")...),
			sp(2, 2, 1, record.KindProducer, "back", "send bills", 21, 22, msgAttrs("nats", "bills")...),
			sp(2, 3, 2, record.KindConsumer, "mail", "process bills", 25, 30, msgAttrs("nats", "bills")...)},
			[]string{"front POST /a"}, nil},
		{"an optional publish: in 1 of 3 requests", []record.Span{front(1), front(2), front(3),
			sp(1, 2, 1, record.KindProducer, "front", "send orders", 10, 11, msgAttrs("kafka", "orders")...),
			sp(4, 1, 0, record.KindConsumer, "back", "process orders", 20, 30, msgAttrs("kafka", "orders")...)},
			[]string{"front POST /a"}, nil},
		{"a message leading back to its own route", []record.Span{front(1),
			sp(1, 2, 1, record.KindProducer, "front", "send orders", 10, 11, msgAttrs("kafka", "orders")...),
			sp(1, 3, 2, record.KindConsumer, "back", "process orders", 20, 30, msgAttrs("kafka", "orders")...),
			sp(1, 4, 3, record.KindProducer, "back", "send orders", 21, 22, msgAttrs("kafka", "orders")...)},
			[]string{"back process orders", "front POST /a"}, []string{"orders"}},
		{"one group, two route names", []record.Span{front(1),
			sp(1, 2, 1, record.KindProducer, "front", "send orders", 10, 11, msgAttrs("kafka", "orders")...),
			sp(2, 1, 0, record.KindConsumer, "back", "process orders", 20, 30, msgAttrs("kafka", "orders")...),
			sp(3, 1, 0, record.KindConsumer, "back", "process orders", 20, 30, msgAttrs("kafka", "orders")...),
			sp(4, 1, 0, record.KindConsumer, "back", "orders process", 20, 30, msgAttrs("kafka", "orders")...)},
			[]string{"back process orders", "front POST /a"}, []string{"orders"}},
		{"both ends", []record.Span{front(1),
			sp(1, 2, 1, record.KindProducer, "front", "send orders", 10, 11, msgAttrs("kafka", "orders")...),
			sp(2, 1, 0, record.KindConsumer, "back", "process orders", 20, 30, append(msgAttrs("kafka", "orders"),
				record.Attr{Key: "messaging.consumer.group.name", Value: "back"})...)},
			[]string{"back process orders", "front POST /a"}, []string{"orders"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBuilder(Options{})
			for i := range tc.spans {
				b.Add(&tc.spans[i])
			}
			res, err := b.Result()
			if err != nil {
				t.Fatalf("Result: %v\n%s", err, res.Topology)
			}
			topo, err := topology.ParseTopology("topology.yaml", res.Topology)
			if err != nil {
				t.Fatalf("ParseTopology: %v\n%s", err, res.Topology)
			}
			var routes, topics []string
			for _, s := range topo.Services {
				for _, r := range s.Routes {
					routes = append(routes, s.Name+" "+r.Name)
				}
			}
			for _, br := range topo.Brokers {
				for _, tp := range br.Topics {
					topics = append(topics, tp.Name)
				}
			}
			if !slices.Equal(routes, tc.routes) || !slices.Equal(topics, tc.topics) {
				t.Errorf("routes %q topics %q, want %q and %q\n%s", routes, topics, tc.routes, tc.topics, res.Topology)
			}
		})
	}
}
