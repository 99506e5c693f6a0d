// Package record holds the span and hop records shared by the ledger, the
// backends and the checks. It is a leaf: plain data, no dependencies beyond
// the standard library, so every stage of the pipeline can speak it.
package record

import (
	"encoding/hex"
)

// TraceID is a 16-byte W3C trace ID.
type TraceID [16]byte

// SpanID is an 8-byte W3C span ID.
type SpanID [8]byte

// IsValid reports whether the trace ID is not all zeros.
func (t TraceID) IsValid() bool { return t != TraceID{} }

// String returns the lowercase hex form of the trace ID.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// IsValid reports whether the span ID is not all zeros.
func (s SpanID) IsValid() bool { return s != SpanID{} }

// String returns the lowercase hex form of the span ID.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// Kind is a span kind, numbered as in OpenTelemetry's trace API.
type Kind uint8

// Span kinds.
const (
	KindUnspecified Kind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String returns the lowercase kind name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Status is a span status code, numbered as in OpenTelemetry's trace API.
type Status uint8

// Span status codes.
const (
	StatusUnset Status = iota
	StatusError
	StatusOK
)

// String returns the lowercase status name.
func (s Status) String() string {
	switch s {
	case StatusUnset:
		return "unset"
	case StatusError:
		return "error"
	case StatusOK:
		return "ok"
	}
	return "unknown"
}

// RunIDKey is the resource attribute naming the run a span came from: 16
// hex digits, random per run.
const RunIDKey = "tracerig.run.id"

// Attr is one span attribute, its value rendered as a string.
type Attr struct {
	Key   string
	Value string
}

// Link is a span link: the context of another span this one is causally related to.
type Link struct {
	Trace TraceID
	Span  SpanID
}

// Span is one span as a backend or the ledger knows it. Strings are expected
// to be interned by whoever builds many of them.
type Span struct {
	Trace    TraceID
	ID       SpanID
	Parent   SpanID // zero for a root span
	Start    int64  // unix nanoseconds
	End      int64  // unix nanoseconds
	Service  string // resource service.name
	Instance string // resource service.instance.id
	Name     string
	Kind     Kind
	Status   Status
	Attrs    []Attr
	// Arrived is when the backend received the span, in unix nanoseconds;
	// zero where the backend does not say.
	Arrived int64
	// TraceState is the span's W3C tracestate, raw; empty when none.
	TraceState string
	// Resource holds the attributes of the span's resource other than
	// service.name and service.instance.id (Service and Instance), shared
	// by the spans of one resource; nil where the backend reader does not
	// keep them (the embedded store).
	Resource []Attr
	// Links are the span's links, in the order the span holds them; nil
	// when it has none or when the backend does not return them.
	Links []Link
}

// Attr returns the value of the attribute named key and whether it is set.
func (s *Span) Attr(key string) (string, bool) {
	for _, a := range s.Attrs {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}

// ResourceAttr returns the value of the resource attribute named key and
// whether it is set.
func (s *Span) ResourceAttr(key string) (string, bool) {
	for _, a := range s.Resource {
		if a.Key == key {
			return a.Value, true
		}
	}
	return "", false
}
