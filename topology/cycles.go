package topology

import "strings"

// cycles reports every call cycle between routes once, at the call that
// closes it, and reports whether there was any.
func (c *checker) cycles(t *Topology) bool {
	const (
		unseen = iota
		onPath
		finished
	)
	state := map[RouteRef]int{}
	var stack []RouteRef
	reported := map[string]bool{}
	found := false
	var visit func(s *Service, r *Route)
	visit = func(s *Service, r *Route) {
		ref := RouteRef{s.Name, r.Name}
		state[ref] = onPath
		stack = append(stack, ref)
		step := func(cs *Service, cr *Route, path string, pos Pos, what string) {
			target := RouteRef{cs.Name, cr.Name}
			switch state[target] {
			case unseen:
				visit(cs, cr)
			case onPath:
				found = true
				msg := cycleString(stack, target)
				if !reported[msg] {
					reported[msg] = true
					c.errorf(path, pos, "%s cycle: %s", what, msg)
				}
			}
		}
		walkSteps(r.Calls, field(routePath(s.Name, r.Name), "calls"), func(st *Step, path string) {
			switch {
			case st.Kind == StepCall && st.Call != nil:
				if cs := t.Service(st.Call.Service); cs != nil {
					if cr := cs.Route(st.Call.Route); cr != nil {
						step(cs, cr, path, st.Call.Pos, "call")
					}
				}
			case st.Kind == StepPublish && st.Publish != nil:
				// A message that leads back to its own route is published
				// again by every delivery, without end.
				for _, cn := range t.Consumers(st.Publish.Topic) {
					step(cn.Service, cn.Route, field(path, "publish"), st.Publish.Pos, "message")
				}
			}
		})
		stack = stack[:len(stack)-1]
		state[ref] = finished
	}
	for _, s := range t.Services {
		for _, r := range s.Routes {
			if state[RouteRef{s.Name, r.Name}] == unseen {
				visit(s, r)
			}
		}
	}
	return found
}

// cycleString writes the cycle that closes at target, which is on stack.
func cycleString(stack []RouteRef, target RouteRef) string {
	start := len(stack) - 1
	for start > 0 && stack[start] != target {
		start--
	}
	parts := make([]string, 0, len(stack)-start+1)
	for _, ref := range stack[start:] {
		parts = append(parts, ref.String())
	}
	parts = append(parts, target.String())
	return strings.Join(parts, " -> ")
}
