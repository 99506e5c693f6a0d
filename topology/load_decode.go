package topology

import (
	"math"
	"strings"

	"go.yaml.in/yaml/v3"
)

func (d *decoder) loads(n *yaml.Node) []Load {
	items, ok := d.list(n, "load")
	if !ok {
		return nil
	}
	var loads []Load
	for i, it := range items {
		loads = append(loads, d.load(it, index("load", i)))
	}
	return loads
}

// load decodes one load item. One that cannot be decoded stays in the list
// with defaults, so that later items keep their index.
func (d *decoder) load(n *yaml.Node, path string) Load {
	l := defaultLoad(d.pos(n))
	m, ok := d.mapping(n, path)
	if !ok {
		return l
	}
	route, routes := m.take("route"), m.take("routes")
	switch {
	case !isNull(resolve(route)) && !isNull(resolve(routes)):
		d.fail(routes, field(path, "routes"), "route and routes exclude each other: give one route, or a mix of routes with weights")
		d.failed = append(d.failed, field(path, "route"))
	case !isNull(resolve(routes)):
		l.Targets = d.targets(routes, field(path, "routes"))
		if len(l.Targets) == 0 {
			// Why is already said; an empty mix is not also "required".
			d.failed = append(d.failed, field(path, "route"))
		}
	case !isNull(resolve(route)):
		if t, ok := d.target(route, field(path, "route")); ok {
			t.Weight = 1
			l.Targets = []Target{t}
		}
	default:
		m.required("route", "(or routes: a mix of \"SERVICE ROUTE\": weight)")
	}
	if v := m.take("rate"); isNull(resolve(v)) {
		m.required("rate", "(write 0 to send as fast as the workers go)")
	} else {
		d.rate(v, field(path, "rate"), &l.Rate)
	}
	d.duration(m.take("duration"), field(path, "duration"), &l.Duration)
	d.integer(m.take("requests"), field(path, "requests"), &l.Requests)
	d.integer(m.take("workers"), field(path, "workers"), &l.Workers)
	m.done()
	return l
}

// target decodes "SERVICE ROUTE".
func (d *decoder) target(n *yaml.Node, path string) (Target, bool) {
	var s string
	if !d.str(n, path, &s) {
		return Target{}, false
	}
	svc, r, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		d.fail(n, path, "must be \"SERVICE ROUTE\", like \"frontend GET /checkout\", got %q", s)
		return Target{}, false
	}
	return Target{Service: svc, Route: strings.TrimSpace(r), Pos: d.pos(n)}, true
}

// targets decodes a mix: a mapping of "SERVICE ROUTE" to weight.
func (d *decoder) targets(n *yaml.Node, path string) []Target {
	m, ok := d.mapping(n, path)
	if !ok {
		return nil
	}
	var out []Target
	for _, p := range m.rest() {
		kp := field(path, p.key.Value)
		t, ok := d.target(p.key, kp)
		if ok && d.number(p.value, kp, &t.Weight) {
			out = append(out, t)
		}
	}
	if len(out) == 0 && len(m.pairs) == 0 {
		d.fail(n, path, "must name at least one route")
	}
	return out
}

func (d *decoder) rate(n *yaml.Node, path string, r *Rate) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		if v, ok := d.oneRate(n, path); ok {
			*r = v
		}
		return
	}
	m, ok := d.mapping(n, path)
	if !ok {
		return
	}
	from, okFrom := d.rampEnd(m, path, "from")
	to, okTo := d.rampEnd(m, path, "to")
	m.done()
	if okFrom && okTo && from.Per != to.Per {
		// rampOf converts both ends to whole requests per second.
		okFrom = d.perSecond(from, field(path, "from"))
		okTo = d.perSecond(to, field(path, "to"))
	}
	if okFrom && okTo {
		*r = rampOf(from, to)
		r.Pos = d.pos(n)
	}
}

func (d *decoder) rampEnd(m *fields, path, key string) (Rate, bool) {
	v := m.take(key)
	if isNull(resolve(v)) {
		m.required(key, "for a ramp {from: 50/s, to: 500/s}")
		return Rate{}, false
	}
	n, ok := d.scalar(v, field(path, key))
	if !ok {
		return Rate{}, false
	}
	return d.oneRate(n, field(path, key))
}

