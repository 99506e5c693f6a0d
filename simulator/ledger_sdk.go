package simulator

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerig/tracerig/internal/otlpexport"
	"github.com/tracerig/tracerig/internal/record"
)

// ledgerProcessor records every span that ends in one service instance. It
// is registered before the batcher, so a span is in the ledger before the
// SDK queue can drop it.
type ledgerProcessor struct {
	shard         *shard
	service, inst uint32
}

func newLedgerProcessor(s *shard, service, instance string) *ledgerProcessor {
	return &ledgerProcessor{shard: s, service: s.l.syms.id(service), inst: s.l.syms.id(instance)}
}

func (p *ledgerProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (p *ledgerProcessor) OnEnd(s sdktrace.ReadOnlySpan) {
	sc := s.SpanContext()
	p.shard.addEnded(endRec{
		trace:   record.TraceID(sc.TraceID()),
		id:      record.SpanID(sc.SpanID()),
		parent:  record.SpanID(s.Parent().SpanID()),
		start:   s.StartTime().UnixNano(),
		end:     s.EndTime().UnixNano(),
		service: p.service,
		inst:    p.inst,
		name:    p.shard.l.syms.id(s.Name()),
		kind:    kindOf(s.SpanKind()),
		status:  statusOf(s.Status().Code),
	})
}

func (p *ledgerProcessor) Shutdown(context.Context) error   { return nil }
func (p *ledgerProcessor) ForceFlush(context.Context) error { return nil }

func kindOf(k trace.SpanKind) record.Kind {
	if k < trace.SpanKindInternal || k > trace.SpanKindConsumer {
		return record.KindUnspecified
	}
	return record.Kind(k)
}

func statusOf(c codes.Code) record.Status {
	switch c {
	case codes.Error:
		return record.StatusError
	case codes.Ok:
		return record.StatusOK
	}
	return record.StatusUnset
}

// ledgerExporter records the outcome of every export it forwards (a
// failure with its reason and first message), and plays
// the faults that act between the SDK and the wire: a crashed instance's
// unsent spans are lost, a skewed clock shifts timestamps.
type ledgerExporter struct {
	next sdktrace.SpanExporter
	in   *instance
}

func (e *ledgerExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	spans = e.faulty(spans)
	if len(spans) == 0 {
		return nil
	}
	err := e.next.ExportSpans(ctx, spans)
	at := time.Now().UnixNano()
	recs := make([]exportRec, len(spans))
	for i, s := range spans {
		sc := s.SpanContext()
		recs[i] = exportRec{trace: record.TraceID(sc.TraceID()), id: record.SpanID(sc.SpanID())}
	}
	if err != nil {
		f := exportFailure{service: e.in.svcSym, reason: otlpexport.Reason(err), message: err.Error()}
		e.in.shard.addFailedExports(recs, at, f)
		return err
	}
	e.in.shard.addExports(recs, at)
	return nil
}

// faulty drops the spans a crash lost and shifts those a skewed clock
// stamped. It returns spans unchanged when no such fault ever applied.
func (e *ledgerExporter) faulty(spans []sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	in := e.in
	if in.down.Load() {
		return nil
	}
	restart := in.restarts.Load()
	skews := in.rt.fx.skews.Load() != nil
	if restart == 0 && !skews {
		return spans
	}
	out := spans[:0:0]
	for _, s := range spans {
		if s.EndTime().UnixNano() < restart {
			continue // it sat in the queue of a process that died
		}
		if d := in.rt.skewAt(in, s.StartTime().UnixNano()); d != 0 {
			s = skewedSpan{ReadOnlySpan: s, d: d}
		}
		out = append(out, s)
	}
	return out
}

// Shutdown leaves the exporter open: batchers come and go (queue faults),
// the instance closes the exporter itself.
func (e *ledgerExporter) Shutdown(context.Context) error { return nil }

// skewedSpan is a span as a skewed clock stamped it.
type skewedSpan struct {
	sdktrace.ReadOnlySpan
	d time.Duration
}

func (s skewedSpan) StartTime() time.Time { return s.ReadOnlySpan.StartTime().Add(s.d) }
func (s skewedSpan) EndTime() time.Time   { return s.ReadOnlySpan.EndTime().Add(s.d) }
