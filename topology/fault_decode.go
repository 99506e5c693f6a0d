package topology

import (
	"go.yaml.in/yaml/v3"
)

// faultScope says what a fault kind acts on, and so which target fields
// its parameters take.
type faultScope uint8

const (
	scopePipeline faultScope = iota // the export pipeline: no target
	scopeService                    // service, instance
	scopeRoute                      // service, route, instance
	scopeInstance                   // service, one instance
	scopeEdge                       // from, to
	scopeBroker                     // broker
)

func faultScopeOf(k FaultKind) faultScope {
	switch k {
	case FaultLatency, FaultErrors:
		return scopeRoute
	case FaultPropagatorSwitch, FaultUninstrument, FaultClockSkew, FaultQueueOverflow:
		return scopeService
	case FaultCrash, FaultRestart, FaultPause:
		return scopeInstance
	case FaultTimeout, FaultStripHeaders, FaultCorruptTraceparent, FaultDuplicateHeader,
		FaultTracestateOverflow, FaultBaggageOverflow, FaultPartition, FaultPoison:
		return scopeEdge
	case FaultBrokerOutage:
		return scopeBroker
	}
	return scopePipeline
}

// faultAliases are other names a fault kind key may take.
var faultAliases = map[string]FaultKind{"kill": FaultCrash}

// windowKeys are the keys of a fault item beside its kind key.
var windowKeys = []string{"name", "at", "for", "every", "count"}

func faultKindOf(key string) (FaultKind, bool) {
	if k, ok := faultAliases[key]; ok {
		return k, true
	}
	for _, k := range FaultKinds {
		if string(k) == key {
			return k, true
		}
	}
	return "", false
}

// faultKeys returns every key a fault item may name its kind with.
func faultKeys() []string {
	var keys []string
	for _, k := range FaultKinds {
		keys = append(keys, string(k))
	}
	for a := range faultAliases {
		keys = append(keys, a)
	}
	return keys
}

func (d *decoder) faults(n *yaml.Node) []Fault {
	items, ok := d.list(n, "faults")
	if !ok {
		return nil
	}
	var faults []Fault
	for i, it := range items {
		faults = append(faults, d.fault(it, index("faults", i)))
	}
	return faults
}

// fault decodes one fault item: window keys and one kind key whose value
// maps that kind's parameters. A fault that cannot be decoded stays in the
// list without a kind, so that later items keep their number.
func (d *decoder) fault(n *yaml.Node, path string) Fault {
	f := defaultFault("", d.pos(n))
	m, ok := d.mapping(n, path)
	if !ok {
		return f
	}
	if isNull(m.node) {
		d.fail(n, path, "must be a mapping with a fault kind key, like {at: 10s, latency: {service: cart, add: 100ms}}")
		return f
	}
	k, kind, ok := d.faultKind(m, path)
	if ok {
		f = defaultFault(kind, f.Pos)
	}
	d.str(m.take("name"), field(path, "name"), &f.Name)
	if v := m.take("at"); isNull(resolve(v)) {
		m.required("at", "(when the fault starts, like 20s; 0s for the start of the run)")
	} else {
		d.duration(v, field(path, "at"), &f.Window.At)
	}
	d.duration(m.take("for"), field(path, "for"), &f.Window.For)
	d.duration(m.take("every"), field(path, "every"), &f.Window.Every)
	d.integer(m.take("count"), field(path, "count"), &f.Window.Count)
	if ok {
		d.faultParams(k, m.take(k.Value), field(path, k.Value), &f)
	}
	m.done()
	return f
}

