package otlpfile

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracerig/tracerig/internal/record"
)

// ScopeName is the instrumentation scope of the spans a Writer writes.
const ScopeName = "github.com/tracerig/tracerig"

// Writer writes spans as OTLP protobuf. Each Write appends one serialized
// ExportTraceServiceRequest; since protobuf parses concatenated messages of
// one type as one message holding the repeated fields of all, what a Writer
// writes, in however many calls, is itself one valid
// ExportTraceServiceRequest. Its methods are safe for concurrent use.
type Writer struct {
	mu    sync.Mutex
	w     io.Writer
	spans int64
	bytes int64
}

// NewWriter returns a Writer appending to w. It writes to w once per
// Write and does not buffer: the caller closes w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write appends spans as one ExportTraceServiceRequest: the spans of one
// resource (service, instance and other resource attributes alike) in one
// ResourceSpans, with one ScopeSpans, in the order given. Writing no spans
// writes nothing.
func (w *Writer) Write(spans []record.Span) error {
	if len(spans) == 0 {
		return nil
	}
	b, err := ptraceotlp.NewExportRequestFromTraces(traces(spans)).MarshalProto()
	if err != nil {
		return fmt.Errorf("encode %d spans: %w", len(spans), err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.w.Write(b)
	w.bytes += int64(n)
	if err != nil {
		return fmt.Errorf("write %d spans after byte %d: %w", len(spans), w.bytes-int64(n), err)
	}
	w.spans += int64(len(spans))
	return nil
}

// Written returns how many spans and bytes the Writer has written.
func (w *Writer) Written() (spans, bytes int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.spans, w.bytes
}

// traces groups spans by resource into pdata.
func traces(spans []record.Span) ptrace.Traces {
	td := ptrace.NewTraces()
	rss := td.ResourceSpans()
	byResource := make(map[string]ptrace.SpanSlice)
	var key strings.Builder
	for i := range spans {
		sp := &spans[i]
		key.Reset()
		resourceKey(&key, sp)
		ss, ok := byResource[key.String()]
		if !ok {
			rs := rss.AppendEmpty()
			fillResource(rs.Resource(), sp)
			scope := rs.ScopeSpans().AppendEmpty()
			scope.Scope().SetName(ScopeName)
			ss = scope.Spans()
			byResource[key.String()] = ss
		}
		fill(ss.AppendEmpty(), sp)
	}
	return td
}

// resourceKey writes to b what tells sp's resource from another: its
// strings, each after its length.
func resourceKey(b *strings.Builder, sp *record.Span) {
	str := func(s string) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	str(sp.Service)
	str(sp.Instance)
	for _, a := range sp.Resource {
		str(a.Key)
		str(a.Value)
	}
}
