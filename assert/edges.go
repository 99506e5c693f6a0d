package assert

import "github.com/tracerig/tracerig/topology"

// edge is a caller → callee pair of service names.
type edge struct{ from, to string }

// predictedEdges returns the effective edges the topology predicts between
// instrumented services: a direct call A → B where B is instrumented, and,
// through an uninstrumented B, A → C for every call B's called route makes
// (recursively, since B emits no span of its own). Calls to services the
// topology does not define are kept as edges to that name.
func predictedEdges(t *topology.Topology) map[edge]bool {
	out := make(map[edge]bool)
	if t == nil {
		return out
	}
	svcs := services(t)
	for _, a := range t.Services {
		for _, c := range a.Downstream {
			(&edgeWalker{svcs: svcs, from: a.Name, out: out, seen: make(map[routeRef]bool)}).call(c)
		}
		if !a.Instrumented {
			continue
		}
		for _, r := range a.Routes {
			w := edgeWalker{svcs: svcs, from: a.Name, out: out, seen: make(map[routeRef]bool)}
			w.steps(r.Calls)
		}
	}
	return out
}

// throughExternal returns the edges a service of the user's makes when it
// forwards the trace context it receives without a span of its own (a
// proxy, or a service nobody instrumented): from each of its simulated
// callers to each callee it declares, with the service between. A
// simulated caller makes only the calls the topology gives it, so a span
// of its parenting such a callee came through the service between; a
// caller of the user's may call that callee itself (a discovered edge).
func throughExternal(t *topology.Topology) map[edge]string {
	out := make(map[edge]string)
	if t == nil {
		return out
	}
	callers := make(map[string][]string) // external service → its callers
	for e := range predictedEdges(t) {
		s, from := t.Service(e.to), t.Service(e.from)
		if s != nil && s.IsExternal() && from != nil && !from.IsExternal() {
			callers[e.to] = append(callers[e.to], e.from)
		}
	}
	for ext, froms := range callers {
		for _, c := range t.Service(ext).Downstream {
			for _, from := range froms {
				if from != c.Service {
					out[edge{from, c.Service}] = ext
				}
			}
		}
	}
	return out
}

// routeRef names one route of one service.
type routeRef struct{ service, route string }

// edgeWalker collects the effective edges out of one instrumented service.
type edgeWalker struct {
	svcs map[string]*topology.Service
	from string
	out  map[edge]bool
	seen map[routeRef]bool // uninstrumented routes already walked
}

// steps walks a call tree.
func (w *edgeWalker) steps(steps []topology.Step) {
	for i := range steps {
		s := &steps[i]
		switch s.Kind {
		case topology.StepCall:
			if s.Call != nil {
				w.call(s.Call)
			}
		case topology.StepPublish:
			if s.Publish != nil {
				w.publish(s.Publish)
			}
		default:
			w.steps(s.Steps)
		}
	}
}

// call adds the edge for one call, or walks through an uninstrumented
// callee's route (every route when the called one is unknown).
func (w *edgeWalker) call(c *topology.Call) {
	b := w.svcs[c.Service]
	if b == nil || b.Instrumented {
		w.out[edge{w.from, c.Service}] = true
		return
	}
	routes := b.Routes
	if r := b.Route(c.Route); r != nil {
		routes = []*topology.Route{r}
	}
	for _, r := range routes {
		ref := routeRef{b.Name, r.Name}
		if w.seen[ref] {
			continue
		}
		w.seen[ref] = true
		w.steps(r.Calls)
	}
}

// publish adds the edges of a message to the consumers that continue its
// trace (mode parent): their consumer spans are children of the producer
// span. A consumer that links starts a trace of its own, which the
// propagation check follows through its links instead.
func (w *edgeWalker) publish(p *topology.Publish) {
	for _, s := range w.svcs {
		for _, r := range s.Routes {
			if c := r.Consume; c != nil && c.Topic == p.Topic && c.Mode == topology.ConsumeParent && s.Instrumented {
				w.out[edge{w.from, s.Name}] = true
			}
		}
	}
}
