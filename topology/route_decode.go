package topology

import (
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// distFields lists the fields each latency distribution takes.
var distFields = []struct {
	dist   Dist
	fields []string
}{
	{DistConstant, []string{"value"}},
	{DistUniform, []string{"min", "max"}},
	{DistNormal, []string{"mean", "stddev"}},
	{DistLognormal, []string{"p50", "p99"}},
	{DistPareto, []string{"min", "alpha"}}, // only with dist: pareto
}

func (d *decoder) latency(n *yaml.Node, path string, l *Latency) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	l.Pos = d.pos(n)
	if n.Kind == yaml.ScalarNode {
		l.Dist = DistConstant
		d.duration(n, field(path, "value"), &l.Value)
		d.fields[path] = l.Pos
		return
	}
	m, ok := d.mapping(n, path)
	if !ok {
		return
	}
	var dist string
	if !d.str(m.take("dist"), field(path, "dist"), &dist) {
		if dist, ok = d.inferDist(m, path); !ok {
			return
		}
	}
	l.Dist = Dist(dist)
	var want []string
	for _, df := range distFields {
		if df.dist == l.Dist {
			want = df.fields
		}
	}
	if want == nil {
		d.fail(n, field(path, "dist"), "unknown dist %q (want %s)", dist, orList(Dists))
		m.rest()
		return
	}
	dst := map[string]*time.Duration{
		"value": &l.Value, "min": &l.Min, "max": &l.Max, "mean": &l.Mean,
		"stddev": &l.StdDev, "p50": &l.P50, "p99": &l.P99,
	}
	for _, f := range want {
		v := m.take(f)
		if v == nil && len(m.pairs) > 0 {
			m.required(f, "for dist %s (it takes %s)", l.Dist, strings.Join(want, " and "))
		}
		if f == "alpha" {
			d.number(v, field(path, f), &l.Alpha)
			continue
		}
		d.duration(v, field(path, f), dst[f])
	}
	for _, p := range m.rest() {
		if _, isDistField := dst[p.key.Value]; isDistField {
			d.fail(p.key, field(path, p.key.Value), "does not apply to dist %s (it takes %s)", l.Dist, strings.Join(want, " and "))
		} else {
			d.errorf(p.key, path, "unknown field %q%s", p.key.Value, suggest(p.key.Value, append(m.known, "dist", "value", "min", "max", "mean", "stddev", "p50", "p99", "alpha")))
		}
	}
}

// inferDist picks the distribution from the fields present, when no dist is
// given: {value} constant, {min, max} uniform, {mean, stddev} normal,
// {p50, p99} lognormal, {} constant 0.
func (d *decoder) inferDist(m *fields, path string) (string, bool) {
	var found []string
	for _, df := range distFields {
		if df.dist == DistPareto {
			continue // never inferred: min alone reads as uniform
		}
		for _, f := range df.fields {
			if m.has(f) {
				found = append(found, string(df.dist))
				break
			}
		}
	}
	switch len(found) {
	case 0:
		return string(DistConstant), true
	case 1:
		return found[0], true
	}
	d.fail(m.node, path, "mixes fields of dists %s; set dist and keep its fields only", strings.Join(found, " and "))
	m.rest()
	return "", false
}

func (d *decoder) errorsField(n *yaml.Node, path string, s *Service, e *Errors) {
	m, ok := d.mapping(n, path)
	if !ok || m.node == nil {
		return
	}
	e.Pos = d.pos(m.node)
	d.number(m.take("rate"), field(path, "rate"), &e.Rate)
	if v := m.take("status"); v != nil {
		if s.Protocol == ProtocolGRPC {
			d.fail(v, field(path, "status"), "is for http services; service %q is grpc, use code", s.Name)
		} else {
			d.integer(v, field(path, "status"), &e.HTTPStatus)
		}
	}
	if v := m.take("code"); v != nil {
		if s.Protocol == ProtocolHTTP {
			d.fail(v, field(path, "code"), "is for grpc services; service %q is http, use status", s.Name)
		} else {
			d.grpcCode(v, field(path, "code"), &e.GRPCCode)
		}
	}
	m.done()
}

