package broker

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/contrib/propagators/jaeger"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// carriers builds each carrier over the headers hs.
var carriers = []struct {
	name string
	over func(hs []Header) propagation.TextMapCarrier
}{
	{"header", func(hs []Header) propagation.TextMapCarrier { return HeaderCarrier(&hs) }},
	{"nats", func(hs []Header) propagation.TextMapCarrier {
		h := toNATS(hs)
		if h == nil {
			h = nats.Header{}
		}
		return NATSCarrier(h)
	}},
	{"kafka", func(hs []Header) propagation.TextMapCarrier {
		rh := toKafka(hs)
		return KafkaCarrier(&rh)
	}},
}

var propagators = []struct {
	name string
	p    propagation.TextMapPropagator
}{
	{"w3c", propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})},
	{"b3 single", b3.New(b3.WithInjectEncoding(b3.B3SingleHeader))},
	{"b3 multi", b3.New(b3.WithInjectEncoding(b3.B3MultipleHeader))},
	{"jaeger", jaeger.Jaeger{}},
}

func spanContext(sampled bool) trace.SpanContext {
	var flags trace.TraceFlags
	if sampled {
		flags = trace.FlagsSampled
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: flags,
		Remote:     true,
	})
}

func TestCarrierRoundTrip(t *testing.T) {
	member, _ := baggage.NewMember("tenant", "acme")
	bag, _ := baggage.New(member)
	for _, c := range carriers {
		for _, p := range propagators {
			for _, sampled := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/sampled=%v", c.name, p.name, sampled), func(t *testing.T) {
					want := spanContext(sampled)
					ctx := trace.ContextWithRemoteSpanContext(context.Background(), want)
					ctx = baggage.ContextWithBaggage(ctx, bag)
					carrier := c.over(nil)
					p.p.Inject(ctx, carrier)
					got := p.p.Extract(context.Background(), carrier)
					sc := trace.SpanContextFromContext(got)
					if sc.TraceID() != want.TraceID() || sc.SpanID() != want.SpanID() || sc.IsSampled() != sampled {
						t.Errorf("extracted %s/%s sampled %v, want %s/%s sampled %v (keys %v)",
							sc.TraceID(), sc.SpanID(), sc.IsSampled(), want.TraceID(), want.SpanID(), sampled, carrier.Keys())
					}
					if p.name == "w3c" {
						if v := baggage.FromContext(got).Member("tenant").Value(); v != "acme" {
							t.Errorf("baggage tenant = %q, want acme", v)
						}
					}
				})
			}
		}
	}
}

