package scenarios

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/arrival"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// traceFetcher is a backend read back through a query API that looks
// traces up by ID: Jaeger, Tempo.
type traceFetcher interface {
	Traces(ctx context.Context, ids []record.TraceID) ([]record.Span, error)
}

// spanSource gives the verifier settled groups with their backend spans.
type spanSource interface {
	// collect takes the groups that settled in the ledger at now, whose
	// records had been left alone for at least quiet, and returns the
	// groups ready to be judged, with their backend spans.
	collect(now time.Time, settled []simulator.Settled, quiet time.Duration) []assert.Group
	// waiting is how many groups wait for their spans.
	waiting() int
}

// takeAtOnce is the embedded backend as a spanSource: it stores a span
// before it acknowledges it, so a settled group's spans are there and are
// taken at once.
type takeAtOnce struct{ store traceTaker }

func (t takeAtOnce) collect(_ time.Time, settled []simulator.Settled, _ time.Duration) []assert.Group {
	out := make([]assert.Group, 0, len(settled))
	for _, s := range settled {
		out = append(out, assert.Group{Hops: s.Hops, Ended: s.Ended, Backend: t.store.TakeTraces(groupTraces(s))})
	}
	return out
}

func (takeAtOnce) waiting() int { return 0 }

// Timing of a readBack.
const (
	// arrivalDelay is how long after a group's last record its traces are
	// first looked up: a query backend acknowledges a span before it can
	// serve it (Jaeger batches for 100ms before storing). A group the
	// ledger settled has been quiet for longer, and is looked up at once.
	arrivalDelay = 500 * time.Millisecond
	// fetchTimeout bounds one tick's look-ups.
	fetchTimeout = 30 * time.Second
	// minWaiting is the least bound on the groups waiting for their spans.
	minWaiting = 10000
)

// readBack is a query backend as a spanSource. A backend read back through
// its query API acknowledges a span before it serves it, so a group that
// settled in the ledger waits: its traces are looked up once arrivalDelay
// has passed since its last record, again on every tick while some span its exporters had
// acknowledged is missing, and it is judged once all have been returned,
// or when its deadline (settle after it settled) passes with the spans it
// has. A span's Arrived is when the arrival probe, which polls a sample of
// the run's traces as they go, first saw it (sink.takeArrivals), as in a
// run judged at its end; a trace it did not follow has none.
//
// What waits is in flight, about rate × settle groups; more than bound
// means the backend cannot keep up, and the oldest groups are judged at
// once with what they have. Those, the groups judged at their deadline and
// failed look-ups are counted for the report (see notes), the traces not
// returned whole exactly. A group missing spans after the store took more
// traces than it keeps (maxTraces) since the group settled names the
// eviction as the cause.
//
// A group whose exporters had no span acknowledged is judged at once,
// without a look-up.
type readBack struct {
	fetch     traceFetcher
	name      string // the backend's, for the report
	delay     time.Duration
	settle    time.Duration
	bound     int
	maxTraces int
	clock     func() time.Time
	// arrivals takes the arrival probe's first-seen times of traces (see
	// sink.takeArrivals); nil leaves spans without arrival times.
	arrivals func(ids []record.TraceID) map[record.TraceID]map[record.SpanID]int64
	// held, set for a store that records arrival times and holds the spans
	// it returns until told to forget them (newHeldReadBack), takes a
	// judged group's traces from it; spans then keep their Arrived.
	held  traceTaker
	timed int // traces given arrival times

	queue    []*waitGroup // oldest first
	byTrace  map[record.TraceID]*waitGroup
	exported int // traces with an acknowledged span, of the groups given so far

	lookups, failed int   // look-up rounds, and those that failed
	lastErr         error // of the last failed round
	whole           int   // groups judged with every acknowledged span
	late, over      loss  // judged at their deadline; judged early, the queue over its bound
	peak            int   // most groups waiting at once
}

// loss counts groups judged before every span their exporters had
// acknowledged was returned, and the traces and spans not returned.
type loss struct{ groups, traces, spans int }