// faultKind finds the one kind key of a fault item. It reports keys that
// are neither a kind nor a window key, and marks them used.
func (d *decoder) faultKind(m *fields, path string) (*yaml.Node, FaultKind, bool) {
	var kinds, unknown []*yaml.Node
	for _, p := range m.pairs {
		switch _, isKind := faultKindOf(p.key.Value); {
		case contains(windowKeys, p.key.Value):
		case isKind:
			kinds = append(kinds, p.key)
		default:
			unknown = append(unknown, p.key)
		}
	}
	allKeys := append(faultKeys(), windowKeys...)
	for _, k := range unknown {
		m.used[k.Value] = true
		if best := closest(k.Value, allKeys); contains(windowKeys, best) || len(kinds) == 1 {
			d.errorf(k, path, "unknown field %q%s", k.Value, suggest(k.Value, allKeys))
			continue
		}
		d.fail(k, path, "unknown fault kind %q (want %s)%s", k.Value, orList(FaultKinds), suggest(k.Value, faultKeys()))
	}
	switch len(kinds) {
	case 0:
		if !skippedIn(d.failed, path) {
			d.fail(m.node, path, "needs a fault kind key: one of %s", orList(FaultKinds))
		}
		return nil, "", false
	case 1:
		kind, _ := faultKindOf(kinds[0].Value)
		return kinds[0], kind, true
	}
	d.fail(kinds[1], path, "a fault has one kind, got %q and %q (write each fault as its own list item)", kinds[0].Value, kinds[1].Value)
	for _, k := range kinds {
		m.used[k.Value] = true
	}
	return nil, "", false
}

// faultParams decodes the parameters of fault kind k, the mapping v, at path.
func (d *decoder) faultParams(k, v *yaml.Node, path string, f *Fault) {
	m, ok := d.mapping(v, path)
	if !ok {
		return
	}
	if isNull(m.node) {
		// No parameters: errors about them point at the kind key.
		m.node = k
		d.fields[path] = d.pos(k)
	}
	d.faultTarget(m, path, faultScopeOf(f.Kind), &f.Target)
	p := func(key string) string { return field(path, key) }
	switch f.Kind {
	case FaultLatency, FaultErrors, FaultTimeout, FaultPartition:
		d.requestFaultParams(m, p, f)
	case FaultStripHeaders, FaultCorruptTraceparent, FaultDuplicateHeader, FaultTracestateOverflow, FaultBaggageOverflow:
		d.headerFaultParams(m, p, f)
	case FaultPropagatorSwitch, FaultUninstrument, FaultClockSkew:
		d.tracingFaultParams(m, p, f)
	case FaultSlowBackend, FaultQueueOverflow:
		d.exportFaultParams(m, p, f)
	}
	m.done()
}

// requestFaultParams decodes the parameters of the faults that change
// what happens to requests: latency, errors, timeout and partition. p is
// the path of a parameter.
func (d *decoder) requestFaultParams(m *fields, p func(string) string, f *Fault) {
	switch f.Kind {
	case FaultLatency:
		d.duration(m.take("add"), p("add"), &f.Latency.Add)
		d.number(m.take("multiply"), p("multiply"), &f.Latency.Multiply)
		d.latency(m.take("replace"), p("replace"), &f.Latency.Replace)
	case FaultErrors:
		f.Errors.Pos = d.pos(m.node)
		if v := m.take("rate"); isNull(resolve(v)) {
			m.required("rate", "(the share of requests to fail, between 0 and 1)")
		} else {
			d.number(v, p("rate"), &f.Errors.Rate)
		}
		// Whether status or code fits the service's protocol is Validate's.
		d.integer(m.take("status"), p("status"), &f.Errors.HTTPStatus)
		d.grpcCode(m.take("code"), p("code"), &f.Errors.GRPCCode)
	case FaultTimeout:
		if v := m.take("timeout"); isNull(resolve(v)) {
			m.required("timeout", "(the caller's timeout on this edge, like 50ms)")
		} else {
			d.duration(v, p("timeout"), &f.Timeout.Timeout)
		}
		d.integer(m.take("retries"), p("retries"), &f.Timeout.Retries)
		d.duration(m.take("backoff"), p("backoff"), &f.Timeout.Backoff)
	case FaultPartition:
		var mode string
		if d.str(m.take("mode"), p("mode"), &mode) {
			f.Partition = PartitionMode(mode)
		}
	}
}

