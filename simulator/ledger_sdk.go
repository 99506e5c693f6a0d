package simulator

import (
	"context"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

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

// ledgerExporter records the outcome of every export it forwards.
type ledgerExporter struct {
	next  sdktrace.SpanExporter
	shard *shard
}

func (e *ledgerExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.next.ExportSpans(ctx, spans)
	recs := make([]exportRec, len(spans))
	for i, s := range spans {
		sc := s.SpanContext()
		recs[i] = exportRec{trace: record.TraceID(sc.TraceID()), id: record.SpanID(sc.SpanID()), ok: err == nil}
	}
	e.shard.addExports(recs)
	return err
}

func (e *ledgerExporter) Shutdown(ctx context.Context) error { return e.next.Shutdown(ctx) }
