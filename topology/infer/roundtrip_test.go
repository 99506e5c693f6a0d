package infer_test

import (
	"context"
	"testing"
	"time"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
	"github.com/tracerig/tracerig/topology/infer"
)

// TestInferOrderEvents runs the library scenario order-events in process
// for two seconds, its spans exported to an embedded backend, and infers
// its topology back from them: the Kafka topic and its partitions, the
// publish among checkout's calls, billing's batches in mode link and
// shipping's single messages in mode parent.
func TestInferOrderEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario with its broker")
	}
	b := embedded.New()
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	sc, err := scenarios.Open("order-events")
	if err != nil {
		t.Fatal(err)
	}
	d := 2 * time.Second
	if _, err := scenarios.Run(t.Context(), sc, scenarios.Options{Duration: &d, OTLPEndpoint: "http://" + b.GRPCAddr()}); err != nil {
		t.Fatal(err)
	}
	spans, _, _ := b.Spans(t.Context(), time.Time{}, time.Time{})
	ib := infer.NewBuilder(infer.Options{Name: "orders"})
	for i := range spans {
		ib.Add(&spans[i])
	}
	res, err := ib.Result()
	if err != nil {
		t.Fatalf("Result: %v\n%s", err, res.Topology)
	}
	topo, err := topology.ParseTopology("topology.yaml", res.Topology)
	if err != nil {
		t.Fatalf("ParseTopology: %v\n%s", err, res.Topology)
	}
	checkOrderEvents(t, topo)
	if n := res.Unused.Reasons[infer.ReasonOrphan]; n != 0 {
		t.Errorf("%d orphans: a consumer's trace of its own is none", n)
	}
	if t.Failed() {
		t.Logf("from %d spans:\n%s\nunused:\n%s", len(spans), res.Topology, res.Unused)
	}
}

// checkOrderEvents compares the inferred topology to orders.yaml.
func checkOrderEvents(t *testing.T, topo *topology.Topology) {
	if tp := topo.Topic("orders"); tp == nil || topo.Broker(tp.Broker).Kind != topology.BrokerKafka || tp.Partitions != 2 {
		t.Errorf("topic orders %+v, want on a kafka broker with 2 partitions", tp)
	}
	checkout := topo.Service("checkout").Route("POST /orders")
	if checkout == nil || len(checkout.Calls) != 2 || checkout.Calls[0].Call == nil || checkout.Calls[0].Call.Service != "inventory" ||
		checkout.Calls[1].Kind != topology.StepPublish || checkout.Calls[1].Publish.Topic != "orders" {
		t.Errorf("checkout POST /orders %+v, want a call to inventory, then a publish to orders", checkout)
	}
	for _, c := range []struct {
		svc, callee string
		mode        topology.ConsumeMode
		batched     bool
	}{{"billing", "ledger", topology.ConsumeLink, true}, {"shipping", "carrier", topology.ConsumeParent, false}} {
		r := topo.Service(c.svc).Route("process orders")
		switch {
		case r == nil || r.Consume == nil:
			t.Errorf("%s: no consume route process orders", c.svc)
		case r.Consume.Topic != "orders" || r.Consume.Group != c.svc || r.Consume.Mode != c.mode || (r.Consume.Batch > 1) != c.batched:
			t.Errorf("%s consume %+v, want orders, group %s, mode %s, batched %v", c.svc, r.Consume, c.svc, c.mode, c.batched)
		case len(r.Calls) != 1 || r.Calls[0].Call == nil || r.Calls[0].Call.Service != c.callee:
			t.Errorf("%s process orders calls %+v, want one to %s", c.svc, r.Calls, c.callee)
		}
	}
	if got := topo.EntryRoutes(); len(got) != 1 || got[0].String() != "frontend POST /checkout" {
		t.Errorf("entry routes %v, want frontend POST /checkout", got)
	}
}
