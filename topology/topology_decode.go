package topology

import (
	"errors"
	"io/fs"
	"os"

	"go.yaml.in/yaml/v3"
)

// ParseTopology decodes a topology from data, applies defaults and
// validates it. file names data in errors. All errors are returned at once,
// joined; Errors unwraps them.
func ParseTopology(file string, data []byte) (*Topology, error) {
	d := newDecoder(file)
	t := d.topology(d.parse(data))
	errs := d.errs
	if t != nil {
		errs = append(errs, t.check("", d.failed)...)
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return t, nil
}

// LoadTopology reads and parses the topology file at path.
func LoadTopology(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(Pos{File: path}, "", "cannot read topology", err)
	}
	return ParseTopology(path, data)
}

// readError turns an I/O error into an *Error, without repeating the path
// an *fs.PathError already carries in the error's position.
func readError(pos Pos, path, what string, err error) *Error {
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
	}
	return &Error{Pos: pos, Path: path, Msg: what + ": " + msg, Err: err}
}

// topology decodes the topology whose root mapping is n; paths are
// relative to it. It returns nil when n is not a mapping.
func (d *decoder) topology(n *yaml.Node) *Topology {
	if n == nil {
		return nil
	}
	t := &Topology{Limits: defaultLimits(), Pos: d.pos(n), fields: d.fields}
	m, ok := d.mapping(n, "")
	if !ok {
		return nil
	}
	d.str(m.take("name"), "name", &t.Name)
	d.limits(m.take("limits"), &t.Limits)
	d.brokers(m.take("brokers"), t)
	d.services(m.take("services"), t)
	m.done()
	return t
}

func (d *decoder) limits(n *yaml.Node, l *Limits) {
	m, ok := d.mapping(n, "limits")
	if !ok {
		return
	}
	l.Pos = d.pos(m.node)
	v := m.take("max-spans-per-request")
	if d.integer(v, "limits.max-spans-per-request", &l.MaxSpansPerRequest) {
		l.Pos = d.pos(resolve(v))
	}
	m.done()
}

func (d *decoder) services(n *yaml.Node, t *Topology) {
	m, ok := d.mapping(n, "services")
	if !ok {
		return
	}
	for _, p := range m.rest() {
		t.Services = append(t.Services, d.service(p.key, p.value))
	}
}

func (d *decoder) service(k, v *yaml.Node) *Service {
	path := servicePath(k.Value)
	s := defaultService(k.Value, d.pos(k))
	m, ok := d.mapping(v, path)
	d.fields[path] = s.Pos // errors about a service point at its name
	if !ok {
		return s
	}
	var proto string
	if d.str(m.take("protocol"), field(path, "protocol"), &proto) {
		s.Protocol = Protocol(proto)
	}
	d.str(m.take("external"), field(path, "external"), &s.External)
	d.integer(m.take("port"), field(path, "port"), &s.Port)
	d.launch(m, path, s)
	if s.IsExternal() {
		for _, k := range []string{"instances", "version", "instrumented", "forward-headers", "sampler", "propagators"} {
			if kn := m.key(k); kn != nil {
				d.errorf(kn, field(path, k), "is not valid on a service of yours (external, image or command): tracerig does not simulate it (its own team instruments and configures it)")
			}
		}
		s.Downstream = d.downstream(m.take("calls"), field(path, "calls"))
	} else if kn := m.key("calls"); kn != nil {
		m.take("calls")
		d.errorf(kn, field(path, "calls"), "only a service of yours (external, image or command) lists calls at service level; a simulated service's calls go under its routes")
	}
	d.integer(m.take("instances"), field(path, "instances"), &s.Instances)
	d.str(m.take("version"), field(path, "version"), &s.Version)
	d.boolean(m.take("instrumented"), field(path, "instrumented"), &s.Instrumented)
	d.boolean(m.take("forward-headers"), field(path, "forward-headers"), &s.ForwardHeaders)
	d.propagators(m.take("propagators"), field(path, "propagators"), s)
	d.sampler(m.take("sampler"), field(path, "sampler"), &s.Sampler)
	d.routes(m.take("routes"), field(path, "routes"), s)
	m.done()
	return s
}

