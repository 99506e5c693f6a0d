package otlpfile

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracerig/tracerig/internal/record"
)

// Resource attribute keys that record.Span holds as Service and Instance.
const (
	attrServiceName     = "service.name"
	attrServiceInstance = "service.instance.id"
)

// spansOf calls fn with each span of rs, converted. The span fn gets is
// reused for the next: fn must copy it to keep it.
func spansOf(rs ptrace.ResourceSpans, fn func(*record.Span) error) (int64, error) {
	var service, instance string
	var res []record.Attr
	rs.Resource().Attributes().Range(func(k string, v pcommon.Value) bool {
		switch k {
		case attrServiceName:
			service = v.AsString()
		case attrServiceInstance:
			instance = v.AsString()
		default:
			res = append(res, record.Attr{Key: k, Value: v.AsString()})
		}
		return true
	})
	var n int64
	var sp record.Span
	sss := rs.ScopeSpans()
	for i := 0; i < sss.Len(); i++ {
		spans := sss.At(i).Spans()
		for j := 0; j < spans.Len(); j++ {
			convert(&sp, spans.At(j))
			sp.Service, sp.Instance, sp.Resource = service, instance, res
			n++
			if err := fn(&sp); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// convert fills sp from s, but for its resource's fields.
func convert(sp *record.Span, s ptrace.Span) {
	*sp = record.Span{
		Trace:      record.TraceID(s.TraceID()),
		ID:         record.SpanID(s.SpanID()),
		Parent:     record.SpanID(s.ParentSpanID()),
		Start:      int64(s.StartTimestamp()),
		End:        int64(s.EndTimestamp()),
		Name:       s.Name(),
		Kind:       Kind(s.Kind()),
		Status:     Status(s.Status().Code()),
		TraceState: s.TraceState().AsRaw(),
	}
	if m := s.Attributes(); m.Len() > 0 {
		attrs := make([]record.Attr, 0, m.Len())
		m.Range(func(k string, v pcommon.Value) bool {
			attrs = append(attrs, record.Attr{Key: k, Value: v.AsString()})
			return true
		})
		sp.Attrs = attrs
	}
	if ls := s.Links(); ls.Len() > 0 {
		links := make([]record.Link, ls.Len())
		for i := range links {
			l := ls.At(i)
			links[i] = record.Link{Trace: record.TraceID(l.TraceID()), Span: record.SpanID(l.SpanID())}
		}
		sp.Links = links
	}
}

// fill sets s from sp, but for its resource's fields.
func fill(s ptrace.Span, sp *record.Span) {
	s.SetTraceID(pcommon.TraceID(sp.Trace))
	s.SetSpanID(pcommon.SpanID(sp.ID))
	s.SetParentSpanID(pcommon.SpanID(sp.Parent))
	s.SetStartTimestamp(pcommon.Timestamp(sp.Start))
	s.SetEndTimestamp(pcommon.Timestamp(sp.End))
	s.SetName(sp.Name)
	s.SetKind(kindCode(sp.Kind))
	s.Status().SetCode(statusCode(sp.Status))
	if sp.TraceState != "" {
		s.TraceState().FromRaw(sp.TraceState)
	}
	putAttrs(s.Attributes(), sp.Attrs)
	if len(sp.Links) > 0 {
		ls := s.Links()
		ls.EnsureCapacity(len(sp.Links))
		for _, l := range sp.Links {
			pl := ls.AppendEmpty()
			pl.SetTraceID(pcommon.TraceID(l.Trace))
			pl.SetSpanID(pcommon.SpanID(l.Span))
		}
	}
}

// fillResource sets the attributes of a resource from those of sp.
func fillResource(r pcommon.Resource, sp *record.Span) {
	m := r.Attributes()
	m.EnsureCapacity(len(sp.Resource) + 2)
	if sp.Service != "" {
		m.PutStr(attrServiceName, sp.Service)
	}
	if sp.Instance != "" {
		m.PutStr(attrServiceInstance, sp.Instance)
	}
	putAttrs(m, sp.Resource)
}

// putAttrs adds attrs to m as string attributes.
func putAttrs(m pcommon.Map, attrs []record.Attr) {
	m.EnsureCapacity(m.Len() + len(attrs))
	for _, a := range attrs {
		m.PutStr(a.Key, a.Value)
	}
}

// kindCode maps record's span kind to pdata's.
func kindCode(k record.Kind) ptrace.SpanKind {
	switch k {
	case record.KindInternal:
		return ptrace.SpanKindInternal
	case record.KindServer:
		return ptrace.SpanKindServer
	case record.KindClient:
		return ptrace.SpanKindClient
	case record.KindProducer:
		return ptrace.SpanKindProducer
	case record.KindConsumer:
		return ptrace.SpanKindConsumer
	}
	return ptrace.SpanKindUnspecified
}

// Kind maps pdata's span kind to record's; an unknown kind is unspecified.
func Kind(k ptrace.SpanKind) record.Kind {
	switch k {
	case ptrace.SpanKindInternal:
		return record.KindInternal
	case ptrace.SpanKindServer:
		return record.KindServer
	case ptrace.SpanKindClient:
		return record.KindClient
	case ptrace.SpanKindProducer:
		return record.KindProducer
	case ptrace.SpanKindConsumer:
		return record.KindConsumer
	}
	return record.KindUnspecified
}

// Status maps pdata's status code (Unset, Ok, Error) to record's (Unset,
// Error, OK), which numbers them the other way round.
func Status(c ptrace.StatusCode) record.Status {
	switch c {
	case ptrace.StatusCodeOk:
		return record.StatusOK
	case ptrace.StatusCodeError:
		return record.StatusError
	}
	return record.StatusUnset
}

// statusCode maps record's status to pdata's.
func statusCode(s record.Status) ptrace.StatusCode {
	switch s {
	case record.StatusOK:
		return ptrace.StatusCodeOk
	case record.StatusError:
		return ptrace.StatusCodeError
	}
	return ptrace.StatusCodeUnset
}
