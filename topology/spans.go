package topology

import "math"

// ExpectedSpans returns the spans one request to the route produces: one
// server span if the service is instrumented, plus for every call in its
// tree one client span if the caller is instrumented and the callee's own
// expected spans, and for every message it publishes one producer span
// and the expected spans of each route consuming the topic (a batch
// consumer's span counted whole). Retries and redeliveries are not
// counted; parallel and sequence groups
// both add up. An undefined route yields 0, and a call that closes a cycle
// adds only its client span. The count saturates at math.MaxInt.
func (t *Topology) ExpectedSpans(service, route string) int {
	return t.expectedSpans(RouteRef{service, route}, map[RouteRef]int{}, map[RouteRef]bool{})
}

func (t *Topology) expectedSpans(ref RouteRef, memo map[RouteRef]int, onPath map[RouteRef]bool) int {
	if n, ok := memo[ref]; ok {
		return n
	}
	s := t.Service(ref.Service)
	if s == nil || onPath[ref] {
		return 0
	}
	r := s.Route(ref.Route)
	if r == nil {
		return 0
	}
	onPath[ref] = true
	n := 0
	if s.Instrumented {
		n = 1
	}
	r.Walk(func(c *Call) {
		if s.Instrumented {
			n = addSat(n, 1)
		}
		n = addSat(n, t.expectedSpans(RouteRef{c.Service, c.Route}, memo, onPath))
	})
	r.WalkPublish(func(p *Publish) {
		if s.Instrumented {
			n = addSat(n, 1)
		}
		for _, c := range t.Consumers(p.Topic) {
			n = addSat(n, t.expectedSpans(RouteRef{c.Service.Name, c.Route.Name}, memo, onPath))
		}
	})
	delete(onPath, ref)
	memo[ref] = n
	return n
}

func addSat(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

// spanLimit reports every entry route that expects more spans per request
// than the topology's limit. Routes deeper in the graph are not reported
// on their own: the entry routes that reach them carry the excess.
func (c *checker) spanLimit(t *Topology) {
	memo := map[RouteRef]int{}
	for _, ref := range t.EntryRoutes() {
		n := t.expectedSpans(ref, memo, map[RouteRef]bool{})
		if n > t.Limits.MaxSpansPerRequest {
			s := t.Service(ref.Service)
			c.errorf(routePath(ref.Service, ref.Route), s.Route(ref.Route).Pos,
				"expects %d spans per request, more than limits.max-spans-per-request (%d)", n, t.Limits.MaxSpansPerRequest)
		}
	}
}
