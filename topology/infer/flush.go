package infer

import (
	"slices"

	"github.com/tracerig/tracerig/internal/record"
)

// noCallee marks an interval a request waited on without a known callee
// (a client span to an uninstrumented peer).
const noCallee = ^uint64(0)

// flusher analyses one finished trace; its slices are scratch reused
// across traces, so a flush allocates only when a trace is larger than
// every one before it.
type flusher struct {
	idx    map[record.SpanID]int32
	owner  []int32 // nearest request span at or above each span; -1 none; -2 not yet known
	callee []int32 // per client span, its first server child; -1 none
	calls  []call
}

// call is one client span (or a server span called without one), or one
// producer span, under the request of span req.
type call struct {
	req        int32
	callee     uint64 // route key, publishKey, or noCallee
	start, end int64
	failed     bool
	// timedOut: the attempt failed while its callee went on (the
	// callee's span ended after the client span): the caller gave up.
	timedOut bool
}

// trace folds the finished trace's spans into b's aggregates. A request
// is a server span or a consumer span: a consumer span runs its consume
// route as a server span runs its route.
func (f *flusher) trace(b *Builder, spans []span) {
	f.index(b, spans)
	f.calls = f.calls[:0]
	requests := 0
	for k := range spans {
		switch spans[k].kind {
		case record.KindServer:
			requests++
			f.link(b, spans, int32(k))
		case record.KindConsumer:
			requests++
		}
	}
	if requests == 0 {
		b.unused.add(ReasonNoServerSpans, int64(len(spans)))
		return
	}
	for p := range spans {
		f.clientWithoutCallee(b, spans, int32(p))
		f.publish(b, spans, int32(p))
	}
	slices.SortFunc(f.calls, func(x, y call) int {
		if x.req != y.req {
			return int(x.req - y.req)
		}
		return int(sign(x.start - y.start))
	})
	calls := f.calls
	for k := range spans {
		if !isRequest(spans[k].kind) {
			continue
		}
		n := 0
		for n < len(calls) && calls[n].req == int32(k) {
			n++
		}
		f.request(b, spans, int32(k), calls[:n])
		calls = calls[n:]
	}
}

// request folds request span k and its calls; a root server span counts
// its trace's spans for its entry route, and a consumer span whether its
// parent is a producer span (mode parent).
func (f *flusher) request(b *Builder, spans []span, k int32, calls []call) {
	s := &spans[k]
	b.agg.request(s, calls)
	key := routeKey(s.svc, s.name)
	switch {
	case s.kind == record.KindConsumer:
		if p, ok := f.idx[s.parent]; ok && s.parent.IsValid() && spans[p].kind == record.KindProducer {
			b.agg.consumers[key].parent++
		}
	case !s.parent.IsValid():
		b.agg.routes[key].rootSpans += int64(len(spans))
	}
}

// isRequest reports whether a span of kind k serves a request of its
// route: a server span, or a consumer span running its consume route.
func isRequest(k record.Kind) bool { return k == record.KindServer || k == record.KindConsumer }

func sign(d int64) int64 {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// index maps span IDs to positions and counts orphans and duplicates.
func (f *flusher) index(b *Builder, spans []span) {
	if f.idx == nil {
		f.idx = map[record.SpanID]int32{}
	}
	clear(f.idx)
	f.owner = slices.Grow(f.owner[:0], len(spans))[:len(spans)]
	f.callee = slices.Grow(f.callee[:0], len(spans))[:len(spans)]
	for i := range spans {
		f.owner[i], f.callee[i] = -2, -1
		if _, dup := f.idx[spans[i].id]; dup {
			b.unused.add(ReasonDuplicate, 1)
			continue
		}
		f.idx[spans[i].id] = int32(i)
	}
	for i := range spans {
		if f.isOrphan(spans, i) {
			b.unused.add(ReasonOrphan, 1)
		}
	}
}

func (f *flusher) isOrphan(spans []span, i int) bool {
	if !spans[i].parent.IsValid() {
		return false
	}
	_, ok := f.idx[spans[i].parent]
	return !ok
}

// ownerOf returns the nearest request span (server or consumer) at or
// above span i, or -1.
func (f *flusher) ownerOf(spans []span, i int32) int32 {
	start := i
	for steps := 0; steps <= len(spans); steps++ {
		if o := f.owner[i]; o != -2 {
			f.owner[start] = o
			return o
		}
		if isRequest(spans[i].kind) {
			f.owner[i] = i
			f.owner[start] = i
			return i
		}
		p, ok := f.idx[spans[i].parent]
		if !spans[i].parent.IsValid() || !ok {
			break
		}
		i = p
	}
	f.owner[start] = -1
	return -1
}

// link records server span k as a callee of the request above it: through
// its parent client span, or directly under another service's span.
func (f *flusher) link(b *Builder, spans []span, k int32) {
	s := &spans[k]
	p, ok := f.idx[s.parent]
	if !s.parent.IsValid() || !ok {
		return
	}
	ps := &spans[p]
	key := routeKey(s.svc, s.name)
	if ps.kind == record.KindClient {
		if f.callee[p] >= 0 {
			return // a second server child: the first is the callee
		}
		f.callee[p] = k
		if s.start < ps.start || s.end > ps.end {
			b.unused.add(ReasonSkew, 1)
		}
		if o := f.ownerOf(spans, p); o >= 0 {
			failed := ps.flags&flagError != 0 || s.flags&flagError != 0
			if failed && s.end > ps.end {
				s.flags |= flagAbandoned
			}
			f.calls = append(f.calls, call{req: o, callee: key, start: ps.start, end: ps.end,
				failed: failed, timedOut: failed && s.end > ps.end})
		}
		return
	}
	if o := f.ownerOf(spans, p); o >= 0 && spans[o].svc != s.svc {
		if s.start < spans[o].start || s.end > spans[o].end {
			b.unused.add(ReasonSkew, 1)
		}
		f.calls = append(f.calls, call{req: o, callee: key, start: s.start, end: s.end, failed: s.flags&flagError != 0})
	}
}

// clientWithoutCallee counts client span p when no server span answers it
// (an uninstrumented peer) or no server span holds it; the time it took
// still counts as waiting for its request.
func (f *flusher) clientWithoutCallee(b *Builder, spans []span, p int32) {
	s := &spans[p]
	if s.kind != record.KindClient || f.callee[p] >= 0 {
		return
	}
	o := f.ownerOf(spans, p)
	if o < 0 {
		b.unused.add(ReasonNoServer, 1)
		return
	}
	b.unused.add(ReasonUninstrumented, 1)
	b.agg.peer(s.name)
	f.calls = append(f.calls, call{req: o, callee: noCallee, start: s.start, end: s.end, failed: s.flags&flagError != 0})
}

// publish records producer span p as a publish of the request above it:
// a step among its calls, keyed by the topic.
func (f *flusher) publish(b *Builder, spans []span, p int32) {
	s := &spans[p]
	if s.kind != record.KindProducer {
		return
	}
	o := f.ownerOf(spans, p)
	if o < 0 {
		b.unused.add(ReasonNoPublisher, 1)
		return
	}
	f.calls = append(f.calls, call{req: o, callee: publishKey(s.name), start: s.start, end: s.end, failed: s.flags&flagError != 0})
}

// routeKey packs an interned service and route into one key.
func routeKey(svc, route uint32) uint64 { return uint64(svc)<<32 | uint64(route) }

func splitKey(k uint64) (svc, route uint32) { return uint32(k >> 32), uint32(k) }
