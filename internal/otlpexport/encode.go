package otlpexport

import (
	"math"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerig/tracerig/internal/pbwire"
)

// An encoder writes ExportTraceServiceRequests. It keeps the grouping
// tables of one export so that they are reused by the next.
//
// Spans are grouped as tracetransform groups them: one ResourceSpans per
// distinct resource (resource.Equivalent: its attributes, not its schema
// URL), holding one ScopeSpans per distinct instrumentation.Scope. The
// ResourceSpans carries the Resource and schema URL of the first span of
// its resource; ResourceSpans, ScopeSpans and spans are written in the
// order they first appear.
type encoder struct {
	resources []resourceGroup
	scopes    []scopeGroup
	index     map[groupKey]int32 // scope group of a resource and scope
	next      []int32            // per span: the next span of its scope group, or -1
	holes     []hole
}

type groupKey struct {
	resource attribute.Distinct
	scope    instrumentation.Scope
}

type resourceGroup struct {
	key                   attribute.Distinct
	resource              *resource.Resource // of the group's first span
	firstScope, lastScope int32              // scope groups, linked by scopeGroup.next
}

type scopeGroup struct {
	resource            int32
	scope               instrumentation.Scope
	firstSpan, lastSpan int32
	next                int32 // next scope group of the same resource, or -1
}

// A hole is the room left for the length of a ResourceSpans or a
// ScopeSpans, filled in when the request is compacted.
type hole struct {
	pos int    // of the maxLenBytes reserved bytes
	n   uint64 // the length to write there
}

var encoders = sync.Pool{New: func() any { return &encoder{index: make(map[groupKey]int32)} }}

// release drops the encoder's references to the last export's spans,
// resources and scopes before it goes back to the pool.
func (e *encoder) release() {
	clear(e.index)
	clear(e.resources)
	clear(e.scopes)
	e.resources = e.resources[:0]
	e.scopes = e.scopes[:0]
}

// group assigns the spans to resource and scope groups. It reports
// whether any span is not nil.
func (e *encoder) group(spans []sdktrace.ReadOnlySpan) bool {
	e.release()
	if cap(e.next) < len(spans) {
		e.next = make([]int32, len(spans))
	}
	e.next = e.next[:len(spans)]

	last := int32(-1)
	var lastKey groupKey
	for i, s := range spans {
		if s == nil {
			continue
		}
		res := s.Resource()
		k := groupKey{resource: res.Equivalent(), scope: s.InstrumentationScope()}
		g := last
		if g < 0 || k != lastKey {
			var ok bool
			if g, ok = e.index[k]; !ok {
				g = e.newScopeGroup(k, res)
				e.index[k] = g
			}
			last, lastKey = g, k
		}
		sg := &e.scopes[g]
		e.next[i] = -1
		if sg.firstSpan < 0 {
			sg.firstSpan = int32(i)
		} else {
			e.next[sg.lastSpan] = int32(i)
		}
		sg.lastSpan = int32(i)
	}
	return len(e.scopes) > 0
}

// newScopeGroup adds the scope group of k, and the resource group of k's
// resource if it is new.
func (e *encoder) newScopeGroup(k groupKey, res *resource.Resource) int32 {
	r := int32(-1)
	for i := range e.resources {
		if e.resources[i].key == k.resource {
			r = int32(i)
			break
		}
	}
	g := int32(len(e.scopes))
	e.scopes = append(e.scopes, scopeGroup{resource: r, scope: k.scope, firstSpan: -1, next: -1})
	if r < 0 {
		r = int32(len(e.resources))
		e.resources = append(e.resources, resourceGroup{key: k.resource, resource: res, firstScope: g, lastScope: g})
		e.scopes[g].resource = r
		return g
	}
	e.scopes[e.resources[r].lastScope].next = g
	e.resources[r].lastScope = g
	return g
}

