package synthetic

// This file builds the messaging spans of a request: a producer span per
// message published, and for each consumer group of the topic the
// consumer's run under a consumer span that links to the message.

import (
	"encoding/binary"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracerig/tracerig/internal/record"
)

// publishTime is how long a publish takes: a round trip to the broker.
const publishTime = 2 * netDelay

// link is the context a message carries, which its consumer span links
// to: its producer span, or the context an uninstrumented publisher
// forwarded (a zero span when it had none).
type link struct {
	trace pcommon.TraceID
	span  [8]byte
}

// publish publishes one message to tp at t from a service's route whose
// span (or forwarded context) is parent: a producer span when the
// service is instrumented, and the message handed to every group of the
// topic. A publish takes publishTime and never fails.
func (b *Builder) publish(tp *topicInfo, caller *svcInfo, res int, parent [8]byte, t int64) (int64, bool) {
	end := t + int64(publishTime)
	msg := messageID(b.hi, b.m)
	b.m++
	sent := link{trace: b.tid, span: parent}
	if caller.instr {
		sent.span = b.nextSpan()
		if b.mode != modeCount {
			b.emitMsg(res, sent.span, parent, &tp.shape, t, end, messageIDAttr(msg), nil, false)
		}
	}
	for _, gi := range tp.groups {
		b.deliver(gi, sent, msg, end)
	}
	return end, false
}

// deliver hands message msg, which carries sent and was published at at,
// to group gi: into its batch, or run at once for it alone, under the
// producer's span in mode parent, in a trace of its own in mode link.
func (b *Builder) deliver(gi *groupInfo, sent link, msg uint64, at int64) {
	if gi.slot >= 0 {
		if b.acc != nil && b.acc[gi.slot].on {
			b.acc[gi.slot].add(sent, msg, at)
		}
		return
	}
	one := [1]link{sent}
	links := one[:]
	if sent.span == ([8]byte{}) {
		links = nil // nothing to link to, nor to continue
	}
	start := at + int64(netDelay)
	if gi.parent && links != nil {
		b.consume(gi, sent.span, links, messageIDAttr(msg), start)
		return
	}
	saved := b.enter(b.g.ownTraceID(b.seq, mix64(msg^gi.key)))
	b.consume(gi, [8]byte{}, links, messageIDAttr(msg), start)
	b.leave(saved)
}

// consume runs gi's consume route once for the messages links point to,
// starting at start: a consumer span under parent (zero: the root of the
// current trace) when the service is instrumented, and the route's work
// under it.
func (b *Builder) consume(gi *groupInfo, parent [8]byte, links []link, a msgAttr, start int64) {
	res, id, end, failed := b.work(gi.route, parent, start)
	if gi.route.svc.instr && b.mode != modeCount {
		b.emitMsg(res, id, parent, &gi.shape, start, end, a, links, failed)
	}
}

// traceState is what the builder knows of the trace it builds, kept while
// it builds another.
type traceState struct {
	tid  pcommon.TraceID
	hi   uint64
	n, m int
}

// enter starts building the trace t, a consumer's own, and returns the
// state of the one it interrupts, for leave.
func (b *Builder) enter(t [16]byte) traceState {
	s := traceState{tid: b.tid, hi: b.hi, n: b.n, m: b.m}
	b.tid = t
	b.hi = binary.BigEndian.Uint64(t[:8])
	b.n, b.m = 0, 0
	return s
}

// leave ends the trace enter started, counting it when it has spans, and
// goes back to s.
func (b *Builder) leave(s traceState) {
	if b.n > 0 {
		b.added += b.n
		b.linked++
		if b.onTrace != nil {
			b.onTrace(record.TraceID(b.tid), b.n)
		}
	}
	b.tid, b.hi, b.n, b.m = s.tid, s.hi, s.n, s.m
}

// emitMsg adds one messaging span to the batch: shape's name, kind and
// attributes, then a, then a link to each of links.
func (b *Builder) emitMsg(res int, id, parent [8]byte, shape *msgShape, start, end int64, a msgAttr, links []link, failed bool) {
	if b.mode == modeProto {
		b.pb.msgSpan(res, b.tid, id, parent, shape, start, end, a, links, failed)
		return
	}
	sp := b.pdataSpan(res, id, parent, shape.name, shape.kind, start, end)
	attrs := sp.Attributes()
	attrs.EnsureCapacity(len(shape.attrs) + 1)
	putAttrs(attrs, shape.attrs)
	if a.isHex {
		attrs.PutStr(a.key, strconv.FormatUint(a.num, 16))
	} else {
		attrs.PutInt(a.key, int64(a.num))
	}
	if len(links) > 0 {
		ls := sp.Links()
		ls.EnsureCapacity(len(links))
		for i := range links {
			l := ls.AppendEmpty()
			l.SetTraceID(links[i].trace)
			l.SetSpanID(links[i].span)
		}
	}
	if failed {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
}