func (d *decoder) grpcCode(n *yaml.Node, path string, dst *uint32) {
	n, ok := d.scalar(n, path)
	if !ok {
		return
	}
	if v, err := strconv.ParseUint(n.Value, 10, 32); err == nil {
		*dst = uint32(v)
		return
	}
	if c, ok := GRPCCodeByName(n.Value); ok {
		*dst = c
		return
	}
	d.fail(n, path, "unknown grpc code %q (want a name like UNAVAILABLE or a number 1..16)", n.Value)
}

// callOptions are the keys a call step takes beside its service key.
var callOptions = []string{"timeout", "retries", "backoff"}

// stepKeywords are the keys that make a step a group.
var stepKeywords = []struct {
	key  string
	kind StepKind
}{{"parallel", StepParallel}, {"sequence", StepSequence}}

func (d *decoder) steps(n *yaml.Node, path string) []Step {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	var steps []Step
	for i, it := range items {
		steps = append(steps, d.step(it, index(path, i)))
	}
	return steps
}

// step decodes one step. A step that cannot be decoded stays in the list
// as a call step without a call, so that later items keep their index.
func (d *decoder) step(n *yaml.Node, path string) Step {
	st := Step{Kind: StepCall, Pos: d.pos(n)}
	m, ok := d.mapping(n, path)
	if !ok {
		return st
	}
	for _, kw := range stepKeywords {
		if !m.has(kw.key) {
			continue
		}
		st.Kind = kw.kind
		st.Steps = d.steps(m.take(kw.key), field(path, kw.key))
		for _, p := range m.rest() {
			d.errorf(p.key, path, "a %s step takes no other fields, got %q", kw.key, p.key.Value)
		}
		return st
	}
	if m.has("publish") {
		st.Kind = StepPublish
		st.Publish = d.publish(m.take("publish"), field(path, "publish"))
		for _, p := range m.rest() {
			d.errorf(p.key, path, "a publish step takes no other fields, got %q", p.key.Value)
		}
		return st
	}
	callKeys, typos := splitCallKeys(m.pairs)
	if len(callKeys) == 1 {
		// "timout" beside "cart" is a misspelt option, not a second service.
		for _, p := range typos {
			d.errorf(p.key, path, "unknown field %q%s", p.key.Value, suggest(p.key.Value, callOptions))
			m.used[p.key.Value] = true
		}
	} else {
		callKeys = append(callKeys, typos...)
	}
	switch len(callKeys) {
	case 0:
		d.fail(n, path, "a step needs a service to call, like {cart: GET /cart}, or parallel, sequence or publish")
		m.rest()
		return st
	case 1:
	default:
		d.fail(callKeys[1].key, path, "a call names one service, got %q and %q (write each call as its own list item)",
			callKeys[0].key.Value, callKeys[1].key.Value)
		m.rest()
		return st
	}
	k := callKeys[0].key
	c := defaultCall(k.Value, d.pos(k))
	routePath := field(path, k.Value)
	if v := m.take(k.Value); isNull(resolve(v)) {
		d.fail(k, routePath, "is required: the route to call, like GET /cart")
	} else {
		d.str(v, routePath, &c.Route)
	}
	d.duration(m.take("timeout"), field(path, "timeout"), &c.Timeout)
	d.integer(m.take("retries"), field(path, "retries"), &c.Retries)
	d.duration(m.take("backoff"), field(path, "backoff"), &c.Backoff)
	m.done()
	st.Call = c
	return st
}

// splitCallKeys returns the keys of a call step that are not options,
// setting apart those that look like a misspelt option.
func splitCallKeys(pairs []pair) (keys, typos []pair) {
	for _, p := range pairs {
		switch {
		case isCallOption(p.key.Value):
		case suggest(p.key.Value, callOptions) != "":
			typos = append(typos, p)
		default:
			keys = append(keys, p)
		}
	}
	return keys, typos
}

func isCallOption(key string) bool {
	for _, o := range callOptions {
		if o == key {
			return true
		}
	}
	return false
}