// encode appends the ExportTraceServiceRequest of the spans grouped by
// group to b[:0] and returns the buffer and the offset in it where the
// request starts. The resource and scope blocks come from c.
func (e *encoder) encode(b []byte, spans []sdktrace.ReadOnlySpan, c *blockCache) ([]byte, int) {
	b = b[:0]
	e.holes = e.holes[:0]
	for ri := range e.resources {
		r := &e.resources[ri]
		b = protowire.AppendTag(b, fieldRequestResourceSpans, protowire.BytesType)
		rsHole := len(e.holes)
		e.holes = append(e.holes, hole{pos: len(b)})
		b = append(b, make([]byte, maxLenBytes)...)
		rsStart := len(b)
		b = append(b, c.resource(r.resource)...)
		saved := 0 // by the holes of the scope spans inside
		for g := r.firstScope; g >= 0; g = e.scopes[g].next {
			sg := &e.scopes[g]
			b = protowire.AppendTag(b, fieldResourceSpansScopeSpans, protowire.BytesType)
			ssHole := len(e.holes)
			e.holes = append(e.holes, hole{pos: len(b)})
			b = append(b, make([]byte, maxLenBytes)...)
			ssStart := len(b)
			b = append(b, c.scope(sg.scope)...)
			for i := sg.firstSpan; i >= 0; i = e.next[i] {
				b = appendSpan(b, spans[i])
			}
			if sg.scope.SchemaURL != "" {
				b = appendStringField(b, fieldScopeSpansSchemaURL, sg.scope.SchemaURL)
			}
			n := uint64(len(b) - ssStart)
			e.holes[ssHole].n = n
			saved += maxLenBytes - protowire.SizeVarint(n)
		}
		if url := r.resource.SchemaURL(); url != "" {
			b = appendStringField(b, fieldResourceSpansSchemaURL, url)
		}
		e.holes[rsHole].n = uint64(len(b) - rsStart - saved)
	}
	return b, compact(b, e.holes)
}

// compact writes the lengths into their holes, moving what precedes each
// hole towards the end of b so that no reserved byte is left unused, and
// returns the offset where the request now starts. The content after the
// last hole, most of the spans, stays where it is.
func compact(b []byte, holes []hole) int {
	w := len(b) // start of what has been placed
	end := len(b)
	for i := len(holes) - 1; i >= 0; i-- {
		h := holes[i]
		seg := b[h.pos+maxLenBytes : end]
		w -= len(seg)
		copy(b[w:], seg)
		w -= protowire.SizeVarint(h.n)
		putVarint(b[w:], h.n)
		end = h.pos
	}
	w -= end
	copy(b[w:], b[:end])
	return w
}

// appendSpan appends s as a Span in ScopeSpans.spans.
func appendSpan(b []byte, s sdktrace.ReadOnlySpan) []byte {
	// Most spans are 128 bytes to 16 KiB long: two bytes of length.
	const reserve = 2
	b, start := openMessage(b, fieldScopeSpansSpans, reserve)

	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytesField(b, fieldSpanTraceID, tid[:])
	b = appendBytesField(b, fieldSpanSpanID, sid[:])
	if ts := sc.TraceState(); ts.Len() > 0 {
		b = appendTraceState(b, fieldSpanTraceState, ts)
	}
	parent := s.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		b = appendBytesField(b, fieldSpanParentSpanID, psid[:])
	}
	if name := s.Name(); name != "" {
		b = appendStringField(b, fieldSpanName, name)
	}
	if k := spanKind(s.SpanKind()); k != spanKindUnspecified {
		b = appendVarintField(b, fieldSpanKind, k)
	}
	if t := unixNano(s.StartTime().UnixNano()); t != 0 {
		b = appendFixed64Field(b, fieldSpanStartTimeUnixNano, t)
	}
	if t := unixNano(s.EndTime().UnixNano()); t != 0 {
		b = appendFixed64Field(b, fieldSpanEndTimeUnixNano, t)
	}
	b = appendKeyValues(b, fieldSpanAttributes, s.Attributes())
	if n := clampUint32(s.DroppedAttributes()); n != 0 {
		b = appendVarintField(b, fieldSpanDroppedAttributesCount, uint64(n))
	}
	events := s.Events()
	for i := range events {
		b = appendEvent(b, &events[i])
	}
	if n := clampUint32(s.DroppedEvents()); n != 0 {
		b = appendVarintField(b, fieldSpanDroppedEventsCount, uint64(n))
	}
	links := s.Links()
	for i := range links {
		b = appendLink(b, &links[i])
	}
	if n := clampUint32(s.DroppedLinks()); n != 0 {
		b = appendVarintField(b, fieldSpanDroppedLinksCount, uint64(n))
	}
	b = appendStatus(b, s.Status())
	b = appendFixed32Field(b, fieldSpanFlags, spanFlags(sc.TraceFlags(), parent))

	return closeMessage(b, start, reserve)
}

