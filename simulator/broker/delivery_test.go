package broker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// quiet is how long a test waits for deliveries that should not come.
const quiet = 300 * time.Millisecond

func TestDeliveredOnce(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		cl := b.dial(t)
		for _, batch := range []int{10, 1} {
			t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
				topic := fmt.Sprintf("orders-%d", batch)
				if err := cl.EnsureTopic(testContext(t), topic, 3); err != nil {
					t.Fatal(err)
				}
				if err := cl.EnsureTopic(testContext(t), topic, 3); err != nil {
					t.Fatalf("a second EnsureTopic: %v", err)
				}
				before := time.Now().UnixNano()
				pubs := publish(t, cl, topic, 0, 30)
				after := time.Now().UnixNano()
				col := newCollector(nil)
				consume(t, cl, Consume{Topic: topic, Group: "billing", Batch: batch}, col.handle)
				col.waitFor(t, 10*time.Second, "every message delivered", hasAll(pubs))
				time.Sleep(quiet)
				got := col.deliveries()
				if len(got) != len(pubs) {
					t.Errorf("%d deliveries of %d messages: %s", len(got), len(pubs), summary(got))
				}
				for _, d := range got {
					checkDelivery(t, b.name, d, pubs, before, after)
				}
				col.mu.Lock()
				batches := slices.Clone(col.batches)
				col.mu.Unlock()
				if m := slices.Max(batches); m > batch || batch > 1 && m == 1 {
					t.Errorf("batch %d: handler got batches of %v", batch, batches)
				}
			})
		}
	})
}

// checkDelivery checks d against the message published.
func checkDelivery(t *testing.T, broker string, d Delivery, pubs map[string]Published, before, after int64) {
	t.Helper()
	id := msgID(d.Headers)
	var n int
	fmt.Sscanf(id, "m%d", &n)
	want := testMessage(d.Topic, n)
	if !slices.Equal(d.Headers, want.Headers) || string(d.Value) != string(want.Value) {
		t.Errorf("%s: headers %v value %q, want %v %q", id, d.Headers, d.Value, want.Headers, want.Value)
	}
	if broker == "kafka" && string(d.Key) != string(want.Key) {
		t.Errorf("%s: key %q, want %q", id, d.Key, want.Key)
	}
	if p := pubs[id]; d.Partition != p.Partition || d.Offset != p.Offset {
		t.Errorf("%s: at %d/%d, published at %d/%d", id, d.Partition, d.Offset, p.Partition, p.Offset)
	}
	// Kafka timestamps are in milliseconds.
	if d.Timestamp < before-int64(time.Millisecond) || d.Timestamp > after {
		t.Errorf("%s: timestamp %d outside the publishing, [%d, %d]", id, d.Timestamp, before, after)
	}
	if d.Redelivery != 0 {
		t.Errorf("%s: redelivery %d, want 0", id, d.Redelivery)
	}
}

func TestRedelivery(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		cl := b.dial(t)
		for _, batch := range []int{10, 1} {
			t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
				topic := fmt.Sprintf("retried-%d", batch)
				if err := cl.EnsureTopic(testContext(t), topic, 3); err != nil {
					t.Fatal(err)
				}
				pubs := publish(t, cl, topic, 0, 20)
				var mu sync.Mutex
				failures := 0
				col := newCollector(func(d Delivery) error {
					mu.Lock()
					defer mu.Unlock()
					if msgID(d.Headers) == "m5" && failures < 2 {
						failures++
						return errTest
					}
					return nil
				})
				consume(t, cl, Consume{Topic: topic, Group: "billing", Batch: batch}, col.handle)
				col.waitFor(t, 10*time.Second, "m5 delivered 3 times, the others once", func(ds []Delivery) bool {
					return hasAll(pubs)(ds) && len(byID(ds)["m5"]) >= 3
				})
				time.Sleep(quiet)
				for id, ds := range byID(col.deliveries()) {
					var redeliveries []int
					for _, d := range ds {
						redeliveries = append(redeliveries, d.Redelivery)
					}
					want := []int{0}
					if id == "m5" {
						want = []int{0, 1, 2}
					}
					if !slices.Equal(redeliveries, want) {
						t.Errorf("%s: deliveries with Redelivery %v, want %v", id, redeliveries, want)
					}
				}
			})
		}
	})
}

