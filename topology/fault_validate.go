package topology

import (
	"fmt"
	"slices"
	"strings"
)

// fault checks one fault: its window, that its kind is known, that its
// target exists in t (when t is known), and its parameters.
func (c *checker) fault(t *Topology, f Fault, path string) {
	c.window(f.Window, path, f.Pos)
	if !slices.Contains(FaultKinds, f.Kind) {
		c.errorf(path, f.Pos, "unknown fault kind %q (want %s)", f.Kind, orList(FaultKinds))
		return
	}
	key := c.faultKey(path, f.Kind)
	kp := field(path, key)
	pos := c.at(kp, f.Pos)
	p := func(key string) string { return field(kp, key) }
	svc := c.faultTarget(t, f, key, kp, pos)
	switch f.Kind {
	case FaultLatency:
		l := f.Latency
		c.notNegative(p("add"), pos, l.Add, l.Add < 0)
		if l.Multiply < 0 {
			c.errorf(p("multiply"), pos, "must not be negative, got %g", l.Multiply)
		}
		if l.Replace.Dist != "" {
			c.latency(l.Replace, p("replace"))
		}
		if l.Add == 0 && l.Multiply == 0 && l.Replace.Dist == "" && !c.anySkipped(p("add"), p("multiply"), p("replace")) {
			c.errorf(kp, pos, "needs add, multiply or replace")
		}
	case FaultErrors:
		c.faultErrors(svc, f.Errors, kp)
	case FaultTimeout:
		tf := f.Timeout
		if tf.Timeout <= 0 {
			c.errorf(p("timeout"), pos, "must be positive, got %s", tf.Timeout)
		}
		if tf.Retries < -1 || tf.Retries > maxRetries {
			c.errorf(p("retries"), pos, "must be between 0 and %d, got %d", maxRetries, tf.Retries)
		}
		c.notNegative(p("backoff"), pos, tf.Backoff, tf.Backoff < 0)
	case FaultStripHeaders:
		c.headers(f.Headers.Strip, p("headers"), pos)
	case FaultCorruptTraceparent:
		switch m := f.Headers.Corrupt; {
		case m == "":
			c.errorf(p("mode"), pos, "is required (one of %s)", orList(Corruptions))
		case !slices.Contains(Corruptions, m):
			c.errorf(p("mode"), pos, "unknown mode %q (want %s)%s", m, orList(Corruptions), suggest(string(m), stringsOf(Corruptions)))
		}
	case FaultDuplicateHeader:
		c.header(f.Headers.Duplicate, p("header"), pos)
	case FaultTracestateOverflow:
		c.atLeast(p("members"), pos, f.Headers.Members, 1)
		c.atLeast(p("bytes"), pos, f.Headers.Bytes, 0)
	case FaultBaggageOverflow:
		c.atLeast(p("entries"), pos, f.Headers.Entries, 1)
		c.atLeast(p("bytes"), pos, f.Headers.Bytes, 0)
	case FaultPropagatorSwitch:
		c.propagatorList(f.Propagators, pos, p("propagators"))
	case FaultClockSkew:
		if f.Skew.Offset == 0 && f.Skew.Drift == 0 && !c.anySkipped(p("offset"), p("drift")) {
			c.errorf(kp, pos, "needs a non-zero offset or drift")
		}
	case FaultSlowBackend:
		if f.Delay <= 0 {
			c.errorf(p("delay"), pos, "must be positive, got %s", f.Delay)
		}
	case FaultQueueOverflow:
		c.atLeast(p("queue"), pos, f.Queue, 1)
	case FaultPartition:
		if !slices.Contains(PartitionModes, f.Partition) {
			c.errorf(p("mode"), pos, "unknown mode %q (want %s)", f.Partition, orList(PartitionModes))
		}
	}
}

// faultKey returns the key the fault's kind is written with at path: its
// kind, or an alias the decoder recorded a position for.
func (c *checker) faultKey(path string, kind FaultKind) string {
	for alias, k := range faultAliases {
		if _, ok := c.fields[field(path, alias)]; ok && k == kind {
			return alias
		}
	}
	return string(kind)
}

func (c *checker) window(w Window, path string, pos Pos) {
	c.notNegative(field(path, "at"), pos, w.At, w.At < 0)
	c.notNegative(field(path, "for"), pos, w.For, w.For < 0)
	every := w.Every != 0 || c.has(field(path, "every"))
	switch {
	case every && w.Every <= 0:
		c.errorf(field(path, "every"), pos, "must be positive, got %s", w.Every)
	case every && w.For > 0 && w.Every <= w.For:
		c.errorf(field(path, "every"), pos, "every (%s) must be longer than for (%s)", w.Every, w.For)
	}
	if w.Count != 0 || c.has(field(path, "count")) {
		switch {
		case !every:
			c.errorf(field(path, "count"), pos, "is only valid with every")
		case w.Count < 1:
			c.errorf(field(path, "count"), pos, "must be at least 1, got %d", w.Count)
		}
	}
}