func (l *loss) add(g *waitGroup) {
	l.groups++
	l.spans += len(g.want)
	traces := make(map[record.TraceID]struct{})
	for k := range g.want {
		traces[k.trace] = struct{}{}
	}
	l.traces += len(traces)
}

// spanKey names a span.
type spanKey struct {
	trace record.TraceID
	id    record.SpanID
}

// waitGroup is a settled group waiting for its spans.
type waitGroup struct {
	s        simulator.Settled
	traces   []record.TraceID
	want     map[spanKey]struct{} // acknowledged spans not returned yet
	got      map[spanKey]record.Span
	due      time.Time // of its first look-up
	deadline time.Time
	looked   bool // a look-up included it
	before   int  // readBack.exported before its tick
}

// newReadBack returns a readBack of fetch, named name, with a deadline of
// settle and a bound of bound groups; maxTraces is the store's size when it
// evicts (else 0).
func newReadBack(fetch traceFetcher, name string, settle time.Duration, bound, maxTraces int) *readBack {
	return &readBack{fetch: fetch, name: name, delay: arrivalDelay, settle: settle, bound: max(1, bound),
		maxTraces: maxTraces, clock: time.Now, byTrace: make(map[record.TraceID]*waitGroup)}
}

func (r *readBack) waiting() int { return len(r.queue) }

func (r *readBack) collect(now time.Time, settled []simulator.Settled, quiet time.Duration) []assert.Group {
	var ready []assert.Group
	before := r.exported
	for _, s := range settled {
		g := &waitGroup{s: s, traces: groupTraces(s), want: make(map[spanKey]struct{}), got: make(map[spanKey]record.Span),
			due: now.Add(max(0, r.delay-quiet)), deadline: now.Add(r.settle), before: before}
		for i := range s.Ended {
			if e := &s.Ended[i]; e.Export == record.ExportOK {
				g.want[spanKey{e.Trace, e.ID}] = struct{}{}
			}
		}
		if len(g.want) == 0 {
			ready = append(ready, assert.Group{Hops: s.Hops, Ended: s.Ended})
			continue
		}
		r.exported += exportedTraces(s.Ended)
		r.queue = append(r.queue, g)
		for _, t := range g.traces {
			r.byTrace[t] = g
		}
	}
	r.peak = max(r.peak, len(r.queue))
	r.lookUp(now)
	return append(ready, r.release(r.clock())...)
}

// lookUp looks up the traces of the groups due at now and files what came
// back.
func (r *readBack) lookUp(now time.Time) {
	var ids []record.TraceID
	for _, g := range r.queue {
		if !g.due.After(now) {
			g.looked = true
			ids = append(ids, g.traces...)
		}
	}
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	spans, err := r.fetch.Traces(ctx, ids)
	r.lookups++
	if err != nil {
		r.failed++
		r.lastErr = err
		return
	}
	for _, sp := range spans {
		g, ok := r.byTrace[sp.Trace]
		if !ok {
			continue
		}
		r.file(g, sp)
	}
}

// file gives a span returned for g to it, once.
func (r *readBack) file(g *waitGroup, sp record.Span) {
	k := spanKey{sp.Trace, sp.ID}
	if _, seen := g.got[k]; seen {
		return
	}
	if r.held == nil {
		sp.Arrived = 0 // the arrival probe's, if it followed the trace (judge)
	}
	g.got[k] = sp
	delete(g.want, k)
}

// release returns the groups ready at now: whole, or past their deadline
// after a look-up; then, while more than bound wait, the oldest.
func (r *readBack) release(now time.Time) []assert.Group {
	var out []assert.Group
	kept := r.queue[:0]
	for _, g := range r.queue {
		switch {
		case len(g.want) == 0:
			r.whole++
		case g.looked && !now.Before(g.deadline):
			r.late.add(g)
		default:
			kept = append(kept, g)
			continue
		}
		out = append(out, r.judge(g))
	}
	clear(r.queue[len(kept):])
	r.queue = kept
	if shed := len(kept) - r.bound; shed > 0 {
		for _, g := range kept[:shed] {
			r.over.add(g)
			out = append(out, r.judge(g))
		}
		r.queue = slices.Clone(kept[shed:])
	}
	return out
}