func (d *decoder) propagators(n *yaml.Node, path string, s *Service) {
	if n == nil {
		return
	}
	items, ok := d.list(n, path)
	if !ok {
		return
	}
	s.Propagators = []Propagator{}
	for i, it := range items {
		var name string
		d.str(it, index(path, i), &name)
		s.Propagators = append(s.Propagators, Propagator(name))
	}
}

func (d *decoder) sampler(n *yaml.Node, path string, s *Sampler) {
	n = resolve(n)
	if isNull(n) {
		return
	}
	s.Pos = d.pos(n)
	if n.Kind == yaml.ScalarNode {
		d.fields[field(path, "type")] = s.Pos
		s.Type = SamplerType(n.Value)
		if s.Type.usesRatio() {
			d.fail(n, field(path, "ratio"), "is required for sampler %s; write {type: %s, ratio: 0.1}", s.Type, s.Type)
		}
		return
	}
	m, ok := d.mapping(n, path)
	if !ok {
		return
	}
	var typ string
	if d.str(m.take("type"), field(path, "type"), &typ) {
		s.Type = SamplerType(typ)
	}
	ratio := m.take("ratio")
	switch {
	case !s.Type.known():
	case s.Type.usesRatio() && ratio == nil:
		m.required("ratio", "for sampler %s", s.Type)
	case !s.Type.usesRatio() && ratio != nil:
		d.fail(ratio, field(path, "ratio"), "is only valid for the traceidratio samplers, not %s", s.Type)
		ratio = nil
	}
	d.number(ratio, field(path, "ratio"), &s.Ratio)
	m.done()
}

func (d *decoder) routes(n *yaml.Node, path string, s *Service) {
	m, ok := d.mapping(n, path)
	if !ok {
		return
	}
	for _, p := range m.rest() {
		s.Routes = append(s.Routes, d.route(p.key, p.value, field(path, p.key.Value), s))
	}
}

func (d *decoder) route(k, v *yaml.Node, path string, s *Service) *Route {
	r := defaultRoute(k.Value, d.pos(k))
	m, ok := d.mapping(v, path)
	d.fields[path] = r.Pos // errors about a route point at its name
	if !ok {
		return r
	}
	if s.IsExternal() {
		for _, key := range []string{"latency", "errors", "calls", "consume"} {
			if kn := m.key(key); kn != nil {
				m.take(key)
				d.errorf(kn, field(path, key), "is not valid on a route of a service of yours (external, image or command): tracerig does not serve it (list its downstream calls under the service's own calls:)")
			}
		}
	}
	d.latency(m.take("latency"), field(path, "latency"), &r.Latency)
	d.errorsField(m.take("errors"), field(path, "errors"), s, &r.Errors)
	r.Calls = d.steps(m.take("calls"), field(path, "calls"))
	if n := m.take("consume"); n != nil {
		r.Consume = d.consume(n, field(path, "consume"), s)
	}
	m.done()
	return r
}

// key returns the key node of key when present, without taking it.
func (m *fields) key(key string) *yaml.Node {
	for _, p := range m.pairs {
		if p.key.Value == key {
			return p.key
		}
	}
	return nil
}

// downstream decodes an external service's expected calls: a list of
// {service: S, route: R}.
func (d *decoder) downstream(n *yaml.Node, path string) []*Call {
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	var out []*Call
	for i, it := range items {
		p := index(path, i)
		m, ok := d.mapping(it, p)
		if !ok {
			continue
		}
		c := defaultCall("", d.pos(it))
		if !d.str(m.take("service"), field(p, "service"), &c.Service) {
			m.required("service", "")
		}
		if !d.str(m.take("route"), field(p, "route"), &c.Route) {
			m.required("route", "")
		}
		m.done()
		out = append(out, c)
	}
	return out
}