func TestCarrierExtractOtherCase(t *testing.T) {
	tests := []struct {
		name string
		p    propagation.TextMapPropagator
		hs   []Header
	}{
		{"Traceparent", propagation.TraceContext{}, []Header{{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}},
		{"TRACEPARENT", propagation.TraceContext{}, []Header{{"TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}},
		{"X-B3-TraceId", b3.New(), []Header{
			{"X-B3-TraceId", "4bf92f3577b34da6a3ce929d0e0e4736"}, {"X-B3-SpanId", "00f067aa0ba902b7"}, {"X-B3-Sampled", "1"}}},
		{"B3", b3.New(), []Header{{"B3", "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"}}},
		{"Uber-Trace-Id", jaeger.Jaeger{}, []Header{{"Uber-Trace-Id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1"}}},
	}
	want := spanContext(true)
	for _, c := range carriers {
		for _, tt := range tests {
			t.Run(c.name+"/"+tt.name, func(t *testing.T) {
				sc := trace.SpanContextFromContext(tt.p.Extract(context.Background(), c.over(tt.hs)))
				if sc.TraceID() != want.TraceID() || sc.SpanID() != want.SpanID() || !sc.IsSampled() {
					t.Errorf("extracted %s/%s sampled %v, want %s/%s sampled", sc.TraceID(), sc.SpanID(), sc.IsSampled(), want.TraceID(), want.SpanID())
				}
			})
		}
	}
}

func TestCarrierSet(t *testing.T) {
	tests := []struct {
		name     string
		hs       []Header
		key, val string
		want     []Header // in the order kept; NATS's are compared sorted
	}{
		{"new key", []Header{{"a", "1"}}, "Traceparent", "t", []Header{{"a", "1"}, {"Traceparent", "t"}}},
		{"same key", []Header{{"traceparent", "old"}, {"a", "1"}}, "traceparent", "t", []Header{{"traceparent", "t"}, {"a", "1"}}},
		{"duplicates of other case", []Header{{"traceparent", "x"}, {"a", "1"}, {"Traceparent", "y"}, {"TRACEPARENT", "z"}}, "traceParent", "t",
			[]Header{{"traceParent", "t"}, {"a", "1"}}},
		{"duplicate values of one key", []Header{{"b3", "x"}, {"b3", "y"}}, "b3", "t", []Header{{"b3", "t"}}},
	}
	for _, tt := range tests {
		t.Run("header/"+tt.name, func(t *testing.T) {
			hs := slices.Clone(tt.hs)
			HeaderCarrier(&hs).Set(tt.key, tt.val)
			if !slices.Equal(hs, tt.want) {
				t.Errorf("after Set: %v, want %v", hs, tt.want)
			}
		})
		t.Run("kafka/"+tt.name, func(t *testing.T) {
			rh := toKafka(tt.hs)
			KafkaCarrier(&rh).Set(tt.key, tt.val)
			if got := fromKafka(rh); !slices.Equal(got, tt.want) {
				t.Errorf("after Set: %v, want %v", got, tt.want)
			}
		})
		t.Run("nats/"+tt.name, func(t *testing.T) {
			h := toNATS(tt.hs)
			NATSCarrier(h).Set(tt.key, tt.val)
			if got, want := fromNATS(h), fromNATS(toNATS(tt.want)); !slices.Equal(got, want) {
				t.Errorf("after Set: %v, want %v", got, want)
			}
		})
	}
}

func TestCarrierGetKeys(t *testing.T) {
	hs := []Header{{"b", "1"}, {"A", "2"}, {"a", "3"}, {"B", "4"}}
	for _, c := range carriers {
		t.Run(c.name, func(t *testing.T) {
			carrier := c.over(hs)
			keys := carrier.Keys()
			if len(keys) != 2 {
				t.Errorf("Keys() = %v, want one of each of a and b", keys)
			}
			if got := carrier.Get("missing"); got != "" {
				t.Errorf(`Get("missing") = %q, want ""`, got)
			}
		})
	}
	// Where the order is kept, Get returns the first match.
	if got := HeaderCarrier(&hs).Get("B"); got != "1" {
		t.Errorf(`header Get("B") = %q, want the first, "1"`, got)
	}
	rh := toKafka(hs)
	if got := KafkaCarrier(&rh).Get("a"); got != "2" {
		t.Errorf(`kafka Get("a") = %q, want the first, "2"`, got)
	}
	// NATS keys are a map's: the exact key first.
	if got := NATSCarrier(toNATS(hs)).Get("a"); got != "3" {
		t.Errorf(`nats Get("a") = %q, want the exact key's, "3"`, got)
	}
}

func TestHeaderConversions(t *testing.T) {
	hs := []Header{{"b", "1"}, {"A", "2"}, {"b", "3"}}
	if got := fromKafka(toKafka(hs)); !slices.Equal(got, hs) {
		t.Errorf("kafka round trip: %v, want %v", got, hs)
	}
	want := []Header{{"A", "2"}, {"b", "1"}, {"b", "3"}}
	if got := fromNATS(toNATS(hs)); !slices.Equal(got, want) {
		t.Errorf("nats round trip: %v, want %v (keys sorted, values of a key in order)", got, want)
	}
	if toNATS(nil) != nil || toKafka(nil) != nil || fromNATS(nil) != nil || fromKafka(nil) != nil {
		t.Error("no headers should convert to nil")
	}
}
