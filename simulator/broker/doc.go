// Package broker is the broker layer of tracerig's asynchronous edges: the
// brokers a simulated service publishes to and consumes from, one Client
// interface over both protocols, and OpenTelemetry propagation carriers for
// message headers.
//
// Two protocols are spoken:
//
//   - NATS with JetStream, through nats.go. A topic is a stream whose only
//     subject is the topic; a consumer group is a durable pull consumer with
//     explicit acknowledgements. DialNATS reconnects forever, and a publish
//     during an outage fails at once instead of waiting for the broker.
//   - The Kafka protocol, through franz-go. A topic is a Kafka topic; a
//     consumer group is a Kafka consumer group committing its offsets by
//     hand, after each batch.
//
// Both are at-least-once: a handler acknowledges or fails each delivery of
// a batch, a failed delivery is delivered again, and after MaxDeliveries
// failed deliveries the message goes to a dead-letter topic (or is dropped).
// Kafka has no per-message negative acknowledgement: the Kafka client
// rewinds the partition to the first failed offset so the broker sends it
// again, and does not hand the handler again the later messages of that
// partition it had already acknowledged. See Consume and Handler.
//
// The embedded brokers are for tests and for runs that need nothing
// installed. StartNATS runs the real NATS server (nats-server/v2) in this
// process. StartKafka runs kfake, franz-go's protocol-faithful in-memory
// Kafka-protocol broker: it is not Kafka, but it speaks the protocol that
// clients speak to Kafka (produce, fetch, consumer groups, offsets, SASL,
// TLS). Both can be stopped and started again for an outage that keeps
// what was stored.
//
// The carriers (HeaderCarrier, NATSCarrier, KafkaCarrier) let any
// OpenTelemetry TextMapPropagator inject into and extract from message
// headers; their keys are case-insensitive, as HTTP's are, since brokers
// keep the case a producer wrote.
//
// The package imports nothing else of tracerig.
package broker
