package synthetic

// This file builds the spans of one request into an OTLP batch, walking
// the route's call tree.

import (
	"encoding/binary"
	"math/rand/v2"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Builder builds batches of traces. One per goroutine; the zero value is
// not usable, get one from NewBuilder.
type Builder struct {
	g   *Generator
	pcg rand.PCG
	rng *rand.Rand

	// per trace
	tid pcommon.TraceID
	hi  uint64
	n   int // spans so far in this trace (also the next span index)
	m   int // messages published so far in this trace

	// per Add
	seq   uint64 // the request trace's
	added int    // spans of every trace built for it

	// per batch
	mode   int // modeCount (Expect), modePdata or modeProto
	td     ptrace.Traces
	pb     protoBatch
	ss     []ptrace.SpanSlice
	have   []bool
	spans  int
	linked int // traces of their own that consumers started

	// the batches of consumer groups (batch.go)
	stride  uint64     // shards in the run: a batch is consecutive traces of one shard
	acc     []batchAcc // per Generator.batched slot; nil: no batch is run
	replays []*Builder // per slot, made on first use
	onTrace func(id record.TraceID, spans int)
}

// NewBuilder returns a Builder for g.
func (g *Generator) NewBuilder() *Builder {
	b := &Builder{g: g, mode: modePdata, ss: make([]ptrace.SpanSlice, len(g.res)), have: make([]bool, len(g.res)),
		stride: 1, acc: g.newAccs(nil)}
	b.rng = rand.New(&b.pcg)
	return b
}

func (b *Builder) startTrace(seq uint64, _ int64) {
	if b.rng == nil {
		b.rng = rand.New(&b.pcg)
	}
	b.pcg.Seed(b.g.seed, seq)
	t := b.g.TraceID(seq)
	b.tid = pcommon.TraceID(t)
	b.hi = binary.BigEndian.Uint64(t[:8])
	b.n, b.m = 0, 0
}

// nextSpan returns the ID of the next span of the current trace.
func (b *Builder) nextSpan() [8]byte {
	id := spanID(b.hi, b.n)
	b.n++
	return id
}

func (b *Builder) entry() *routeInfo {
	if len(b.g.entries) == 1 {
		return b.g.entries[0]
	}
	u := b.rng.Float64()
	for i, w := range b.g.weights {
		if u < w {
			return b.g.entries[i]
		}
	}
	return b.g.entries[len(b.g.entries)-1]
}

// Begin starts a new batch.
func (b *Builder) Begin() {
	b.linked = 0
	if b.mode == modeProto {
		b.pb.begin(len(b.g.res))
		b.spans = 0
		return
	}
	b.td = ptrace.NewTraces()
	clear(b.have)
	b.spans = 0
}

// Add appends trace seq to the batch, its root starting at startNanos
// (unix), with the traces its messages start of their own and the runs of
// the consumer batches seq completes, and returns their span count.
func (b *Builder) Add(seq uint64, startNanos int64) int {
	b.added, b.seq = 0, seq
	if b.acc != nil {
		b.prepare(seq)
	}
	b.startTrace(seq, startNanos)
	b.serve(b.entry(), [8]byte{}, startNanos)
	b.added += b.n
	if b.acc != nil {
		b.endBatches(seq, startNanos)
	}
	b.spans += b.added
	return b.added
}

// Spans returns the spans in the current batch.
func (b *Builder) Spans() int { return b.spans }

// Linked returns the traces of their own that consumers in mode link
// started in the current batch, beside one trace per request.
func (b *Builder) Linked() int { return b.linked }

// Traces returns the current batch; the Builder forgets it.
func (b *Builder) Traces() ptrace.Traces {
	td := b.td
	b.td = ptrace.Traces{}
	return td
}

func (b *Builder) slice(res int) ptrace.SpanSlice {
	if !b.have[res] {
		rs := b.td.ResourceSpans().AppendEmpty()
		b.g.res[res].CopyTo(rs.Resource())
		sc := rs.ScopeSpans().AppendEmpty()
		sc.Scope().SetName(ScopeName)
		b.ss[res] = sc.Spans()
		b.have[res] = true
	}
	return b.ss[res]
}

// serve plays one request to route r, received with parent as the caller's
// span, starting at start; it returns when the answer leaves and whether it
// failed. Random draws happen in a fixed order whether or not spans are
// built, so Expect and Add agree.
func (b *Builder) serve(r *routeInfo, parent [8]byte, start int64) (end int64, failed bool) {
	res, id, end, failed := b.work(r, parent, start)
	if r.svc.instr && b.mode != modeCount {
		code := int64(200)
		if r.svc.grpc {
			code = 0
		}
		if failed {
			code = r.errHTTP
			if r.svc.grpc {
				code = r.errGRPC
			}
		}
		b.emit(res, id, parent, r.name, ptrace.SpanKindServer, start, end, r.attrs, r.enc, r.svc.grpc, code, failed)
	}
	return end, failed
}

// work plays route r's own part of a request or a message received with
// parent as the sender's span, starting at start: an instance, its span's
// ID (zero when the service is not instrumented), its latency, its error
// and its steps. It returns the instance's resource, the span's ID, when
// the work ends and whether it failed.
func (b *Builder) work(r *routeInfo, parent [8]byte, start int64) (res int, id [8]byte, end int64, failed bool) {
	inst := 0
	if r.svc.instances > 1 {
		inst = b.rng.IntN(r.svc.instances)
	}
	ctxParent := parent
	if r.svc.instr {
		id = b.nextSpan()
		ctxParent = id
	}
	lat := int64(r.latency.Draw(b.rng))
	failed = r.errRate > 0 && b.rng.Float64() < r.errRate
	res = r.svc.firstRes + inst
	end, callFailed := b.steps(r.steps, r.svc, res, ctxParent, start+lat)
	return res, id, end, failed || callFailed
}

const (
	modeCount = iota
	modePdata
	modeProto
)

// emit adds one span to the batch.
func (b *Builder) emit(res int, id, parent [8]byte, name string, kind ptrace.SpanKind, start, end int64, static []attr, enc []byte, grpc bool, code int64, failed bool) {
	if b.mode == modeProto {
		b.pb.span(res, b.tid, id, parent, name, kind, start, end, enc, grpc, code, failed)
		return
	}
	sp := b.pdataSpan(res, id, parent, name, kind, start, end)
	attrs := sp.Attributes()
	attrs.EnsureCapacity(len(static) + 1)
	putAttrs(attrs, static)
	if grpc {
		attrs.PutInt(keyGRPCStatus, code)
	} else {
		attrs.PutInt(keyHTTPStatus, code)
	}
	if failed {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
}

// pdataSpan appends a span of the current trace to the batch, with its
// IDs, name, kind and times.
func (b *Builder) pdataSpan(res int, id, parent [8]byte, name string, kind ptrace.SpanKind, start, end int64) ptrace.Span {
	sp := b.slice(res).AppendEmpty()
	sp.SetTraceID(b.tid)
	sp.SetSpanID(id)
	if parent != ([8]byte{}) {
		sp.SetParentSpanID(parent)
	}
	sp.SetName(name)
	sp.SetKind(kind)
	sp.SetStartTimestamp(pcommon.Timestamp(start))
	sp.SetEndTimestamp(pcommon.Timestamp(end))
	return sp
}

const (
	keyGRPCStatus = "rpc.grpc.status_code"
	keyHTTPStatus = "http.response.status_code"
)

func putAttrs(m pcommon.Map, as []attr) {
	for i := range as {
		a := &as[i]
		if a.isInt {
			m.PutInt(a.key, a.num)
		} else {
			m.PutStr(a.key, a.str)
		}
	}
}

// steps runs steps in order from t; a failed step ends the sequence, as in
// the simulator.
func (b *Builder) steps(steps []step, caller *svcInfo, res int, parent [8]byte, t int64) (int64, bool) {
	for i := range steps {
		end, failed := b.step(&steps[i], caller, res, parent, t)
		t = end
		if failed {
			return t, true
		}
	}
	return t, false
}

func (b *Builder) step(st *step, caller *svcInfo, res int, parent [8]byte, t int64) (int64, bool) {
	switch st.kind {
	case topology.StepCall:
		return b.call(st.call, caller, res, parent, t)
	case topology.StepSequence:
		return b.steps(st.steps, caller, res, parent, t)
	case topology.StepParallel:
		end, anyFailed := t, false
		for i := range st.steps {
			e, f := b.step(&st.steps[i], caller, res, parent, t)
			end = max(end, e)
			anyFailed = anyFailed || f
		}
		return end, anyFailed
	case topology.StepPublish:
		if st.topic != nil {
			return b.publish(st.topic, caller, res, parent, t)
		}
	}
	return t, false
}

// call makes one call with its retries and timeout: a client span per
// attempt when the caller is instrumented, and the callee's subtree under
// it (under the caller's own parent when the caller is not instrumented).
func (b *Builder) call(c *callInfo, caller *svcInfo, res int, parent [8]byte, t int64) (int64, bool) {
	failed := true
	for attempt := 0; attempt <= c.retries && failed; attempt++ {
		if attempt > 0 {
			t += int64(c.backoff << (attempt - 1))
		}
		var id [8]byte
		sub := parent
		if caller.instr {
			id = b.nextSpan()
			sub = id
		}
		start := t
		end := start + int64(2*netDelay)
		var code int64 // grpc code or http status of the answer
		failed = false
		if c.callee != nil {
			e, f := b.serve(c.callee, sub, start+int64(netDelay))
			end, failed = e+int64(netDelay), f
		}
		timedOut := c.timeout > 0 && end-start > int64(c.timeout)
		if timedOut {
			end, failed = start+int64(c.timeout), true
		}
		grpc := c.callee != nil && c.callee.svc.grpc
		switch {
		case timedOut && grpc:
			code = 4 // DEADLINE_EXCEEDED
		case timedOut:
			code = 504
		case failed && grpc:
			code = c.callee.errGRPC
		case failed:
			code = c.callee.errHTTP
		case grpc:
			code = 0
		default:
			code = 200
		}
		if caller.instr && b.mode != modeCount {
			b.emit(res, id, parent, c.name, ptrace.SpanKindClient, start, end, c.attrs, c.enc, grpc, code, failed)
		}
		t = end
	}
	return t, failed
}
