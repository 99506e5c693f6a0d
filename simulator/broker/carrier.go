package broker

import (
	"sort"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/propagation"
)

// The carriers share one contract: Get is case-insensitive and returns the
// first match; Set replaces every case-insensitive match with one entry
// under the key as given; Keys returns each key once (case-insensitively),
// spelled as first seen. They are not safe for concurrent use.

// HeaderCarrier is a propagation.TextMapCarrier over the package's own
// headers. Set appends to *h or rewrites it in place; h must not be nil.
func HeaderCarrier(h *[]Header) propagation.TextMapCarrier {
	return sliceCarrier[Header]{
		s:   h,
		key: func(h Header) string { return h.Key },
		val: func(h Header) string { return h.Value },
		mk:  func(k, v string) Header { return Header{Key: k, Value: v} },
	}
}

// KafkaCarrier is a propagation.TextMapCarrier over the headers of a
// franz-go record, such as &record.Headers. h must not be nil.
func KafkaCarrier(h *[]kgo.RecordHeader) propagation.TextMapCarrier {
	return sliceCarrier[kgo.RecordHeader]{
		s:   h,
		key: func(h kgo.RecordHeader) string { return h.Key },
		val: func(h kgo.RecordHeader) string { return string(h.Value) },
		mk:  func(k, v string) kgo.RecordHeader { return kgo.RecordHeader{Key: k, Value: []byte(v)} },
	}
}

// sliceCarrier is the carrier over a slice of key-value pairs of type T.
type sliceCarrier[T any] struct {
	s   *[]T
	key func(T) string
	val func(T) string
	mk  func(k, v string) T
}

func (c sliceCarrier[T]) Get(key string) string {
	for _, h := range *c.s {
		if strings.EqualFold(c.key(h), key) {
			return c.val(h)
		}
	}
	return ""
}

// Set replaces the first match in place, so that the headers keep their
// order, and drops the others.
func (c sliceCarrier[T]) Set(key, value string) {
	s, set := (*c.s)[:0:0], false
	for _, h := range *c.s {
		switch {
		case !strings.EqualFold(c.key(h), key):
			s = append(s, h)
		case !set:
			s, set = append(s, c.mk(key, value)), true
		}
	}
	if !set {
		s = append(s, c.mk(key, value))
	}
	*c.s = s
}

func (c sliceCarrier[T]) Keys() []string {
	keys := make([]string, 0, len(*c.s))
	for _, h := range *c.s {
		keys = appendKey(keys, c.key(h))
	}
	return keys
}

// appendKey appends k to keys unless a key equal to it but for case is
// there.
func appendKey(keys []string, k string) []string {
	for _, have := range keys {
		if strings.EqualFold(have, k) {
			return keys
		}
	}
	return append(keys, k)
}

// NATSCarrier is a propagation.TextMapCarrier over NATS message headers.
// nats.Header is a map, so "first" is by the exact key, then by the keys in
// sorted order. Set needs h not nil.
func NATSCarrier(h nats.Header) propagation.TextMapCarrier { return natsCarrier(h) }

type natsCarrier nats.Header

func (c natsCarrier) Get(key string) string {
	if v := c[key]; len(v) > 0 {
		return v[0]
	}
	for _, k := range sortedKeys(c) {
		if v := c[k]; strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func (c natsCarrier) Set(key, value string) {
	for k := range c {
		if strings.EqualFold(k, key) {
			delete(c, k)
		}
	}
	c[key] = []string{value}
}

func (c natsCarrier) Keys() []string {
	var keys []string
	for _, k := range sortedKeys(c) {
		keys = appendKey(keys, k)
	}
	return keys
}

// sortedKeys returns the keys of h in order.
func sortedKeys(h natsCarrier) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// toNATS converts headers to NATS's, nil if there are none.
func toNATS(hs []Header) nats.Header {
	if len(hs) == 0 {
		return nil
	}
	h := make(nats.Header, len(hs))
	for _, kv := range hs {
		h[kv.Key] = append(h[kv.Key], kv.Value)
	}
	return h
}

// fromNATS converts NATS headers to the package's, keys in sorted order.
func fromNATS(h nats.Header) []Header {
	if len(h) == 0 {
		return nil
	}
	hs := make([]Header, 0, len(h))
	for _, k := range sortedKeys(natsCarrier(h)) {
		for _, v := range h[k] {
			hs = append(hs, Header{Key: k, Value: v})
		}
	}
	return hs
}

// toKafka converts headers to franz-go's.
func toKafka(hs []Header) []kgo.RecordHeader {
	if len(hs) == 0 {
		return nil
	}
	rh := make([]kgo.RecordHeader, len(hs))
	for i, h := range hs {
		rh[i] = kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)}
	}
	return rh
}

// fromKafka converts franz-go's headers to the package's.
func fromKafka(rh []kgo.RecordHeader) []Header {
	if len(rh) == 0 {
		return nil
	}
	hs := make([]Header, len(rh))
	for i, h := range rh {
		hs[i] = Header{Key: h.Key, Value: string(h.Value)}
	}
	return hs
}
