package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Passwords the tests look for in errors and printed values.
const (
	rightPassword = "s3cret-right-Pw"
	wrongPassword = "s3cret-wrong-Pw"
)

// testBroker is one embedded broker under test.
type testBroker struct {
	name string
	// dial connects a client, closed when the test ends.
	dial func(t *testing.T, opts ...Option) Client
	// stop and start make an outage.
	stop  func()
	start func(ctx context.Context) error
	// url is a NATS server's, seeds a Kafka cluster's.
	url   string
	seeds func(t *testing.T) []string
}

// brokers runs f against each embedded broker, started for it.
func brokers(t *testing.T, f func(t *testing.T, b testBroker)) {
	t.Run("nats", func(t *testing.T) { f(t, startNATS(t)) })
	t.Run("kafka", func(t *testing.T) { f(t, startKafka(t)) })
}

func startNATS(t *testing.T, opts ...EmbeddedOption) testBroker {
	t.Helper()
	n, err := StartNATS(testContext(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	})
	return testBroker{
		name: "nats",
		dial: func(t *testing.T, opts ...Option) Client {
			t.Helper()
			// A short AckWait: deliveries lost in an outage come back soon.
			return closing(t)(DialNATS(testContext(t), n.URL(), append([]Option{WithAckWait(time.Second)}, opts...)...))
		},
		stop:  n.Stop,
		start: n.Start,
		url:   n.URL(),
	}
}

func startKafka(t *testing.T, opts ...EmbeddedOption) testBroker {
	t.Helper()
	k, err := StartKafka(testContext(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Error(err)
		}
	})
	return testBroker{
		name: "kafka",
		dial: func(t *testing.T, opts ...Option) Client {
			t.Helper()
			return closing(t)(DialKafka(testContext(t), k.Seeds(), opts...))
		},
		stop:  k.Stop,
		start: k.Start,
		seeds: func(*testing.T) []string { return k.Seeds() },
	}
}

// closing returns a function that fails t on err, or registers the closing
// of cl when t ends.
func closing(t *testing.T) func(cl Client, err error) Client {
	return func(cl Client, err error) Client {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := cl.Close(); err != nil {
				t.Error(err)
			}
		})
		return cl
	}
}

// testContext is a context ending with t, and after 20 seconds at most.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// collector records the deliveries of one consumer.
type collector struct {
	mu      sync.Mutex
	got     []Delivery
	batches []int
	changed chan struct{} // receives after each batch, if anyone waits
	// fail decides a delivery's error; nil acknowledges everything.
	fail func(d Delivery) error
}

func newCollector(fail func(d Delivery) error) *collector {
	return &collector{changed: make(chan struct{}, 1), fail: fail}
}

func (c *collector) handle(_ context.Context, batch []Delivery) []error {
	errs := make([]error, len(batch))
	c.mu.Lock()
	c.got = append(c.got, batch...)
	c.batches = append(c.batches, len(batch))
	if c.fail != nil {
		for i, d := range batch {
			errs[i] = c.fail(d)
		}
	}
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return errs
}

// deliveries returns a copy of what c received.
func (c *collector) deliveries() []Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Delivery(nil), c.got...)
}

// waitFor waits until cond holds of the deliveries, failing t after d.
func (c *collector) waitFor(t *testing.T, d time.Duration, what string, cond func([]Delivery) bool) []Delivery {
	t.Helper()
	timeout := time.After(d)
	for {
		got := c.deliveries()
		if cond(got) {
			return got
		}
		select {
		case <-c.changed:
		case <-timeout:
			t.Fatalf("after %v: %s: not so with %d deliveries: %s", d, what, len(got), summary(got))
		}
	}
}

// consume runs a consumer of cc until the test ends, then checks that it
// returned nil.
func consume(t *testing.T, cl Client, cc Consume, h Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- cl.Consume(ctx, cc, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("consume %s as %s: %v", cc.Topic, cc.Group, err)
		}
	})
}

// publish publishes n messages numbered from first to topic, each with an
// id header, a traceparent and a key, and returns where each was stored,
// by id.
func publish(t *testing.T, cl Client, topic string, first, n int) map[string]Published {
	t.Helper()
	pubs := map[string]Published{}
	for i := first; i < first+n; i++ {
		m := testMessage(topic, i)
		p, err := cl.Publish(testContext(t), m)
		if err != nil {
			t.Fatal(err)
		}
		pubs[msgID(m.Headers)] = p
	}
	return pubs
}

func testMessage(topic string, i int) Message {
	id := "m" + strconv.Itoa(i)
	return Message{
		Topic: topic,
		Key:   []byte("k" + strconv.Itoa(i%7)),
		Headers: []Header{
			{"Traceparent", fmt.Sprintf("00-4bf92f3577b34da6a3ce929d0e0e%04x-00f067aa0ba902b7-01", i)},
			{"tracerig-msg", id},
		},
		Value: []byte("value of " + id),
	}
}

// msgID is the id header of a test message.
func msgID(hs []Header) string { return HeaderCarrier(&hs).Get("tracerig-msg") }

// byID counts the deliveries of each message.
func byID(ds []Delivery) map[string][]Delivery {
	m := map[string][]Delivery{}
	for _, d := range ds {
		m[msgID(d.Headers)] = append(m[msgID(d.Headers)], d)
	}
	return m
}

// hasAll says whether ds holds every id of want.
func hasAll[V any](want map[string]V) func([]Delivery) bool {
	return func(ds []Delivery) bool {
		got := byID(ds)
		for id := range want {
			if len(got[id]) == 0 {
				return false
			}
		}
		return true
	}
}

// summary is a short account of ds for failures.
func summary(ds []Delivery) string {
	s := ""
	for i, d := range ds {
		if i == 40 {
			return s + " ..."
		}
		s += fmt.Sprintf(" %s@%d/%d#%d", msgID(d.Headers), d.Partition, d.Offset, d.Redelivery)
	}
	return s
}

var errTest = errors.New("test handler fails")
