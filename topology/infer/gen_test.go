package infer

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/tracerig/tracerig/internal/record"
)

// The known system the tests infer back:
//
//	frontend GET /checkout: cart GET /cart (retries 1), then payment
//	POST /charge and shipping POST /quote in parallel, then in 30% of
//	requests recommend GET /recs.
//	cart fails in 10% of requests with 503.
type route struct {
	svc, name  string
	p50, p99   time.Duration
	errRate    float64
	status     int
	calls      [][]string // steps: one callee, or several in parallel
	optional   string     // called in optShare of requests, last
	optShare   float64
	retries    int
	instances  int
	uninstrPct float64 // share of requests making a call to an uninstrumented peer
}

var system = map[string]*route{
	"frontend": {svc: "frontend", name: "GET /checkout", p50: 5 * time.Millisecond, p99: 20 * time.Millisecond,
		calls: [][]string{{"cart"}, {"payment", "shipping"}}, optional: "recommend", optShare: 0.3, retries: 1, instances: 2},
	"cart":      {svc: "cart", name: "GET /cart", p50: 2 * time.Millisecond, p99: 10 * time.Millisecond, errRate: 0.1, status: 503, instances: 1},
	"payment":   {svc: "payment", name: "POST /charge", p50: 8 * time.Millisecond, p99: 40 * time.Millisecond, instances: 1},
	"shipping":  {svc: "shipping", name: "POST /quote", p50: 3 * time.Millisecond, p99: 9 * time.Millisecond, instances: 1},
	"recommend": {svc: "recommend", name: "GET /recs", p50: time.Millisecond, p99: 4 * time.Millisecond, instances: 1},
}

// gen writes the spans of one request at a time.
type gen struct {
	rng   *rand.Rand
	spans []record.Span
	trace record.TraceID
	n     uint64
	// net is the time between a client span's start and its server
	// span's start, and between their ends.
	net int64
}

func newGen(seed uint64) *gen {
	return &gen{rng: rand.New(rand.NewPCG(seed, 1)), net: int64(100 * time.Microsecond)}
}

func (g *gen) id() record.SpanID {
	g.n++
	var id record.SpanID
	binary.BigEndian.PutUint64(id[:], g.n)
	return id
}

// lognormal draws a duration with median p50 and 99th percentile p99.
func (g *gen) lognormal(p50, p99 time.Duration) int64 {
	sigma := math.Log(float64(p99)/float64(p50)) / z99
	return int64(math.Exp(math.Log(float64(p50)) + sigma*g.rng.NormFloat64()))
}

// request writes one trace: frontend's server span at start and all below.
func (g *gen) request(start int64) {
	g.n++
	binary.BigEndian.PutUint64(g.trace[:8], g.n)
	binary.BigEndian.PutUint64(g.trace[8:], 1)
	g.serve(system["frontend"], record.SpanID{}, start)
}

// serve writes route r's server span under parent, starting at start, and
// returns its end and whether it failed.
func (g *gen) serve(r *route, parent record.SpanID, start int64) (int64, bool) {
	id := g.id()
	t := start + g.lognormal(r.p50, r.p99)
	failed := false
	for _, step := range r.calls {
		end := t
		for _, callee := range step {
			e, f := g.call(r, id, system[callee], t)
			end, failed = max(end, e), failed || f
		}
		t = end
	}
	if r.optional != "" && g.rng.Float64() < r.optShare {
		t, _ = g.call(r, id, system[r.optional], t)
	}
	status := 200
	switch {
	case failed:
		status = 502
	case g.rng.Float64() < r.errRate:
		status, failed = r.status, true
	}
	g.add(record.Span{ID: id, Parent: parent, Start: start, End: t, Service: r.svc, Name: r.name,
		Instance: r.svc + "-" + strconv.Itoa(g.rng.IntN(r.instances)), Kind: record.KindServer}, r.name, status)
	return t, failed
}

// call writes caller's client span(s) to callee at start, retrying as the
// caller does, and returns the end and whether the call failed.
func (g *gen) call(caller *route, parent record.SpanID, callee *route, start int64) (int64, bool) {
	t := start
	for attempt := 0; ; attempt++ {
		id := g.id()
		end, failed := g.serve(callee, id, t+g.net)
		status := 200
		if failed {
			status = callee.status
		}
		g.add(record.Span{ID: id, Parent: parent, Start: t, End: end + g.net, Service: caller.svc, Name: callee.name,
			Instance: caller.svc + "-0", Kind: record.KindClient,
			Attrs: []record.Attr{{Key: "server.address", Value: callee.svc}}}, callee.name, status)
		t = end + g.net
		if !failed || attempt >= caller.retries {
			return t, failed
		}
		t += int64(10 * time.Millisecond) // backoff
	}
}

func (g *gen) add(s record.Span, name string, status int) {
	s.Trace = g.trace
	method, path := name[:len(name)-len(name[indexSpace(name):])], name[indexSpace(name)+1:]
	s.Attrs = append(s.Attrs, record.Attr{Key: "http.request.method", Value: method},
		record.Attr{Key: "http.response.status_code", Value: strconv.Itoa(status)})
	if s.Kind == record.KindServer {
		s.Attrs = append(s.Attrs, record.Attr{Key: "http.route", Value: path})
	}
	if status >= 500 {
		s.Status = record.StatusError
	}
	g.spans = append(g.spans, s)
}

func indexSpace(s string) int {
	for i := range s {
		if s[i] == ' ' {
			return i
		}
	}
	return len(s)
}