// appendEvent appends ev as an Event in Span.events.
func appendEvent(b []byte, ev *sdktrace.Event) []byte {
	b, start := openMessage(b, fieldSpanEvents, 1)
	if t := unixNano(ev.Time.UnixNano()); t != 0 {
		b = appendFixed64Field(b, fieldEventTimeUnixNano, t)
	}
	if ev.Name != "" {
		b = appendStringField(b, fieldEventName, ev.Name)
	}
	b = appendKeyValues(b, fieldEventAttributes, ev.Attributes)
	if n := clampUint32(ev.DroppedAttributeCount); n != 0 {
		b = appendVarintField(b, fieldEventDroppedAttributesCount, uint64(n))
	}
	return closeMessage(b, start, 1)
}

// appendLink appends l as a Link in Span.links. As in tracetransform, the
// link's trace state is not written.
func appendLink(b []byte, l *sdktrace.Link) []byte {
	b, start := openMessage(b, fieldSpanLinks, 1)
	tid, sid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	b = appendBytesField(b, fieldLinkTraceID, tid[:])
	b = appendBytesField(b, fieldLinkSpanID, sid[:])
	b = appendKeyValues(b, fieldLinkAttributes, l.Attributes)
	if n := clampUint32(l.DroppedAttributeCount); n != 0 {
		b = appendVarintField(b, fieldLinkDroppedAttributesCount, uint64(n))
	}
	b = appendFixed32Field(b, fieldLinkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
	return closeMessage(b, start, 1)
}

// appendStatus appends the span's Status, which is always present; its
// message is kept whatever the code.
func appendStatus(b []byte, st sdktrace.Status) []byte {
	code := statusCode(st.Code)
	size := 0
	if st.Description != "" {
		size += protowire.SizeTag(fieldStatusMessage) + protowire.SizeBytes(len(st.Description))
	}
	if code != statusCodeUnset {
		size += protowire.SizeTag(fieldStatusCode) + protowire.SizeVarint(code)
	}
	b = protowire.AppendTag(b, fieldSpanStatus, protowire.BytesType)
	b = pbwire.AppendVarint(b, uint64(size))
	if st.Description != "" {
		b = appendStringField(b, fieldStatusMessage, st.Description)
	}
	if code != statusCodeUnset {
		b = appendVarintField(b, fieldStatusCode, code)
	}
	return b
}

// appendTraceState appends the W3C tracestate header value of ts
// ("k1=v1,k2=v2", as TraceState.String returns it) as field.
func appendTraceState(b []byte, field protowire.Number, ts trace.TraceState) []byte {
	n := ts.Len() - 1 // commas
	ts.Walk(func(k, v string) bool {
		n += len(k) + 1 + len(v)
		return true
	})
	b = protowire.AppendTag(b, field, protowire.BytesType)
	b = pbwire.AppendVarint(b, uint64(n))
	first := true
	ts.Walk(func(k, v string) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, k...)
		b = append(b, '=')
		b = append(b, v...)
		return true
	})
	return b
}

// spanFlags is a Span's or a Link's flags: the W3C trace flags, the bit
// saying whether the context is known to be remote (always set) and
// whether it is.
func spanFlags(tf trace.TraceFlags, sc trace.SpanContext) uint32 {
	flags := uint32(tf) | spanFlagsContextHasIsRemote
	if sc.IsRemote() {
		flags |= spanFlagsContextIsRemote
	}
	return flags
}

func spanKind(k trace.SpanKind) uint64 {
	switch k {
	case trace.SpanKindInternal:
		return spanKindInternal
	case trace.SpanKindServer:
		return spanKindServer
	case trace.SpanKindClient:
		return spanKindClient
	case trace.SpanKindProducer:
		return spanKindProducer
	case trace.SpanKindConsumer:
		return spanKindConsumer
	default:
		return spanKindUnspecified
	}
}

func statusCode(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return statusCodeOk
	case codes.Error:
		return statusCodeError
	default:
		return statusCodeUnset
	}
}

// unixNano is a timestamp as tracetransform writes it: times before the
// epoch are 0.
func unixNano(ns int64) uint64 {
	return uint64(max(0, ns))
}

func clampUint32(v int) uint32 {
	if v < 0 {
		return 0
	}
	if int64(v) > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}
