package topology

// ChangesModel reports whether a fault of kind k changes what the topology
// says a service is while it is active (whether it is instrumented and
// forwards trace headers, which formats it injects and extracts), rather
// than only the traffic through it. During such a fault's window the
// checks expect the topology with the fault applied (see WithFault).
func (k FaultKind) ChangesModel() bool {
	return k == FaultUninstrument || k == FaultPropagatorSwitch
}

// WithFault returns the topology as it stands while f is active: a copy in
// which the fault's target service is changed the way the simulator
// changes it (uninstrument: not instrumented, forwarding trace headers
// when f.Forward; propagator-mismatch: injecting and extracting
// f.Propagators). A fault on one instance changes the service as a whole
// here, since the model has no instances of its own; callers that look at
// one instance decide whether the fault reaches it. t itself is returned,
// unchanged, when f changes nothing in the model: latency, errors, header
// tampering, crashes, partitions and pipeline faults act on traffic. t is
// never modified; the copy shares everything f does not change.
func (t *Topology) WithFault(f Fault) *Topology {
	if t == nil || !f.Kind.ChangesModel() {
		return t
	}
	i := t.serviceIndex(f.Target.Service)
	if i < 0 || t.Services[i].IsExternal() {
		return t
	}
	s := *t.Services[i]
	switch f.Kind {
	case FaultUninstrument:
		if !s.Instrumented {
			// Already uninstrumented: the fault changes nothing (the
			// simulator keeps the static forwarding rule then).
			return t
		}
		s.Instrumented, s.ForwardHeaders = false, f.Forward
	case FaultPropagatorSwitch:
		s.Propagators = append([]Propagator(nil), f.Propagators...)
	}
	c := *t
	c.Services = append([]*Service(nil), t.Services...)
	c.Services[i] = &s
	return &c
}

// serviceIndex returns the index of the named service, or -1.
func (t *Topology) serviceIndex(name string) int {
	for i, s := range t.Services {
		if s.Name == name {
			return i
		}
	}
	return -1
}
