package topology

import (
	"net"
	"strings"
)

// Validate checks the scenario and its topology, that every load drives a
// defined http route, that every fault targets what the topology defines,
// and that checks name defined faults and edges. It returns every problem found, joined.
func (s *Scenario) Validate() error {
	return joinSorted(s.check(nil, nil))
}

// check validates s, staying silent under the paths in skip (scenario
// paths) and topoSkip (paths inside the topology document).
func (s *Scenario) check(skip, topoSkip []string) []error {
	c := &checker{fields: s.fields, skip: skip, topoSkip: topoSkip}
	if s.Name == "" {
		c.errorf("name", s.Pos, "is required")
	}
	if s.Topology == nil {
		c.errorf("topology", s.Pos, "is required: a topology file path or an inline topology")
	} else {
		prefix := ""
		if s.TopologyFile == "" {
			prefix = "topology"
		}
		c.errs = append(c.errs, s.Topology.check(prefix, topoSkip)...)
	}
	switch s.Runtime {
	case RuntimeInProcess:
	case RuntimeContainers, RuntimeKubernetes:
		if s.Topology != nil && s.Runtime == RuntimeKubernetes {
			for _, svc := range s.Topology.Services {
				if svc.IsExternal() {
					c.errorf("runtime", s.Pos, "runtime kubernetes does not support services of yours (external, image or command) yet (service %q): use runtime inprocess or containers", svc.Name)
					break
				}
			}
		}
		if s.Runtime == RuntimeKubernetes {
			c.kubernetes(s)
		} else {
			c.loopbackBrokers(s)
		}
	default:
		c.errorf("runtime", s.Pos, "unknown runtime %q (want %s)", s.Runtime, orList(Runtimes))
	}
	c.backend(s.Backend)
	if s.Settle <= 0 {
		c.errorf("settle", s.Pos, "must be positive, got %s", s.Settle)
	}
	if len(s.Load) == 0 {
		c.errorf("load", s.Pos, "at least one load is required")
	}
	for i, l := range s.Load {
		c.load(s.Topology, l, index("load", i))
	}
	for i, f := range s.Faults {
		c.fault(s.Topology, f, index("faults", i))
	}
	for i, e := range s.Expect {
		c.expect(s, e, index("expect", i))
	}
	return c.errs
}

func (c *checker) load(t *Topology, l Load, path string) {
	routeField := field(path, "route")
	if len(l.Targets) > 1 {
		routeField = field(path, "routes")
	}
	if len(l.Targets) == 0 {
		c.errorf(routeField, l.Pos, "is required: \"SERVICE ROUTE\", like \"frontend GET /checkout\"")
	}
	for _, tg := range l.Targets {
		p := routeField
		if len(l.Targets) > 1 {
			p = field(routeField, tg.String())
			if tg.Weight <= 0 {
				c.errorf(p, tg.Pos, "weight must be positive, got %g", tg.Weight)
			}
		}
		if t != nil {
			c.loadTarget(t, tg, p)
		}
	}
	switch {
	case l.Rate.Freq < 0 || l.Rate.Ramp && l.Rate.To < 0:
		c.errorf(field(path, "rate"), l.Rate.Pos, "rate must not be negative, got %s", l.Rate)
	case l.Rate.Ramp && l.Duration <= 0:
		c.errorf(field(path, "rate"), l.Rate.Pos, "a ramp needs a duration to ramp over")
	}
	c.notNegative(field(path, "duration"), l.Pos, l.Duration, l.Duration < 0)
	if l.Requests < 0 {
		c.errorf(field(path, "requests"), l.Pos, "must not be negative, got %d", l.Requests)
	}
	if l.Duration == 0 && l.Requests == 0 && !l.Rate.Ramp {
		c.errorf(path, l.Pos, "needs a duration, a number of requests, or both")
	}
	if l.Workers < 1 {
		c.errorf(field(path, "workers"), l.Pos, "must be at least 1, got %d", l.Workers)
	}
}

// loadTarget checks that the load's route is a defined http route. Paths
// into t are those of the topology document.
func (c *checker) loadTarget(t *Topology, l Target, path string) {
	s := t.Service(l.Service)
	switch {
	case s == nil && skippedIn(c.topoSkip, servicePath(l.Service)):
	case s == nil:
		c.errorf(path, l.Pos, "service %q is not defined in topology %q%s", l.Service, t.Name, suggest(l.Service, serviceNames(t)))
	case s.Protocol != ProtocolHTTP:
		c.errorf(path, l.Pos, "service %q speaks %s; load drives http routes only", l.Service, s.Protocol)
	case s.Route(l.Route) == nil && !skippedIn(c.topoSkip, routePath(l.Service, l.Route)):
		c.errorf(path, l.Pos, "route %q is not defined on service %q%s", l.Route, l.Service, suggest(l.Route, routeNames(s)))
	}
}