// perSecond reports a ramp end whose requests per second do not fit in an
// int.
func (d *decoder) perSecond(r Rate, path string) bool {
	if v := math.Round(r.PerSecond()); v >= math.MinInt64 && v < math.MaxInt64 {
		return true
	}
	d.errs = append(d.errs, newError(r.Pos, path, "rate %s is too high to ramp per second (write both ends with the same period)", r))
	d.failed = append(d.failed, path)
	return false
}

func (d *decoder) oneRate(n *yaml.Node, path string) (Rate, bool) {
	d.fields[path] = d.pos(n)
	r, err := ParseRate(n.Value)
	if err != nil {
		d.fail(n, path, "%v", err)
		return Rate{}, false
	}
	r.Pos = d.pos(n)
	return r, true
}

func (d *decoder) expects(n *yaml.Node) []Expect {
	items, ok := d.list(n, "expect")
	if !ok {
		return nil
	}
	expects := []Expect{}
	for i, it := range items {
		expects = append(expects, d.expect(it, index("expect", i)))
	}
	return expects
}

// expect decodes one check: a mapping with exactly one key, its kind.
func (d *decoder) expect(n *yaml.Node, path string) Expect {
	e := Expect{Pos: d.pos(n)}
	m, ok := d.mapping(n, path)
	if !ok {
		return e
	}
	if len(m.pairs) != 1 {
		d.fail(n, path, "must be a mapping with one key, the check (%s), got %d keys", orList(ExpectKinds), len(m.pairs))
		m.rest()
		return e
	}
	k, v := m.pairs[0].key, m.pairs[0].value
	m.rest()
	itemPath := path
	path = field(path, k.Value)
	switch ExpectKind(k.Value) {
	case ExpectPropagation:
		e.Kind = ExpectPropagation
		e.Propagation = PropagationExpect{Connected: true}
		pm, ok := d.mapping(v, path)
		if ok {
			d.boolean(pm.take("connected"), field(path, "connected"), &e.Propagation.Connected)
			if v := pm.take("broken"); v != nil {
				e.Propagation.Broken = d.strings(v, field(path, "broken"))
			}
			d.integer(pm.take("during-fault"), field(path, "during-fault"), &e.Propagation.DuringFault)
			pm.done()
		}
	case ExpectCompleteness:
		e.Kind = ExpectCompleteness
		e.Completeness = CompletenessExpect{Min: 1}
		cm, ok := d.mapping(v, path)
		if ok {
			d.number(cm.take("min"), field(path, "min"), &e.Completeness.Min)
			d.duration(cm.take("within"), field(path, "within"), &e.Completeness.Within)
			cm.done()
		}
	case ExpectDetect:
		e.Kind = ExpectDetect
		dm, ok := d.mapping(v, path)
		if ok {
			if isNull(dm.node) {
				dm.node = k
			}
			if fv := dm.take("fault"); isNull(resolve(fv)) {
				dm.required("fault", "(the number of the fault to detect, from 1 in file order)")
			} else {
				d.integer(fv, field(path, "fault"), &e.Detect.Fault)
			}
			dm.done()
		}
	case ExpectSampling:
		e.Kind = ExpectSampling
		e.Sampling = d.samplingExpect(v, path)
	case ExpectTailSampling:
		e.Kind = ExpectTailSampling
		e.TailSampling = d.tailSamplingExpect(v, path)
	case ExpectSpans:
		e.Kind = ExpectSpans
		e.Spans = d.spansExpect(v, path)
	case ExpectMessaging:
		e.Kind = ExpectMessaging
		e.Messaging = d.messagingExpect(v, path)
	case ExpectLoad:
		e.Kind = ExpectLoad
		e.Load = LoadExpect{Min: DefaultLoadMin}
		lm, ok := d.mapping(v, path)
		if ok {
			d.number(lm.take("min"), field(path, "min"), &e.Load.Min)
			lm.done()
		}
	default:
		d.fail(k, itemPath, "unknown check %q (want %s)%s", k.Value, orList(ExpectKinds), suggest(k.Value, expectNames()))
	}
	return e
}

func expectNames() []string {
	names := make([]string, len(ExpectKinds))
	for i, k := range ExpectKinds {
		names[i] = string(k)
	}
	return names
}
