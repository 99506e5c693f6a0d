package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// Consume creates or updates the durable pull consumer c.Group of the
// stream of c.Topic (explicit acknowledgements, from the stream's first
// message, no delivery limit of its own), once the stream exists, and
// fetches from it until ctx ends or the client closes. A failed delivery
// is Nak'ed, so that JetStream delivers it again at once.
// Delivery.Redelivery is JetStream's count of deliveries less one, which
// counts deliveries lost in transit too (in an outage), so a message can
// reach the handler fewer than MaxDeliveries times before it is
// dead-lettered.
func (c *natsClient) Consume(ctx context.Context, cc Consume, h Handler) error {
	cc = cc.withDefaults()
	if err := cc.validate(); err != nil {
		return fmt.Errorf("consume on %s: %w", c.url, err)
	}
	ctx, end, err := c.life.begin(ctx)
	if err != nil {
		return fmt.Errorf("consume %q as %q on %s: %w", cc.Topic, cc.Group, c.url, err)
	}
	defer end()
	cons, err := c.consumer(ctx, cc)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("consume %q as %q on %s: create consumer: %w", cc.Topic, cc.Group, c.url, err)
	}
	nc := natsConsumer{c: c, cons: cons, cc: cc, h: h, dl: deadLetters{cl: c, topic: cc.DeadLetter},
		log: c.cfg.logger.With("broker", "nats", "topic", cc.Topic, "group", cc.Group)}
	for ctx.Err() == nil {
		nc.round(ctx)
	}
	return nil
}

// consumer creates or updates the durable consumer of cc. While the
// stream is missing or the client disconnected, it tries again until ctx
// ends: a consumer of a topic not created yet waits for it, as on Kafka.
func (c *natsClient) consumer(ctx context.Context, cc Consume) (jetstream.Consumer, error) {
	for {
		cons, err := c.js.CreateOrUpdateConsumer(ctx, streamName(cc.Topic), jetstream.ConsumerConfig{
			Durable:       streamName(cc.Group),
			AckPolicy:     jetstream.AckExplicitPolicy,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			AckWait:       c.cfg.ackWait,
			MaxDeliver:    -1,
		})
		if err == nil || !errors.Is(err, jetstream.ErrStreamNotFound) && c.nc.IsConnected() {
			return cons, err
		}
		sleep(ctx, retryWait)
		if ctx.Err() != nil {
			return nil, err
		}
	}
}

// natsConsumer is one running Consume.
type natsConsumer struct {
	c    *natsClient
	cons jetstream.Consumer
	cc   Consume
	h    Handler
	dl   deadLetters
	log  *slog.Logger
}

// round fetches one batch, hands it to the handler and settles each
// delivery.
func (n *natsConsumer) round(ctx context.Context) {
	msgs, err := n.fetch()
	if err != nil {
		if ctx.Err() == nil {
			n.log.Debug("fetch failed", "err", err)
			sleep(ctx, retryWait)
		}
		return
	}
	if len(msgs) == 0 {
		return
	}
	batch := make([]Delivery, len(msgs))
	for i, m := range msgs {
		batch[i] = natsDelivery(m)
	}
	errs := n.h(ctx, batch)
	for i, m := range msgs {
		n.settle(ctx, m, batch[i], errAt(errs, i))
	}
}

// fetch asks for a batch and waits up to MaxWait for it to fill. The
// server ends the request at MaxWait; the client waits a second more, so
// no message the server sent is dropped unread.
func (n *natsConsumer) fetch() ([]jetstream.Msg, error) {
	res, err := n.cons.Fetch(n.cc.Batch, jetstream.FetchMaxWait(n.cc.MaxWait))
	if err != nil {
		return nil, err
	}
	var msgs []jetstream.Msg
	for m := range res.Messages() {
		msgs = append(msgs, m)
	}
	if len(msgs) > 0 {
		return msgs, nil
	}
	return nil, res.Error()
}

// natsDelivery is the Delivery of m.
func natsDelivery(m jetstream.Msg) Delivery {
	d := Delivery{
		Message:   Message{Topic: m.Subject(), Headers: fromNATS(m.Headers()), Value: m.Data()},
		Partition: -1,
	}
	if md, err := m.Metadata(); err == nil {
		d.Offset = int64(md.Sequence.Stream)
		d.Redelivery = int(md.NumDelivered) - 1
		d.Timestamp = md.Timestamp.UnixNano()
	}
	return d
}

// settle acknowledges m, or Naks it, or sends it to the dead-letter topic
// after its last delivery and acknowledges it. A dead letter that cannot
// be sent is Nak'ed, to be tried again at its next delivery.
func (n *natsConsumer) settle(ctx context.Context, m jetstream.Msg, d Delivery, herr error) {
	var err error
	switch deliveries := d.Redelivery + 1; {
	case herr == nil:
		err = m.Ack()
	case deliveries < n.cc.MaxDeliveries:
		err = m.Nak()
	default:
		if err = n.dl.send(ctx, d, deliveries, herr); err != nil {
			n.log.Warn("dead letter failed", "offset", d.Offset, "err", err)
			err = m.Nak()
		} else {
			err = m.Ack()
		}
	}
	if err != nil {
		n.log.Debug("settle failed", "offset", d.Offset, "err", err)
	}
}
