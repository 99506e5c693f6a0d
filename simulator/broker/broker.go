package broker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Header is one message header. Keys keep their case, and a key may appear
// more than once (Kafka allows it; NATS keeps the values of one key in
// order, but not the order between keys).
type Header struct{ Key, Value string }

// Message is a message to publish.
type Message struct {
	Topic string
	// Key is the Kafka partitioning key; NATS ignores it.
	Key     []byte
	Headers []Header
	Value   []byte
}

// Published says where the broker stored a message.
type Published struct {
	// Partition is the Kafka partition; -1 for NATS.
	Partition int32
	// Offset is the Kafka offset, or the JetStream stream sequence.
	Offset int64
}

// Delivery is one delivery of a message to a consumer group.
type Delivery struct {
	Message
	// Partition is the Kafka partition; -1 for NATS.
	Partition int32
	// Offset is the Kafka offset, or the JetStream stream sequence.
	Offset int64
	// Redelivery counts earlier deliveries of this message to this group:
	// 0 the first time.
	Redelivery int
	// Timestamp is when the broker stored the message, in Unix
	// nanoseconds, as the broker reports it. For Kafka it is the record's
	// timestamp: the broker's append time on a topic with
	// message.timestamp.type LogAppendTime (EnsureTopic creates topics
	// so), the producer's time on a topic with CreateTime, and always the
	// producer's time on kfake, which ignores the topic setting.
	Timestamp int64
}

// DefaultPublishTimeout bounds a Publish whose context has no deadline, as
// JetStream's client does by default.
const DefaultPublishTimeout = 5 * time.Second

// publishContext returns ctx, bounded by DefaultPublishTimeout if it has
// no deadline.
func publishContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, DefaultPublishTimeout)
}

// Consume defaults.
const (
	DefaultBatch         = 1
	DefaultMaxWait       = 50 * time.Millisecond
	DefaultMaxDeliveries = 5
)

// Consume says what a consumer reads and how.
type Consume struct {
	// Topic is the topic read; Group the consumer group, which gets every
	// message of the topic once, whatever other groups read.
	Topic, Group string
	// Batch is the most messages per handler call; default 1.
	Batch int
	// MaxWait is how long a fetch waits to fill a batch; default 50ms.
	MaxWait time.Duration
	// MaxDeliveries bounds the deliveries of one message, the first
	// included, before it goes to DeadLetter; default 5.
	MaxDeliveries int
	// DeadLetter is the topic a message goes to after MaxDeliveries failed
	// deliveries; "" drops it (acknowledged) instead. The consumer creates
	// the topic if missing (one partition on Kafka).
	DeadLetter string
}

// withDefaults returns c with its zero fields set to their defaults.
func (c Consume) withDefaults() Consume {
	if c.Batch <= 0 {
		c.Batch = DefaultBatch
	}
	if c.MaxWait <= 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MaxDeliveries <= 0 {
		c.MaxDeliveries = DefaultMaxDeliveries
	}
	return c
}

// validate says what makes c unusable, every problem at once.
func (c Consume) validate() error {
	var errs []error
	if c.Topic == "" {
		errs = append(errs, errors.New("topic is empty"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("group is empty"))
	}
	if c.DeadLetter != "" && c.DeadLetter == c.Topic {
		errs = append(errs, fmt.Errorf("dead-letter topic %q is the topic consumed", c.DeadLetter))
	}
	return errors.Join(errs...)
}

// Handler processes one batch. It returns one error per delivery, in the
// batch's order: nil acknowledges the delivery, an error fails it, and the
// broker delivers it again (NATS: a Nak; Kafka: the consumer rewinds the
// partition so the broker sends it again) until MaxDeliveries. A missing
// error (a slice shorter than the batch, or nil) acknowledges.
//
// A handler is called for one batch at a time, on the consumer's
// goroutine; ctx is the consumer's.
type Handler func(ctx context.Context, batch []Delivery) []error

// Client is a connection to one broker, NATS or the Kafka protocol. It is
// safe for concurrent use.
type Client interface {
	// EnsureTopic creates the topic if it is missing: a JetStream stream
	// with the one subject topic and file storage (partitions ignored), or
	// a Kafka topic with that many partitions.
	EnsureTopic(ctx context.Context, topic string, partitions int) error
	// Publish sends m and waits for the broker's acknowledgement, at most
	// until ctx ends, or DefaultPublishTimeout if ctx has no deadline.
	Publish(ctx context.Context, m Message) (Published, error)
	// Consume runs a consumer of c until ctx ends, calling h for each
	// batch, one batch at a time. It returns nil once ctx ended or the
	// client closed, or an error if the consumer could not start; it
	// rides out broker outages, and waits for a topic not created yet.
	// The consumer is durable: a JetStream durable pull consumer named
	// c.Group with explicit acknowledgements, or a Kafka consumer group
	// c.Group committing its offsets by hand.
	Consume(ctx context.Context, c Consume, h Handler) error
	// Close ends the connection. Consumers still running end with it.
	Close() error
}

// errAt returns errs[i], or nil past its end.
func errAt(errs []error, i int) error {
	if i < len(errs) {
		return errs[i]
	}
	return nil
}
