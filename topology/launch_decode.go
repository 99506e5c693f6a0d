package topology

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// launchKeys are the service fields of an image or command node.
var launchKeys = []string{"image", "command", "env", "ports", "wait", "calls-env"}

// launch decodes the fields of a service that tracerig starts: image,
// command, env, ports, wait and calls-env. It leaves s.Launch nil when
// the service has neither an image nor a command, reporting the other
// fields as valid only on those.
func (d *decoder) launch(m *fields, path string, s *Service) {
	image, command := m.take("image"), m.take("command")
	rest := map[string]*yaml.Node{}
	for _, k := range launchKeys[2:] {
		if n := m.take(k); n != nil {
			rest[k] = n
		}
	}
	if image == nil && command == nil {
		for _, k := range launchKeys[2:] {
			if kn := m.key(k); kn != nil && rest[k] != nil {
				d.errorf(kn, field(path, k), "is only valid on a service tracerig starts: give it an image: or a command:")
			}
		}
		return
	}
	l := &Launch{Wait: Wait{Timeout: DefaultWaitTimeout, Pos: s.Pos}, Pos: s.Pos}
	s.Launch = l
	if image != nil {
		if d.str(image, field(path, "image"), &l.Image) && l.Image == "" {
			d.errorf(resolve(image), field(path, "image"), "must name an image, like registry.example/checkout:1.4")
		}
		l.Pos = d.pos(resolve(image))
	}
	if command != nil {
		l.Command = d.strings(command, field(path, "command"))
		if l.Command == nil {
			l.Command = []string{}
		}
		if image == nil {
			l.Pos = d.pos(resolve(command))
		}
	}
	l.Env = d.envVars(rest["env"], field(path, "env"))
	d.ports(rest["ports"], field(path, "ports"), s)
	d.wait(rest["wait"], field(path, "wait"), &l.Wait)
	l.CallsEnv = d.envVars(rest["calls-env"], field(path, "calls-env"))
}

// envVars decodes a mapping of names to string values, in file order.
func (d *decoder) envVars(n *yaml.Node, path string) []EnvVar {
	m, ok := d.mapping(n, path)
	if !ok || n == nil {
		return nil
	}
	var out []EnvVar
	for _, p := range m.rest() {
		v := EnvVar{Name: p.key.Value}
		if !isNull(resolve(p.value)) {
			d.str(p.value, field(path, p.key.Value), &v.Value)
		}
		out = append(out, v)
	}
	return out
}

// ports decodes {http: PORT} or {grpc: PORT}: the port a launched node
// serves on and the protocol it speaks there.
func (d *decoder) ports(n *yaml.Node, path string, s *Service) {
	m, ok := d.mapping(n, path)
	if !ok || n == nil {
		return
	}
	for _, key := range []string{"http", "grpc"} {
		proto := Protocol(key)
		v := m.take(key)
		if v == nil {
			continue
		}
		if s.Launch.Port != 0 {
			d.errorf(v, field(path, string(proto)), "a node serves one protocol on one port; %q is the second", proto)
			continue
		}
		if d.integer(v, field(path, string(proto)), &s.Launch.Port) {
			s.Protocol = proto
		}
	}
	m.done()
}

// wait decodes a readiness check: {http: PATH} | {port: N} | {log: TEXT},
// with an optional timeout.
func (d *decoder) wait(n *yaml.Node, path string, w *Wait) {
	m, ok := d.mapping(n, path)
	if !ok || n == nil {
		return
	}
	w.Pos = d.pos(resolve(n))
	d.str(m.take("http"), field(path, "http"), &w.HTTP)
	d.integer(m.take("port"), field(path, "port"), &w.Port)
	d.str(m.take("log"), field(path, "log"), &w.Log)
	d.duration(m.take("timeout"), field(path, "timeout"), &w.Timeout)
	m.done()
}

// hasReference reports whether s holds a ${VAR} reference.
func hasReference(s string) bool { return strings.Contains(s, "${") }