// headerFaultParams decodes the parameters of the faults that change
// trace headers in transit.
func (d *decoder) headerFaultParams(m *fields, p func(string) string, f *Fault) {
	switch f.Kind {
	case FaultStripHeaders:
		if v := m.take("headers"); v != nil {
			f.Headers.Strip = d.strings(v, p("headers"))
		}
	case FaultCorruptTraceparent:
		var mode string
		if v := m.take("mode"); isNull(resolve(v)) {
			m.required("mode", "(one of %s)", orList(Corruptions))
		} else if d.str(v, p("mode"), &mode) {
			f.Headers.Corrupt = Corruption(mode)
		}
	case FaultDuplicateHeader:
		d.str(m.take("header"), p("header"), &f.Headers.Duplicate)
	case FaultTracestateOverflow:
		d.integer(m.take("members"), p("members"), &f.Headers.Members)
		d.integer(m.take("bytes"), p("bytes"), &f.Headers.Bytes)
	case FaultBaggageOverflow:
		d.integer(m.take("entries"), p("entries"), &f.Headers.Entries)
		d.integer(m.take("bytes"), p("bytes"), &f.Headers.Bytes)
	}
}

// tracingFaultParams decodes the parameters of the faults that change a
// service's own tracing: its propagators, its instrumentation, its clock.
func (d *decoder) tracingFaultParams(m *fields, p func(string) string, f *Fault) {
	switch f.Kind {
	case FaultPropagatorSwitch:
		if v := m.take("propagators"); isNull(resolve(v)) {
			m.required("propagators", "(the formats the service switches to, like [b3])")
		} else {
			for _, name := range d.strings(v, p("propagators")) {
				f.Propagators = append(f.Propagators, Propagator(name))
			}
			if f.Propagators == nil && !skippedIn(d.failed, p("propagators")) {
				f.Propagators = []Propagator{}
			}
		}
	case FaultUninstrument:
		d.boolean(m.take("forward-headers"), p("forward-headers"), &f.Forward)
	case FaultClockSkew:
		d.duration(m.take("offset"), p("offset"), &f.Skew.Offset)
		d.duration(m.take("drift"), p("drift"), &f.Skew.Drift)
	}
}

// exportFaultParams decodes the parameters of the faults of the export
// pipeline.
func (d *decoder) exportFaultParams(m *fields, p func(string) string, f *Fault) {
	switch f.Kind {
	case FaultSlowBackend:
		if v := m.take("delay"); isNull(resolve(v)) {
			m.required("delay", "(added to every export, like 500ms)")
		} else {
			d.duration(v, p("delay"), &f.Delay)
		}
	case FaultQueueOverflow:
		d.integer(m.take("queue"), p("queue"), &f.Queue)
	}
}

// faultTarget decodes the target fields scope takes.
func (d *decoder) faultTarget(m *fields, path string, scope faultScope, t *FaultTarget) {
	need := func(key string, dst *string) {
		if v := m.take(key); isNull(resolve(v)) {
			m.required(key, "")
		} else {
			d.str(v, field(path, key), dst)
		}
	}
	switch scope {
	case scopeService, scopeRoute, scopeInstance:
		need("service", &t.Service)
		if scope == scopeRoute {
			d.str(m.take("route"), field(path, "route"), &t.Route)
		}
		d.integer(m.take("instance"), field(path, "instance"), &t.Instance)
	case scopeEdge:
		need("from", &t.From)
		need("to", &t.To)
	case scopeBroker:
		need("broker", &t.Broker)
	}
}

// strings decodes a list of strings; nil when n is not a list.
func (d *decoder) strings(n *yaml.Node, path string) []string {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	out := []string{}
	for i, it := range items {
		var s string
		d.str(it, index(path, i), &s)
		out = append(out, s)
	}
	return out
}
