package simulator

import (
	"strconv"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// checkMessagingSpans requires the producer and consumer spans of
// testdata/async.yaml to carry the span kind and the messaging attributes
// the semantic conventions give them, on both brokers: a Kafka topic has
// partitions (and offsets), a NATS stream has neither, and a consumer span
// names its message when it processed one and counts them when a batch.
func checkMessagingSpans(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	for _, tt := range []struct {
		name        string
		kind        trace.SpanKind
		system      string
		topic       string
		partitioned bool
	}{
		{"send orders", trace.SpanKindProducer, "kafka", "orders", true},
		{"send audit", trace.SpanKindProducer, "nats", "audit", false},
		{"process orders", trace.SpanKindConsumer, "kafka", "orders", true},
		{"process orders-dlq", trace.SpanKindConsumer, "kafka", "orders-dlq", true},
		{"process audit", trace.SpanKindConsumer, "nats", "audit", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			seen := 0
			for _, s := range spans {
				if s.Name != tt.name {
					continue
				}
				seen++
				if s.SpanKind != tt.kind {
					t.Fatalf("span kind %s, want %s", s.SpanKind, tt.kind)
				}
				a := attrMap(s.Attributes)
				want := map[attribute.Key]string{
					semconv.MessagingSystemKey:          tt.system,
					semconv.MessagingDestinationNameKey: tt.topic,
					semconv.MessagingOperationTypeKey:   "send",
				}
				if tt.kind == trace.SpanKindConsumer {
					want[semconv.MessagingOperationTypeKey] = "process"
					want[semconv.MessagingConsumerGroupNameKey] = serviceOf(s)
				}
				single := tt.kind == trace.SpanKindProducer || len(s.Links) == 1
				if single {
					if a[semconv.MessagingMessageIDKey] == "" {
						t.Errorf("span %s has no %s: %v", s.SpanContext.SpanID(), semconv.MessagingMessageIDKey, a)
					}
				} else {
					want[semconv.MessagingBatchMessageCountKey] = strconv.Itoa(len(s.Links))
				}
				for k, v := range want {
					if a[k] != v {
						t.Errorf("span %s: %s is %q, want %q", s.SpanContext.SpanID(), k, a[k], v)
					}
				}
				_, hasPartition := a[semconv.MessagingDestinationPartitionIDKey]
				if wantPartition := tt.partitioned && single; hasPartition != wantPartition {
					t.Errorf("span %s: %s %q present %v, want %v", s.SpanContext.SpanID(), semconv.MessagingDestinationPartitionIDKey,
						a[semconv.MessagingDestinationPartitionIDKey], hasPartition, wantPartition)
				}
			}
			if seen == 0 {
				t.Error("no such span")
			}
		})
	}
}

// attrMap is a span's attributes by key, their values as text.
func attrMap(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := make(map[attribute.Key]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

// serviceOf is the service.name of the resource a span was exported with.
func serviceOf(s tracetest.SpanStub) string {
	v, _ := s.Resource.Set().Value(semconv.ServiceNameKey)
	return v.Emit()
}