// faultTarget checks the target fields the fault's kind takes, and returns
// the targeted service when it is defined. The kind is written as key at kp.
func (c *checker) faultTarget(t *Topology, f Fault, key, kp string, pos Pos) *Service {
	tg := f.Target
	p := func(key string) string { return field(kp, key) }
	switch scope := faultScopeOf(f.Kind); scope {
	case scopeService, scopeRoute, scopeInstance:
		if tg.Service == "" {
			c.errorf(p("service"), pos, "is required")
			return nil
		}
		switch {
		case scope == scopeInstance && tg.Instance < 0:
			c.errorf(p("instance"), pos, "must be an instance number from 0 (%s acts on one instance), got %d", key, tg.Instance)
		case tg.Instance < -1:
			c.errorf(p("instance"), pos, "must be an instance number from 0, or -1 for every instance, got %d", tg.Instance)
		}
		s := c.topoService(t, tg.Service, p("service"), pos)
		if s == nil {
			return nil
		}
		if s.IsExternal() {
			c.errorf(p("service"), pos, "service %q is external: tracerig does not run it, so %s cannot act on it (plant header faults on the edges into it instead)", s.Name, key)
			return nil
		}
		if tg.Route != "" && s.Route(tg.Route) == nil && !skippedIn(c.topoSkip, routePath(s.Name, tg.Route)) {
			c.errorf(p("route"), pos, "route %q is not defined on service %q%s", tg.Route, s.Name, suggest(tg.Route, routeNames(s)))
		}
		if s.Instances >= 1 && tg.Instance >= s.Instances {
			c.errorf(p("instance"), pos, "service %q has %s, got instance %d", s.Name, plural(s.Instances, "instance"), tg.Instance)
		}
		return s
	case scopeEdge:
		if tg.From == "" {
			c.errorf(p("from"), pos, "is required")
		}
		if tg.To == "" {
			c.errorf(p("to"), pos, "is required")
		}
		if tg.From == "" || tg.To == "" {
			return nil
		}
		from := c.topoService(t, tg.From, p("from"), pos)
		to := c.topoService(t, tg.To, p("to"), pos)
		if from != nil && from.IsExternal() {
			c.errorf(p("from"), pos, "service %q is external: tracerig does not send its requests, so %s cannot act on its calls (plant it on an edge into it)", from.Name, key)
			return nil
		}
		if from != nil && to != nil {
			c.edge(t, tg.From, tg.To, p("to"), pos)
			if f.Kind == FaultPoison && !t.hasAsync(tg.From, tg.To) {
				c.errorf(p("to"), pos, "%s -> %s is not an asynchronous edge: %s marks messages, so %q must publish to a topic %q consumes", tg.From, tg.To, key, tg.From, tg.To)
			}
		}
	case scopeBroker:
		switch {
		case tg.Broker == "":
			c.errorf(p("broker"), pos, "is required")
		case t == nil:
		case t.Broker(tg.Broker) == nil:
			c.errorf(p("broker"), pos, "broker %q is not defined in topology %q%s", tg.Broker, t.Name, suggest(tg.Broker, brokerNames(t)))
		case !t.Broker(tg.Broker).IsEmbedded():
			c.errorf(p("broker"), pos, "broker %q is yours (it has addresses): tracerig can stop only a broker it runs", tg.Broker)
		}
	}
	return nil
}

// topoService returns the service name of t, reporting at path when it is
// not defined. It returns nil without a word when t is unknown or the
// service failed to decode.
func (c *checker) topoService(t *Topology, name, path string, pos Pos) *Service {
	if t == nil {
		return nil
	}
	s := t.Service(name)
	if s == nil && !skippedIn(c.topoSkip, servicePath(name)) {
		c.errorf(path, pos, "service %q is not defined in topology %q%s", name, t.Name, suggest(name, serviceNames(t)))
	}
	return s
}

// edge reports at path when no route of from calls to, unless t is
// unknown or from's routes failed to decode.
func (c *checker) edge(t *Topology, from, to, path string, pos Pos) {
	if t == nil || t.hasCall(from, to) {
		return
	}
	routes := field(servicePath(from), "routes")
	for _, s := range c.topoSkip {
		if under(s, routes) {
			return
		}
	}
	c.errorf(path, pos, "no call from %q to %q in topology %q", from, to, t.Name)
}

