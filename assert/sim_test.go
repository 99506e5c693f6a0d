package assert

import (
	"encoding/binary"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// This file holds a tiny deterministic simulator for tests: it walks a
// topology the way the runtime would and writes the ledger and the backend
// an ideal pipeline would produce, honouring each service's propagators,
// instrumentation and header forwarding. Tests then damage the records.

const route = "GET /"

// svc returns an instrumented tracecontext service whose one route calls
// the named services in order.
func svc(name string, calls ...string) *topology.Service {
	s := &topology.Service{
		Name:           name,
		Instrumented:   true,
		ForwardHeaders: true,
		Propagators:    []topology.Propagator{topology.PropTraceContext, topology.PropBaggage},
	}
	r := &topology.Route{Name: route}
	for _, c := range calls {
		r.Calls = append(r.Calls, topology.Step{Kind: topology.StepCall, Call: &topology.Call{Service: c, Route: route}})
	}
	s.Routes = []*topology.Route{r}
	return s
}

// proxy returns an uninstrumented service that forwards headers or drops them.
func proxy(name string, forward bool, calls ...string) *topology.Service {
	s := svc(name, calls...)
	s.Instrumented, s.ForwardHeaders = false, forward
	return s
}

// reads sets a service's propagators.
func reads(s *topology.Service, ps ...topology.Propagator) *topology.Service {
	s.Propagators = ps
	return s
}

func topo(svcs ...*topology.Service) *topology.Topology {
	return &topology.Topology{Name: "test", Services: svcs}
}

// sim generates the records of requests through a topology.
type sim struct {
	top   *topology.Topology
	svcs  map[string]*topology.Service
	strip map[edge]bool // headers lost in transit on these physical edges
	// tamper, when set, strips a hop's headers in transit when it returns
	// true (a header fault with a window).
	tamper func(h *record.Hop) bool
	in     Input
	t0     int64 // the run's start
	seq    uint64
	now    int64
	req    uint64
}

func newSim(t *topology.Topology) *sim {
	t0 := time.Unix(1_700_000_000, 0).UnixNano()
	return &sim{top: t, svcs: services(t), strip: make(map[edge]bool),
		in: Input{Topology: t, ReadBack: true, RunStart: t0}, now: t0, t0: t0}
}

// mix scrambles a counter into a well-spread ID.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (s *sim) spanID() record.SpanID {
	s.seq++
	var id record.SpanID
	binary.BigEndian.PutUint64(id[:], mix(s.seq))
	return id
}

func (s *sim) traceID() record.TraceID {
	s.seq++
	var id record.TraceID
	binary.BigEndian.PutUint64(id[:8], mix(s.seq))
	binary.BigEndian.PutUint64(id[8:], s.seq)
	return id
}

// run sends n requests from the load generator to entry.
func (s *sim) run(entry string, n int) *sim {
	for range n {
		s.req++
		s.call(0, "", entry, record.Context{}, 0, false)
	}
	return s
}

// call makes one hop and serves it.
func (s *sim) call(parent uint64, from, to string, sent record.Context, headers record.Header, client bool) {
	s.seq++
	h := record.Hop{ID: s.seq, Parent: parent, Request: s.req, From: from, To: to, Route: route,
		Sent: sent, SentHeaders: headers, ClientSpan: client, SentAt: s.now, Received: true}
	if !s.strip[edge{from, to}] && (s.tamper == nil || !s.tamper(&h)) {
		h.GotHeaders = headers
	}
	callee := s.service(to)
	if h.GotHeaders&readable(callee) != 0 {
		h.Got = sent
	}
	i := len(s.in.Hops)
	s.in.Hops = append(s.in.Hops, h)
	s.serve(i, callee)
}

// serve runs callee's route for hop i.
func (s *sim) serve(i int, callee *topology.Service) {
	h := s.in.Hops[i]
	calls := callee.Routes[0].Calls
	if !callee.Instrumented {
		var fwd record.Context
		var hdr record.Header
		if callee.ForwardHeaders {
			fwd, hdr = h.Got, h.GotHeaders
		}
		for _, c := range calls {
			s.call(h.ID, callee.Name, c.Call.Service, fwd, hdr, false)
		}
		return
	}
	inst := instanceName(callee.Name, 0)
	server := record.Span{Trace: h.Got.Trace, ID: s.spanID(), Parent: h.Got.Span, Service: callee.Name,
		Instance: inst, Name: route, Kind: record.KindServer}
	if !h.Got.IsValid() {
		server.Trace, server.Parent = s.traceID(), record.SpanID{}
	}
	s.in.Hops[i].Server = record.Context{Trace: server.Trace, Span: server.ID, Sampled: true}
	s.in.Hops[i].ServerSpan = true
	server.Start = s.tick()
	for _, c := range calls {
		client := record.Span{Trace: server.Trace, ID: s.spanID(), Parent: server.ID, Service: callee.Name,
			Instance: inst, Name: "call " + c.Call.Service, Kind: record.KindClient, Start: s.tick()}
		ctx := record.Context{Trace: client.Trace, Span: client.ID, Sampled: true}
		s.call(h.ID, callee.Name, c.Call.Service, ctx, injected(callee), true)
		s.end(client)
	}
	s.end(server)
}

// service returns the named service as it stands now: with the faults
// planted so far that change the model applied while their windows are
// open, as the runtime applies them.
func (s *sim) service(name string) *topology.Service {
	t := s.top
	for _, w := range s.in.Faults {
		if k := topology.FaultKind(w.Kind); k.ChangesModel() && w.Active(s.now) && w.Number > 0 {
			t = t.WithFault(s.in.Planned[w.Number-1])
		}
	}
	if t == s.top {
		return s.svcs[name]
	}
	return t.Service(name)
}

