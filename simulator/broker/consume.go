package broker

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Headers a consumer adds to a message it sends to the dead-letter topic.
const (
	// HeaderDeadLetterReason holds the error of the last failed delivery,
	// cut to 200 bytes.
	HeaderDeadLetterReason = "tracerig-dead-letter-reason"
	// HeaderDeliveries holds how many times the message was delivered.
	HeaderDeliveries = "tracerig-deliveries"
)

// maxReason is the most bytes of HeaderDeadLetterReason.
const maxReason = 200

// retryWait is how long a consumer waits before fetching again after a
// failed fetch, such as during an outage.
const retryWait = 100 * time.Millisecond

// errClosed is what starting a consumer on a closed client fails with.
var errClosed = errors.New("client closed")

// lifecycle tracks the consumers of a client, so that Close ends them and
// waits for them.
type lifecycle struct {
	mu     sync.Mutex
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

func newLifecycle() *lifecycle { return &lifecycle{done: make(chan struct{})} }

// begin registers a consumer. It returns a context that ends with ctx or
// when the client closes, and the function to call when the consumer
// returns.
func (l *lifecycle) begin(ctx context.Context) (context.Context, func(), error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, errClosed
	}
	l.wg.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-l.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(); l.wg.Done() }, nil
}

// close ends every consumer and waits for them to return; it reports
// whether it was the first call.
func (l *lifecycle) close() bool {
	l.mu.Lock()
	first := !l.closed
	if first {
		l.closed = true
		close(l.done)
	}
	l.mu.Unlock()
	l.wg.Wait()
	return first
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// deadLetters sends the messages a consumer gives up on to its dead-letter
// topic, creating the topic the first time.
type deadLetters struct {
	cl      Client
	topic   string
	ensured bool
}

// send publishes d to the dead-letter topic after deliveries failed
// deliveries, the last failing with cause. With no dead-letter topic, it
// does nothing: the message is dropped.
func (dl *deadLetters) send(ctx context.Context, d Delivery, deliveries int, cause error) error {
	if dl.topic == "" {
		return nil
	}
	if !dl.ensured {
		if err := dl.cl.EnsureTopic(ctx, dl.topic, 1); err != nil {
			return err
		}
		dl.ensured = true
	}
	m := d.Message
	m.Topic = dl.topic
	m.Headers = deadLetterHeaders(m.Headers, deliveries, cause)
	_, err := dl.cl.Publish(ctx, m)
	return err
}

// deadLetterHeaders returns a copy of hs with the dead-letter headers set.
func deadLetterHeaders(hs []Header, deliveries int, cause error) []Header {
	out := append([]Header(nil), hs...)
	c := HeaderCarrier(&out)
	c.Set(HeaderDeadLetterReason, cut(cause.Error(), maxReason))
	c.Set(HeaderDeliveries, strconv.Itoa(deliveries))
	return out
}

// cut returns s cut to at most n bytes, at a rune boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
