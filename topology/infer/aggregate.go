package infer

import (
	"cmp"
	"slices"

	"github.com/tracerig/tracerig/internal/record"
)

// maxPairCallees bounds the distinct callees of one request whose pairs
// are compared for overlap (a request calling more is still counted).
const maxPairCallees = 64

// aggregates hold what finished traces said, per service and route.
type aggregates struct {
	routes    map[uint64]*routeAgg
	services  map[uint32]*serviceAgg
	peers     map[uint32]int64       // uninstrumented peers: client spans per peer name
	topics    map[uint32]*topicAgg   // by interned destination
	consumers map[uint64]*consumeAgg // by consume route key
	firstRoot int64
	lastRoot  int64
	roots     int64
	// scratch of one request
	logical    []logicalCall
	last       map[uint64]int // callee → its latest logical call
	seenCallee map[uint64]int // callee → its number, by first call
	distinct   []uint64       // callees by number
	waited     []call         // intervals waited on, retries' backoff included
}

type serviceAgg struct {
	grpc, http int64
	instances  map[uint32]struct{} // at most maxInstances+1
}

// maxInstances is the topology's bound on a service's instances.
const maxInstances = 64

// routeAgg is what the requests of one route said.
type routeAgg struct {
	requests, roots int64
	rootSpans       int64 // spans in the traces rooted at the route
	ownErrors       int64 // failed with no failed call to explain it
	clean           int64 // requests whose calls all succeeded
	statuses        map[uint16]int64
	grpc            bool
	own             hist
	callees         map[uint64]*calleeAgg
	pairs           map[[2]uint64]*pairAgg
}

// calleeAgg is what the requests of a route said about one callee.
type calleeAgg struct {
	requests    int64   // requests calling it at least once
	logical     int64   // calls, retries folded
	attempts    int64   // client spans
	retried     int64   // calls with more than one attempt
	maxAttempts int     // most attempts of one call
	orderSum    float64 // sum over requests of its first group's position
	backoffSum  int64   // ns from a failed attempt's end to the next start
	backoffN    int64
	timeouts    *hist // durations of attempts the caller gave up on; nil until one
}

// pairAgg counts, for two callees of a route, the requests calling both
// and those where they ran in parallel.
type pairAgg struct{ both, overlap int64 }

// logicalCall is one call of a request, its retries folded in.
type logicalCall struct {
	callee     uint64
	start, end int64
	attempts   int
	failed     bool  // its last attempt
	backoff    int64 // ns between attempts, summed
	group      int   // overlapping calls share a group
}

func (a *aggregates) init() {
	a.routes = map[uint64]*routeAgg{}
	a.services = map[uint32]*serviceAgg{}
	a.peers = map[uint32]int64{}
	a.topics = map[uint32]*topicAgg{}
	a.consumers = map[uint64]*consumeAgg{}
	a.seenCallee = map[uint64]int{}
	a.last = map[uint64]int{}
}

func (a *aggregates) peer(name uint32) { a.peers[name]++ }

// request folds one request span (server or consumer) and its calls, sorted by start. An
// orphan's route keeps its latency and calls; it is counted in Unused.
func (a *aggregates) request(s *span, calls []call) {
	a.service(s)
	key := routeKey(s.svc, s.name)
	r := a.routes[key]
	if r == nil {
		r = &routeAgg{statuses: map[uint16]int64{}, callees: map[uint64]*calleeAgg{},
			pairs: map[[2]uint64]*pairAgg{}, grpc: s.flags&flagGRPC != 0}
		a.routes[key] = r
	}
	r.requests++
	if !s.parent.IsValid() && s.kind == record.KindServer {
		r.roots++
		a.root(s.start)
	}
	failedCall := a.fold(r, calls)
	r.own.add(ownLatency(s, a.waits(calls)))
	switch {
	case failedCall, s.flags&flagAbandoned != 0:
		// A failure its calls or its caller explain is not its own.
	case s.flags&flagError != 0:
		r.ownErrors++
		r.clean++
		r.statuses[s.status]++
	default:
		r.clean++
	}
}

