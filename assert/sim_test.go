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
	in    Input
	seq   uint64
	now   int64
	req   uint64
}

func newSim(t *topology.Topology) *sim {
	return &sim{top: t, svcs: services(t), strip: make(map[edge]bool),
		in: Input{Topology: t, ReadBack: true}, now: time.Unix(1_700_000_000, 0).UnixNano()}
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
	if !s.strip[edge{from, to}] {
		h.GotHeaders = headers
	}
	callee := s.svcs[to]
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
	server := record.Span{Trace: h.Got.Trace, ID: s.spanID(), Parent: h.Got.Span, Service: callee.Name,
		Name: route, Kind: record.KindServer}
	if !h.Got.IsValid() {
		server.Trace, server.Parent = s.traceID(), record.SpanID{}
	}
	s.in.Hops[i].Server = record.Context{Trace: server.Trace, Span: server.ID, Sampled: true}
	s.in.Hops[i].ServerSpan = true
	server.Start = s.tick()
	for _, c := range calls {
		client := record.Span{Trace: server.Trace, ID: s.spanID(), Parent: server.ID, Service: callee.Name,
			Name: "call " + c.Call.Service, Kind: record.KindClient, Start: s.tick()}
		ctx := record.Context{Trace: client.Trace, Span: client.ID, Sampled: true}
		s.call(h.ID, callee.Name, c.Call.Service, ctx, injected(callee), true)
		s.end(client)
	}
	s.end(server)
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