// hasAsync reports whether service from publishes to a topic service to
// consumes.
func (t *Topology) hasAsync(from, to string) bool {
	if t == nil {
		return true
	}
	for _, e := range t.Edges() {
		if e.IsAsync() && e.From == from && e.To == to {
			return true
		}
	}
	return false
}

func brokerNames(t *Topology) []string {
	var names []string
	for _, b := range t.Brokers {
		names = append(names, b.Name)
	}
	return names
}

// hasCall reports whether some route of service from calls service to,
// or publishes to a topic service to consumes.
func (t *Topology) hasCall(from, to string) bool {
	s := t.Service(from)
	if s == nil {
		return false
	}
	found := false
	for _, r := range s.Routes {
		r.Walk(func(c *Call) { found = found || c.Service == to })
		r.WalkPublish(func(p *Publish) {
			for _, c := range t.Consumers(p.Topic) {
				found = found || c.Service.Name == to
			}
		})
	}
	return found
}

// faultErrors checks an errors fault's parameters as route errors are
// checked, when its service is known, and that it sets status only for an
// http service and code only for a grpc one.
func (c *checker) faultErrors(s *Service, e Errors, path string) {
	if s == nil {
		if e.Rate < 0 || e.Rate > 1 {
			c.errorf(field(path, "rate"), e.Pos, "must be between 0 and 1, got %g", e.Rate)
		}
		return
	}
	c.routeErrors(s, e, path)
	if c.has(field(path, "status")) && s.Protocol == ProtocolGRPC {
		c.errorf(field(path, "status"), e.Pos, "is for http services; service %q is grpc, use code", s.Name)
	}
	if c.has(field(path, "code")) && s.Protocol == ProtocolHTTP {
		c.errorf(field(path, "code"), e.Pos, "is for grpc services; service %q is http, use status", s.Name)
	}
}

func (c *checker) headers(names []string, path string, pos Pos) {
	if len(names) == 0 {
		c.errorf(path, pos, "must not be empty (leave it out to strip every trace header)")
	}
	seen := map[string]bool{}
	for i, h := range names {
		if seen[h] {
			c.errorf(index(path, i), pos, "duplicate header %q", h)
		} else {
			c.header(h, index(path, i), pos)
		}
		seen[h] = true
	}
}

func (c *checker) header(h, path string, pos Pos) {
	if !slices.Contains(TraceHeaders, h) {
		c.errorf(path, pos, "unknown trace header %q (want %s)%s", h, orList(TraceHeaders), suggest(h, TraceHeaders))
	}
}

// atLeast reports v at path when it is less than least.
func (c *checker) atLeast(path string, pos Pos, v, least int) {
	switch {
	case v >= least:
	case least == 0:
		c.errorf(path, pos, "must not be negative, got %d", v)
	default:
		c.errorf(path, pos, "must be at least %d, got %d", least, v)
	}
}

// faultRef checks a 1-based fault number at path against the scenario's
// faults, unless the faults failed to decode.
func (c *checker) faultRef(s *Scenario, n int, path string, pos Pos) {
	switch {
	case c.skipped("faults"):
	case len(s.Faults) == 0:
		c.errorf(path, pos, "refers to fault %d, but the scenario has no faults", n)
	case n < 1 || n > len(s.Faults):
		c.errorf(path, pos, "must be a fault number between 1 and %d, got %d", len(s.Faults), n)
	}
}

// brokenEdge checks one "FROM -> TO" item of propagation's broken.
func (c *checker) brokenEdge(t *Topology, edge, path string, pos Pos) {
	from, to, ok := strings.Cut(edge, "->")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if !ok || from == "" || to == "" || strings.ContainsAny(from+to, " \t") {
		c.errorf(path, pos, "must be an edge \"FROM -> TO\", like \"cart -> inventory\", got %q", edge)
		return
	}
	if t == nil || skippedIn(c.topoSkip, servicePath(from)) || skippedIn(c.topoSkip, servicePath(to)) {
		return
	}
	c.edge(t, from, to, path, pos)
}

// at returns the decoded position of path, or fallback.
func (c *checker) at(path string, fallback Pos) Pos {
	if pos, ok := c.fields[path]; ok {
		return pos
	}
	return fallback
}

// has reports whether the value at path was written in the file.
func (c *checker) has(path string) bool {
	_, ok := c.fields[path]
	return ok
}

// anySkipped reports whether any of paths failed to decode.
func (c *checker) anySkipped(paths ...string) bool {
	return slices.ContainsFunc(paths, c.skipped)
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func stringsOf[S ~string](list []S) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = string(s)
	}
	return out
}