func (a *aggregates) service(s *span) {
	sv := a.services[s.svc]
	if sv == nil {
		sv = &serviceAgg{instances: map[uint32]struct{}{}}
		a.services[s.svc] = sv
	}
	switch {
	case s.kind != record.KindServer: // a consumer span says nothing of the protocol
	case s.flags&flagGRPC != 0:
		sv.grpc++
	default:
		sv.http++
	}
	if len(sv.instances) <= maxInstances {
		sv.instances[s.instance] = struct{}{}
	}
}

func (a *aggregates) root(start int64) {
	if a.roots == 0 || start < a.firstRoot {
		a.firstRoot = start
	}
	if a.roots == 0 || start > a.lastRoot {
		a.lastRoot = start
	}
	a.roots++
}

// timeouts records the attempts the caller gave up on, by callee: their
// client spans' durations are the caller's patience.
func (a *aggregates) timeouts(r *routeAgg, calls []call) {
	for _, c := range calls {
		if !c.timedOut {
			continue
		}
		ca := r.callees[c.callee]
		if ca == nil {
			ca = &calleeAgg{}
			r.callees[c.callee] = ca
		}
		if ca.timeouts == nil {
			ca.timeouts = &hist{}
		}
		ca.timeouts.add(c.end - c.start)
	}
}

// waits returns the intervals the request waited on, sorted by start: each
// call from its first attempt's start to its last attempt's end (a retry's
// backoff is the call's time, as the topology's backoff says), and each
// client span without a callee. It reads a.logical, so it follows fold.
func (a *aggregates) waits(calls []call) []call {
	w := a.waited[:0]
	for _, c := range calls {
		if c.callee == noCallee {
			w = append(w, c)
		}
	}
	for _, l := range a.logical {
		w = append(w, call{start: l.start, end: l.end})
	}
	slices.SortFunc(w, func(x, y call) int { return cmp.Compare(x.start, y.start) })
	a.waited = w
	return w
}

// ownLatency is the server span's duration minus the union of its calls'
// intervals, each clipped to the span.
func ownLatency(s *span, calls []call) int64 {
	own := s.end - s.start
	cur, curEnd := int64(0), int64(0)
	open := false
	for _, c := range calls { // sorted by start
		st, en := max(c.start, s.start), min(c.end, s.end)
		if en <= st {
			continue
		}
		switch {
		case !open:
			cur, curEnd, open = st, en, true
		case st <= curEnd:
			curEnd = max(curEnd, en)
		default:
			own -= curEnd - cur
			cur, curEnd = st, en
		}
	}
	if open {
		own -= curEnd - cur
	}
	return max(own, 0)
}

// fold counts one request's calls into r, and reports whether a call
// failed after its retries.
func (a *aggregates) fold(r *routeAgg, calls []call) bool {
	a.timeouts(r, calls)
	lc := a.logicalCalls(calls)
	failed := false
	clear(a.seenCallee)
	for i := range lc {
		c := &lc[i]
		failed = failed || c.failed
		ca := r.callees[c.callee]
		if ca == nil {
			ca = &calleeAgg{}
			r.callees[c.callee] = ca
		}
		ca.logical++
		ca.attempts += int64(c.attempts)
		if c.attempts > 1 {
			ca.retried++
			ca.backoffSum += c.backoff
			ca.backoffN += int64(c.attempts - 1)
		}
		ca.maxAttempts = max(ca.maxAttempts, c.attempts)
		if _, seen := a.seenCallee[c.callee]; !seen {
			a.seenCallee[c.callee] = len(a.seenCallee)
			ca.requests++
			ca.orderSum += float64(c.group)
		}
	}
	if len(a.seenCallee) <= maxPairCallees {
		a.pairs(r, lc)
	}
	return failed
}
