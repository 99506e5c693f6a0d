package topology

import (
	"slices"
	"testing"
	"time"
)

func TestMessagingDecode(t *testing.T) {
	topo, err := LoadTopology("testdata/messaging.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Brokers) != 2 {
		t.Fatalf("brokers %d, want 2", len(topo.Brokers))
	}
	bus, nats := topo.Broker("bus"), topo.Broker("nats")
	if bus.Kind != BrokerKafka || !bus.IsEmbedded() || nats.Kind != BrokerNATS {
		t.Errorf("bus %s embedded %v, nats %s", bus.Kind, bus.IsEmbedded(), nats.Kind)
	}
	if tp := topo.Topic("orders"); tp == nil || tp.Broker != "bus" || topo.PartitionsFor(tp) != 3 {
		t.Errorf("orders: %+v", tp)
	}
	if tp := topo.Topic("audit"); topo.PartitionsFor(tp) != 1 {
		t.Errorf("audit partitions %d, want 1 (one auditor instance)", topo.PartitionsFor(tp))
	}
	billing := topo.Service("billing").Route("process orders").Consume
	want := Consume{Topic: "orders", Group: "billing", Batch: 10, MaxWait: 20 * time.Millisecond, Mode: ConsumeLink,
		MaxDeliveries: DefaultMaxDeliveries, DeadLetter: "orders-dead", Pos: billing.Pos}
	if *billing != want {
		t.Errorf("billing consume %+v, want %+v", *billing, want)
	}
	shipping := topo.Service("shipping").Route("process orders").Consume
	if shipping.Mode != ConsumeParent || shipping.Batch != 1 || shipping.Group != "shipping" || shipping.MaxWait != DefaultConsumeMaxWait {
		t.Errorf("shipping consume %+v", *shipping)
	}
	if !topo.HasAsync() {
		t.Error("HasAsync false")
	}
	wantEdges := []Edge{
		{"billing", "auditor", "drain dead letters", "orders-dead"},
		{"checkout", "auditor", "record audit", "audit"},
		{"checkout", "billing", "process orders", "orders"},
		{"checkout", "shipping", "process orders", "orders"},
		{"shipping", "carrier", "POST /labels", ""},
	}
	if got := topo.Edges(); !slices.Equal(got, wantEdges) {
		t.Errorf("edges\n%v, want\n%v", got, wantEdges)
	}
	if got, want := topo.EntryRoutes(), []RouteRef{{"checkout", "POST /order"}}; !slices.Equal(got, want) {
		t.Errorf("entry routes %v, want %v", got, want)
	}
	// checkout's server span, two producer spans, billing's and auditor's
	// consumer spans, shipping's consumer and client spans, carrier's.
	if n := topo.ExpectedSpans("checkout", "POST /order"); n != 8 {
		t.Errorf("expected spans %d, want 8", n)
	}
}