func (s *sim) tick() int64 { s.now += int64(time.Millisecond); return s.now }

// end records a span as ended, exported and arrived 100ms later.
func (s *sim) end(sp record.Span) {
	sp.End = s.tick()
	sp.Arrived = sp.End + int64(100*time.Millisecond)
	s.in.Ended = append(s.in.Ended, record.Ended{Span: sp, Export: record.ExportOK})
	s.in.Backend = append(s.in.Backend, sp)
}

// backendSpan returns the first backend span matching service and kind.
func (s *sim) backendSpan(service string, kind record.Kind) *record.Span {
	for i := range s.in.Backend {
		if sp := &s.in.Backend[i]; sp.Service == service && sp.Kind == kind {
			return sp
		}
	}
	return nil
}

// drop removes backend spans matching f.
func (s *sim) drop(f func(*record.Span) bool) *sim {
	out := s.in.Backend[:0]
	for i := range s.in.Backend {
		if !f(&s.in.Backend[i]) {
			out = append(out, s.in.Backend[i])
		}
	}
	s.in.Backend = out
	return s
}

// sec is a time relative to the run's start, in seconds.
func (s *sim) sec(x float64) int64 { return s.t0 + int64(x*float64(time.Second)) }

// spread sends n requests to entry, one every gap seconds from the run's
// start.
func (s *sim) spread(entry string, n int, gap float64) *sim {
	for i := range n {
		s.now = s.sec(float64(i) * gap)
		s.run(entry, 1)
	}
	return s
}

// between returns a predicate for times within [from, to] seconds of the
// run's start.
func (s *sim) between(from, to float64) func(int64) bool {
	return func(t int64) bool { return t >= s.sec(from) && t <= s.sec(to) }
}

// fault returns a planned fault of kind on target with the decoder's
// defaults that matter here.
func fault(kind topology.FaultKind, target topology.FaultTarget) topology.Fault {
	f := topology.Fault{Kind: kind, Target: target, Forward: true}
	return f
}

// onService targets every instance of a service; onInstance one of them;
// onEdge an edge.
func onService(svc string) topology.FaultTarget {
	return topology.FaultTarget{Service: svc, Instance: -1}
}
func onInstance(svc string, n int) topology.FaultTarget {
	return topology.FaultTarget{Service: svc, Instance: n}
}
func onEdge(from, to string) topology.FaultTarget {
	return topology.FaultTarget{From: from, To: to, Instance: -1}
}

// plant adds f to the scenario's faults with one applied window per pair of
// seconds [start, end].
func (s *sim) plant(f topology.Fault, windows ...[2]float64) *sim {
	s.in.Planned = append(s.in.Planned, f)
	for _, w := range windows {
		s.window(len(s.in.Planned), f, w)
	}
	return s
}

// window records one applied window of fault number n (0: live).
func (s *sim) window(n int, f topology.Fault, w [2]float64) {
	s.in.Faults = append(s.in.Faults, record.Fault{
		ID: 100 + len(s.in.Faults), Number: n, Kind: string(f.Kind),
		Desc:    string(f.Kind) + " " + targetName(f.Target),
		Service: f.Target.Service, Instance: f.Target.Instance, From: f.Target.From, To: f.Target.To,
		Start: s.sec(w[0]), End: s.sec(w[1]), Live: n == 0,
		Forward: f.Kind == topology.FaultUninstrument && f.Forward,
	})
	if f.Kind == topology.FaultPropagatorSwitch {
		w := &s.in.Faults[len(s.in.Faults)-1]
		for _, p := range f.Propagators {
			w.Propagators = append(w.Propagators, string(p))
		}
	}
}

// hops applies fn to the hops matching pred.
func (s *sim) hops(pred func(*record.Hop) bool, fn func(*record.Hop)) *sim {
	for i := range s.in.Hops {
		if pred(&s.in.Hops[i]) {
			fn(&s.in.Hops[i])
		}
	}
	return s
}

// spans applies fn to the ledger and backend copies of the spans matching
// pred (judged on the ledger copy).
func (s *sim) spans(pred func(*record.Span) bool, fn func(*record.Span)) *sim {
	hit := make(map[spanRef]bool)
	for i := range s.in.Ended {
		if sp := &s.in.Ended[i].Span; pred(sp) {
			hit[spanRef{sp.Trace, sp.ID}] = true
			fn(sp)
		}
	}
	for i := range s.in.Backend {
		if sp := &s.in.Backend[i]; hit[spanRef{sp.Trace, sp.ID}] {
			fn(sp)
		}
	}
	return s
}

// loseSpans marks the ended spans matching pred with stage e and removes
// them from the backend.
func (s *sim) loseSpans(e record.Export, pred func(*record.Span) bool) *sim {
	gone := make(map[spanRef]bool)
	for i := range s.in.Ended {
		if sp := &s.in.Ended[i]; pred(&sp.Span) {
			sp.Export = e
			gone[spanRef{sp.Trace, sp.ID}] = true
		}
	}
	return s.drop(func(sp *record.Span) bool { return gone[spanRef{sp.Trace, sp.ID}] })
}

// faultChain is 60 requests through frontend → cart → inventory, one a
// second, with tamper set before they run.
func faultChain(tamper func(*sim) func(*record.Hop) bool) *sim {
	s := newSim(topo(svc("frontend", "cart"), svc("cart", "inventory"), svc("inventory")))
	if tamper != nil {
		s.tamper = tamper(s)
	}
	return s.spread("frontend", 60, 1)
}
