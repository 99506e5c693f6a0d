package topology

import (
	"cmp"
	"slices"
)

// Service returns the service with the given name, or nil.
func (t *Topology) Service(name string) *Service {
	for _, s := range t.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Walk calls fn for every call in the route's call tree, depth first, in
// file order.
func (r *Route) Walk(fn func(c *Call)) {
	walkCalls(r.Calls, "", func(c *Call, _ string) { fn(c) })
}

// walkCalls calls fn for every call under steps with the call's field path,
// steps being at path.
func walkCalls(steps []Step, path string, fn func(c *Call, path string)) {
	for i, st := range steps {
		p := index(path, i)
		switch st.Kind {
		case StepCall:
			if st.Call != nil {
				fn(st.Call, p)
			}
		case StepParallel, StepSequence:
			walkCalls(st.Steps, field(p, stepKeyword(st.Kind)), fn)
		}
	}
}

// Edge is a direct call from one service to a route of another, or with
// Topic an asynchronous edge: From publishes to Topic, and To's route
// Route consumes it.
type Edge struct {
	From  string // calling (publishing) service
	To    string // called (consuming) service
	Route string // called (consume) route
	Topic string // the topic of an asynchronous edge; "" for a call
}

// IsAsync reports whether e goes through a broker.
func (e Edge) IsAsync() bool { return e.Topic != "" }

// Edges returns every direct call edge and every asynchronous edge of the
// topology once, sorted by From, To and Route.
func (t *Topology) Edges() []Edge {
	seen := map[Edge]bool{}
	var out []Edge
	for _, s := range t.Services {
		for _, c := range s.Downstream {
			e := Edge{From: s.Name, To: c.Service, Route: c.Route}
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
		for _, r := range s.Routes {
			r.Walk(func(c *Call) {
				e := Edge{From: s.Name, To: c.Service, Route: c.Route}
				if !seen[e] {
					seen[e] = true
					out = append(out, e)
				}
			})
			add := func(topic string) {
				for _, c := range t.Consumers(topic) {
					e := Edge{From: s.Name, To: c.Service.Name, Route: c.Route.Name, Topic: topic}
					if !seen[e] {
						seen[e] = true
						out = append(out, e)
					}
				}
			}
			r.WalkPublish(func(p *Publish) { add(p.Topic) })
			if r.Consume != nil && r.Consume.DeadLetter != "" {
				// A consumer that gives up on a message sends it on.
				add(r.Consume.DeadLetter)
			}
		}
	}
	slices.SortFunc(out, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To), cmp.Compare(a.Route, b.Route))
	})
	return out
}

// RouteRef names one route of one service.
type RouteRef struct {
	Service string
	Route   string
}

// String returns "service route", as a scenario's load names it.
func (r RouteRef) String() string { return r.Service + " " + r.Route }

// EntryRoutes returns the routes no call in the topology targets and no
// topic runs, in file order: where requests from outside enter the graph.
func (t *Topology) EntryRoutes() []RouteRef {
	called := map[RouteRef]bool{}
	for _, e := range t.Edges() {
		called[RouteRef{e.To, e.Route}] = true
	}
	var out []RouteRef
	for _, s := range t.Services {
		for _, r := range s.Routes {
			if ref := (RouteRef{s.Name, r.Name}); !called[ref] && r.Consume == nil {
				out = append(out, ref)
			}
		}
	}
	return out
}
