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
		walkCalls(r.Calls, field(routePath(s.Name, r.Name), "calls"), func(call *Call, path string) {
			cs := t.Service(call.Service)
			if cs == nil {
				return
			}
			cr := cs.Route(call.Route)
			if cr == nil {
				return
			}
			target := RouteRef{cs.Name, cr.Name}
			switch state[target] {
			case unseen:
				visit(cs, cr)
			case onPath:
				found = true
				msg := cycleString(stack, target)
				if !reported[msg] {
					reported[msg] = true
					c.errorf(path, call.Pos, "call cycle: %s", msg)
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
