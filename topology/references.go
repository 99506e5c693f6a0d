package topology

// references checks that every call names a defined service, a route of
// the form the service's protocol takes, and a route defined there.
func (c *checker) references(t *Topology) {
	for _, s := range t.Services {
		for i, call := range s.Downstream {
			c.reference(t, call, index(field(servicePath(s.Name), "calls"), i))
		}
		for _, r := range s.Routes {
			walkCalls(r.Calls, field(routePath(s.Name, r.Name), "calls"), func(call *Call, path string) {
				c.reference(t, call, path)
			})
		}
	}
}

func (c *checker) reference(t *Topology, call *Call, path string) {
	if call.Service == "" || call.Route == "" {
		return // reported by call
	}
	callee := t.Service(call.Service)
	if callee == nil {
		if !c.skipped(servicePath(call.Service)) {
			c.errorf(path, call.Pos, "calls service %q which is not defined%s", call.Service, suggest(call.Service, serviceNames(t)))
		}
		return
	}
	routeField := field(path, call.Service)
	if !routeFits(callee.Protocol, call.Route) && routeFits(otherProtocol(callee.Protocol), call.Route) {
		c.errorf(routeField, call.Pos, "route %q is %s route, but service %q speaks %s", call.Route, withArticle(otherProtocol(callee.Protocol)), callee.Name, callee.Protocol)
		return
	}
	if callee.Route(call.Route) == nil && callee.IsExternal() {
		c.errorf(routeField, call.Pos, "route %q is not declared on external service %q: calls to an external service must name one of the routes it lists%s", call.Route, callee.Name, suggest(call.Route, routeNames(callee)))
		return
	}
	if r := callee.Route(call.Route); r != nil && r.Consume != nil {
		c.errorf(routeField, call.Pos, "route %q of service %q consumes topic %q: messages run it, not calls (publish to the topic instead)", call.Route, callee.Name, r.Consume.Topic)
		return
	}
	if callee.Route(call.Route) == nil && !c.skipped(routePath(callee.Name, call.Route)) {
		c.errorf(routeField, call.Pos, "route %q is not defined on service %q%s", call.Route, callee.Name, suggest(call.Route, routeNames(callee)))
	}
}

func otherProtocol(p Protocol) Protocol {
	switch p {
	case ProtocolHTTP:
		return ProtocolGRPC
	case ProtocolGRPC:
		return ProtocolHTTP
	}
	return p
}

func serviceNames(t *Topology) []string {
	names := make([]string, len(t.Services))
	for i, s := range t.Services {
		names[i] = s.Name
	}
	return names
}

func routeNames(s *Service) []string {
	names := make([]string, len(s.Routes))
	for i, r := range s.Routes {
		names[i] = r.Name
	}
	return names
}

// withArticle returns "an http" or "a grpc".
func withArticle(p Protocol) string {
	if p == ProtocolHTTP {
		return "an " + string(p)
	}
	return "a " + string(p)
}