func TestDeadLetter(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		cl := b.dial(t)
		topic := "payments"
		if err := cl.EnsureTopic(testContext(t), topic, 2); err != nil {
			t.Fatal(err)
		}
		pubs := publish(t, cl, topic, 0, 10)
		col := newCollector(func(d Delivery) error {
			if msgID(d.Headers) == "m2" {
				return fmt.Errorf("always fails %s", msgID(d.Headers))
			}
			return nil
		})
		consume(t, cl, Consume{Topic: topic, Group: "billing", Batch: 5, MaxDeliveries: 3, DeadLetter: "payments-dead"}, col.handle)
		col.waitFor(t, 10*time.Second, "m2 delivered 3 times", func(ds []Delivery) bool { return len(byID(ds)["m2"]) == 3 })

		dead := newCollector(nil)
		consume(t, cl, Consume{Topic: "payments-dead", Group: "ops"}, dead.handle)
		got := dead.waitFor(t, 10*time.Second, "m2 dead-lettered", func(ds []Delivery) bool { return len(ds) > 0 })[0]
		want := append(testMessage(topic, 2).Headers,
			Header{HeaderDeadLetterReason, "always fails m2"}, Header{HeaderDeliveries, "3"})
		if b.name == "nats" {
			want = fromNATS(toNATS(want))
		}
		if !slices.Equal(got.Headers, want) || string(got.Value) != "value of m2" {
			t.Errorf("dead letter: headers %v value %q, want %v %q", got.Headers, got.Value, want, "value of m2")
		}

		// Consuming goes on.
		more := publish(t, cl, topic, 10, 5)
		col.waitFor(t, 10*time.Second, "later messages delivered", hasAll(more))
		time.Sleep(quiet)
		if n := len(byID(col.deliveries())["m2"]); n != 3 {
			t.Errorf("m2 delivered %d times, want 3", n)
		}
		if n := len(dead.deliveries()); n != 1 {
			t.Errorf("%d dead letters, want 1", n)
		}
		if !hasAll(pubs)(col.deliveries()) {
			t.Errorf("not every message delivered: %s", summary(col.deliveries()))
		}
	})
}

func TestTwoGroups(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		cl := b.dial(t)
		if err := cl.EnsureTopic(testContext(t), "shipments", 2); err != nil {
			t.Fatal(err)
		}
		pubs := publish(t, cl, "shipments", 0, 20)
		a, c := newCollector(nil), newCollector(nil)
		consume(t, cl, Consume{Topic: "shipments", Group: "billing", Batch: 10}, a.handle)
		consume(t, cl, Consume{Topic: "shipments", Group: "audit", Batch: 10}, c.handle)
		for _, col := range []*collector{a, c} {
			col.waitFor(t, 10*time.Second, "every message", hasAll(pubs))
		}
		time.Sleep(quiet)
		for name, col := range map[string]*collector{"billing": a, "audit": c} {
			if n := len(col.deliveries()); n != len(pubs) {
				t.Errorf("group %s: %d deliveries of %d messages", name, n, len(pubs))
			}
		}
	})
}

func TestConsumeBadArguments(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		cl := b.dial(t)
		err := cl.Consume(context.Background(), Consume{Topic: "t", DeadLetter: "t"}, nil)
		if err == nil {
			t.Fatal("consume without a group and dead-lettering to its own topic: no error")
		}
		for _, want := range []string{"group is empty", `dead-letter topic "t" is the topic consumed`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})
}
