package broker

import (
	"context"
	"testing"
	"time"
)

// outageLength is how long the broker is stopped.
const outageLength = time.Second

// publishTry bounds each publish of the loop.
const publishTry = 300 * time.Millisecond

// loopResult is what a publishing loop saw.
type loopResult struct {
	acked        map[string]Published
	failed       int
	slowest      time.Duration // of the failed publishes
	ackedAfter   int           // acknowledged after the first failure
	firstFailure error
}

func TestOutage(t *testing.T) {
	brokers(t, func(t *testing.T, b testBroker) {
		cl := b.dial(t)
		topic := "outage"
		if err := cl.EnsureTopic(testContext(t), topic, 2); err != nil {
			t.Fatal(err)
		}
		live := newCollector(nil)
		consume(t, cl, Consume{Topic: topic, Group: "live", Batch: 10}, live.handle)
		before := publish(t, cl, topic, 0, 10)
		live.waitFor(t, 10*time.Second, "messages before the outage", hasAll(before))

		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		done := make(chan loopResult, 1)
		go func() { done <- publishLoop(ctx, cl, topic, 100, 5) }()
		time.Sleep(200 * time.Millisecond)
		b.stop()
		time.Sleep(outageLength)
		err := b.start(testContext(t))
		res := <-done
		if err != nil {
			t.Fatal(err)
		}

		if res.failed == 0 {
			t.Fatal("no publish failed during the outage")
		}
		t.Logf("%s: %d publishes acknowledged, %d failed, the slowest failure in %v: %v",
			b.name, len(res.acked), res.failed, res.slowest, res.firstFailure)
		if res.slowest > publishTry+200*time.Millisecond {
			t.Errorf("a failed publish took %v, want it bounded by its context (%v)", res.slowest, publishTry)
		}
		if res.ackedAfter < 5 {
			t.Errorf("%d publishes acknowledged after the outage, want 5", res.ackedAfter)
		}
		all := map[string]Published{}
		for _, m := range []map[string]Published{before, res.acked} {
			for id, p := range m {
				all[id] = p
			}
		}
		live.waitFor(t, 15*time.Second, "every acknowledged message, by the consumer that lived through the outage", hasAll(all))
		late := newCollector(nil)
		consume(t, cl, Consume{Topic: topic, Group: "late", Batch: 10}, late.handle)
		late.waitFor(t, 10*time.Second, "every acknowledged message, by a group started after the outage", hasAll(all))
	})
}

// publishLoop publishes messages numbered from first every 20ms, each
// publish bounded by publishTry, until after failures it had enough
// acknowledged, or ctx ends.
func publishLoop(ctx context.Context, cl Client, topic string, first, enough int) loopResult {
	res := loopResult{acked: map[string]Published{}}
	for i := first; ctx.Err() == nil && res.ackedAfter < enough; i++ {
		m := testMessage(topic, i)
		pctx, cancel := context.WithTimeout(ctx, publishTry)
		start := time.Now()
		p, err := cl.Publish(pctx, m)
		took := time.Since(start)
		cancel()
		switch {
		case err == nil:
			res.acked[msgID(m.Headers)] = p
			if res.failed > 0 {
				res.ackedAfter++
			}
		case ctx.Err() == nil:
			res.failed++
			res.slowest = max(res.slowest, took)
			if res.firstFailure == nil {
				res.firstFailure = err
			}
		}
		sleep(ctx, 20*time.Millisecond)
	}
	return res
}
