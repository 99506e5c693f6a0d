package record

// Message is what an asynchronous hop carried: one message a service
// published to a topic, delivered to one consumer group. The hop's caller
// side is the producer (Sent is its producer span's context, put in the
// message's headers; AnsweredAt is when the broker acknowledged the
// publish or refused it), its callee side the consumer (Got is the context
// extracted from the headers as they arrived, Server the consumer span
// that processed the message). Every delivery of a message to a group is a
// hop of its own: a redelivery after a failed one has the same Message.ID
// and a higher Redelivery.
type Message struct {
	// ID is the harness's message ID, shared by the message's hops.
	ID    uint64
	Topic string
	Group string
	// Partition is the Kafka partition the broker stored the message in;
	// -1 for NATS, or when the publish failed.
	Partition int32
	// Offset is the Kafka offset or the JetStream stream sequence; -1 when
	// the publish failed.
	Offset int64
	// PublishedAt is when the broker acknowledged the message (unix ns);
	// 0 when it did not.
	PublishedAt int64
	// Redelivery counts the earlier deliveries of the message to the
	// group: 0 the first time.
	Redelivery int
	// ProcessedAt is when the consumer started processing this delivery
	// (unix ns); 0 when the message never reached the group.
	ProcessedAt int64
	// Batch is how many messages the consumer span processed together
	// (each one linked from it); 0 when never delivered.
	Batch int
	// Parent says the consumer takes the producer's context as its span's
	// parent (mode parent) as well as linking to it; else it links only,
	// in a trace of its own.
	Parent bool
	// DeadLetter says the consumer gave up on the message after this
	// delivery and sent it to the dead-letter topic (or dropped it).
	DeadLetter bool
}

// Lag returns the time from the producer's publish (its hop's SentAt) to
// the start of this delivery's processing, in nanoseconds; -1 when h
// carried no message or it was never processed. A redelivery's lag counts
// from the first publish.
func (h *Hop) Lag() int64 {
	m := h.Message
	if m == nil || m.ProcessedAt == 0 || h.SentAt == 0 {
		return -1
	}
	return m.ProcessedAt - h.SentAt
}