// judge turns a waiting group into one to judge and forgets it.
func (r *readBack) judge(g *waitGroup) assert.Group {
	for _, t := range g.traces {
		if r.byTrace[t] == g {
			delete(r.byTrace, t)
		}
	}
	if r.held != nil {
		// The store forgets the group's traces; spans that came since the
		// last look-up are judged with the rest.
		for _, sp := range r.held.TakeTraces(g.traces) {
			r.file(g, sp)
		}
	}
	out := assert.Group{Hops: g.s.Hops, Ended: g.s.Ended, Backend: make([]record.Span, 0, len(g.got))}
	for _, sp := range g.got {
		out.Backend = append(out.Backend, sp)
	}
	if r.arrivals != nil {
		if seen := r.arrivals(g.traces); seen != nil {
			r.timed += arrival.Apply(out.Backend, seen)
		}
	}
	if len(g.want) > 0 && r.maxTraces > 0 && r.exported-g.before > r.maxTraces {
		out.BackendLoss = fmt.Sprintf("evicted by %s, which keeps only its newest %d traces", r.name, r.maxTraces)
	}
	return out
}

// flush judges every group still waiting with what it has, as past its
// deadline: the run's settle is over.
func (r *readBack) flush() []assert.Group {
	for _, g := range r.queue {
		g.looked, g.deadline = true, time.Time{}
	}
	return r.release(r.clock())
}

// waitBound is the most groups a readBack lets wait: twice those in flight
// at the loads' peak rate (summed, as loads may overlap) between settling
// and their deadline, at least minWaiting (a load flat out has no rate to
// go by).
func waitBound(loads []topology.Load, settle time.Duration) int {
	peak := 0.0
	for _, l := range loads {
		r := l.Rate.PerSecond()
		if l.Rate.Ramp && l.Rate.Per > 0 {
			r = max(r, float64(l.Rate.To)/l.Rate.Per.Seconds())
		}
		peak += r
	}
	n := math.Ceil(2 * peak * (settle + arrivalDelay + verifyEvery).Seconds())
	return max(minWaiting, int(math.Min(n, math.MaxInt32)))
}

// report says what the report should of the read-back, given how many
// traces the services exported: how arrival times were measured, what came
// back whole and what did not (notes), and that the backend could not keep
// up (errs: look-ups that failed, or too many groups waiting).
func (r *readBack) report(traces int) (notes, errs []string) {
	notReturned := r.late.traces + r.over.traces
	if r.maxTraces > 0 && traces > r.maxTraces {
		notes = append(notes, fmt.Sprintf("%s keeps only its newest %d traces; %d traces were started: read back as their requests settled, %d traces were not returned whole, evicted or lost (raise backend.max-traces to keep them)",
			r.name, r.maxTraces, traces, notReturned))
	}
	notes = append(notes, fmt.Sprintf("%s read back as the run went: %d requests' traces came back whole, %d were judged at their deadline (%s after they settled) with %d traces (%d spans) not returned whole; at most %d requests waited at once",
		r.name, r.whole, r.late.groups, r.settle, r.late.traces, r.late.spans, r.peak))
	if r.failed > 0 {
		errs = append(errs, fmt.Sprintf("%s read-back could not keep up: %d of %d look-ups failed (last: %v); %d traces had not been returned whole when their requests were judged",
			r.name, r.failed, r.lookups, r.lastErr, notReturned))
	}
	if r.over.groups > 0 {
		errs = append(errs, fmt.Sprintf("%s read-back could not keep up: more than %d requests waited for their spans, so %d requests were judged before their spans came back (%d traces, %d spans not returned)",
			r.name, r.bound, r.over.groups, r.over.traces, r.over.spans))
	}
	return notes, errs
}
