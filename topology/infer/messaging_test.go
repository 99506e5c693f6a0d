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