func (c *checker) expect(s *Scenario, e Expect, path string) {
	switch e.Kind {
	case ExpectPropagation:
		p := field(path, "propagation")
		for i, b := range e.Propagation.Broken {
			c.brokenEdge(s.Topology, b, index(field(p, "broken"), i), e.Pos)
		}
		if n := e.Propagation.DuringFault; n != 0 || c.has(field(p, "during-fault")) {
			c.faultRef(s, n, field(p, "during-fault"), e.Pos)
		}
	case ExpectDetect:
		c.faultRef(s, e.Detect.Fault, field(field(path, "detect"), "fault"), e.Pos)
	case ExpectCompleteness:
		p := field(path, "completeness")
		if e.Completeness.Min < 0 || e.Completeness.Min > 1 {
			c.errorf(field(p, "min"), e.Pos, "must be between 0 and 1, got %g", e.Completeness.Min)
		}
		c.notNegative(field(p, "within"), e.Pos, e.Completeness.Within, e.Completeness.Within < 0)
	case ExpectSampling:
		c.sampling(s, e, field(path, "sampling"))
	case ExpectTailSampling:
		c.tailSampling(s, e, field(path, "tail-sampling"))
	case ExpectSpans:
		c.spans(e, field(path, "spans"))
	case ExpectMessaging:
		p := field(path, "messaging")
		m := e.Messaging
		if m.Edge != "" {
			c.brokenEdge(s.Topology, m.Edge, field(p, "edge"), e.Pos)
		}
		if m.Delivered < 0 || m.Delivered > 1 {
			c.errorf(field(p, "delivered"), e.Pos, "must be between 0 and 1, got %g", m.Delivered)
		}
		c.notNegative(field(field(p, "lag"), "p50"), e.Pos, m.LagP50, m.LagP50 < 0)
		c.notNegative(field(field(p, "lag"), "p99"), e.Pos, m.LagP99, m.LagP99 < 0)
		if s.Topology != nil && !s.Topology.HasAsync() {
			c.errorf(p, e.Pos, "topology %q has no asynchronous edge: no route publishes or consumes", s.Topology.Name)
		}
	case ExpectLoad:
		if m := e.Load.Min; m <= 0 || m > 1 {
			c.errorf(field(field(path, "load"), "min"), e.Pos, "must be in (0, 1], got %g", m)
		}
	default:
		c.errorf(path, e.Pos, "unknown check %q (want %s)", e.Kind, orList(ExpectKinds))
	}
}

// kubernetes rejects what a run on Kubernetes cannot play: faults on the
// export pipeline and a collector backend, which run on the host the pods
// cannot reach.
func (c *checker) kubernetes(s *Scenario) {
	for i, f := range s.Faults {
		if f.Kind == FaultExporterOutage || f.Kind == FaultSlowBackend {
			c.errorf(field(index("faults", i), string(f.Kind)), f.Pos, "%s acts on the export pipeline on the host, which pods cannot reach: not with runtime kubernetes", f.Kind)
		}
	}
	if s.Backend.Type == BackendCollector {
		c.errorf(field("backend", "type"), s.Backend.Pos, "a collector backend runs on the host, which pods cannot reach: with runtime kubernetes use embedded, jaeger, or otlp with an endpoint the pods reach")
	}
	if s.Topology != nil && s.Topology.HasAsync() {
		c.errorf("runtime", s.Pos, "topology %q has asynchronous edges, whose brokers runtime kubernetes does not run: use runtime process or containers", s.Topology.Name)
	}
}

// loopbackBrokers rejects, in a containers run, a broker of the user's on
// the host's loopback, which the run's network cannot reach.
func (c *checker) loopbackBrokers(s *Scenario) {
	if s.Topology == nil {
		return
	}
	for _, b := range s.Topology.Brokers {
		for _, a := range b.Addresses {
			if loopbackAddr(a) {
				c.errorf("runtime", s.Pos, "broker %q is at %s, on the host's loopback, which containers cannot reach: give an address the run's network reaches, or use runtime inprocess", b.Name, a)
				break
			}
		}
	}
}

// loopbackAddr reports whether a broker address (host:port or a URL)
// names the loopback.
func loopbackAddr(a string) bool {
	if i := strings.Index(a, "://"); i >= 0 {
		a = a[i+3:]
	}
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		host = a
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
