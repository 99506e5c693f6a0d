package topology

import (
	"net"
	"slices"
	"strings"
)

// PortPlaceholder is replaced, in a launched node's command and
// environment values, by the port it serves on.
const PortPlaceholder = "{port}"

// launch checks a service tracerig starts.
func (c *checker) launch(s *Service) {
	path := servicePath(s.Name)
	l := s.Launch
	if s.External != "" {
		c.errorf(field(path, "external"), s.Pos, "a service is at a URL (external:) or started by tracerig (image: or command:), not both")
	}
	if l.IsImage() {
		if strings.TrimSpace(l.Image) == "" || strings.ContainsAny(l.Image, " \t\n") {
			c.errorf(field(path, "image"), l.Pos, "invalid image reference %q", l.Image)
		}
		if l.Port == 0 {
			c.errorf(field(path, "ports"), l.Pos, "is required with an image: say which port inside the container serves, like ports: {%s: 8080}", s.Protocol)
		}
	} else if l.Command != nil { // nil: an empty image:, reported when decoded
		switch {
		case len(l.Command) == 0 || l.Command[0] == "":
			c.errorf(field(path, "command"), l.Pos, "must name a program, like [./bin/checkout, --listen, \"127.0.0.1:{port}\"]")
		case l.Port == 0 && !l.usesPort():
			c.errorf(field(path, "command"), l.Pos, "neither the command nor env holds %s and ports: gives no port: tracerig cannot know where %s listens", PortPlaceholder, s.Name)
		}
	}
	if l.Port < 0 || l.Port > 65535 {
		c.errorf(field(path, "ports"), l.Pos, "port must be between 1 and 65535, got %d", l.Port)
	}
	if s.Protocol != ProtocolHTTP {
		c.errorf(field(path, "ports"), l.Pos, "a service of yours speaks http only for now, got %q", s.Protocol)
	}
	for _, e := range l.Env {
		p := field(field(path, "env"), e.Name)
		if !envName(e.Name) {
			c.errorf(p, l.Pos, "%q is not a variable name (letters, digits and _, not starting with a digit)", e.Name)
		}
		if _, err := references(e.Value); err != nil {
			c.errorf(p, l.Pos, "%v", err)
		}
	}
	c.wait(l.Wait, field(path, "wait"))
}

// usesPort reports whether the command or an env value asks for the port.
func (l *Launch) usesPort() bool {
	for _, a := range l.Command {
		if strings.Contains(a, PortPlaceholder) {
			return true
		}
	}
	for _, e := range l.Env {
		if strings.Contains(e.Value, PortPlaceholder) {
			return true
		}
	}
	return false
}

// wait checks a readiness check: at most one of http, port and log.
func (c *checker) wait(w Wait, path string) {
	set := 0
	for _, b := range []bool{w.HTTP != "", w.Port != 0, w.Log != ""} {
		if b {
			set++
		}
	}
	if set > 1 {
		c.errorf(path, w.Pos, "give one of http, port and log")
	}
	if w.HTTP != "" && !strings.HasPrefix(w.HTTP, "/") {
		c.errorf(field(path, "http"), w.Pos, "must be a path starting with /, got %q", w.HTTP)
	}
	if w.Port < 0 || w.Port > 65535 {
		c.errorf(field(path, "port"), w.Pos, "must be between 1 and 65535, got %d", w.Port)
	}
	if w.Timeout <= 0 {
		c.errorf(field(path, "timeout"), w.Pos, "must be positive, got %s", w.Timeout)
	}
}

// callsEnv checks the variables a launched node's callees' addresses go
// to: each names a service of the topology other than the node, once.
func (c *checker) callsEnv(t *Topology, s *Service) {
	path := field(servicePath(s.Name), "calls-env")
	seen := map[string]bool{}
	for _, e := range s.Launch.CallsEnv {
		p := field(path, e.Name)
		switch callee := t.Service(e.Name); {
		case callee == nil:
			c.errorf(p, s.Launch.Pos, "no service %q in the topology", e.Name)
		case callee == s:
			c.errorf(p, s.Launch.Pos, "a service does not call itself through its environment")
		}
		switch {
		case !envName(e.Value):
			c.errorf(p, s.Launch.Pos, "%q is not a variable name (letters, digits and _, not starting with a digit)", e.Value)
		case seen[e.Value]:
			c.errorf(p, s.Launch.Pos, "variable %s is given twice", e.Value)
		}
		seen[e.Value] = true
	}
}

// Expand returns t with the ${VAR} references in the addresses it names
// (external services' URLs, brokers' addresses) replaced through getenv,
// each then checked as it would have been if written out. t is left as it
// is; a topology without references is returned itself. Every problem is
// reported, each with its file, line, column and field path.
func (t *Topology) Expand(getenv func(string) string) (*Topology, error) {
	return t.expand("", getenv)
}

// Expand returns s with its topology's addresses expanded (see
// Topology.Expand); s is left as it is.
func (s *Scenario) Expand(getenv func(string) string) (*Scenario, error) {
	if s.Topology == nil {
		return s, nil
	}
	prefix := ""
	if s.TopologyFile == "" {
		prefix = "topology"
	}
	t, err := s.Topology.expand(prefix, getenv)
	if err != nil || t == s.Topology {
		return s, err
	}
	out := *s
	out.Topology = t
	return &out, nil
}

func (t *Topology) expand(prefix string, getenv func(string) string) (*Topology, error) {
	out := *t
	copied := false
	cp := func() {
		if !copied {
			out.Services = slices.Clone(t.Services)
			out.Brokers = slices.Clone(t.Brokers)
			copied = true
		}
	}
	c := &checker{prefix: prefix, fields: t.fields}
	// value expands one address at path, reporting what fails.
	value := func(path, s string, fallback Pos) (string, bool) {
		v, err := expand(path, s, getenv)
		if err != nil {
			c.errorf(path, fallback, "%s", strings.TrimPrefix(err.Error(), path+": "))
			return "", false
		}
		return v, true
	}
	for i, s := range t.Services {
		if s.IsLaunched() || !hasReference(s.External) {
			continue
		}
		path := field(servicePath(s.Name), "external")
		if v, ok := value(path, s.External, s.Pos); ok {
			cp()
			ns := *s
			ns.External = v
			out.Services[i] = &ns
			c.externalURL(&ns, path)
		}
	}
	for i, b := range t.Brokers {
		addrs := slices.Clone(b.Addresses)
		for j, a := range b.Addresses {
			if !hasReference(a) {
				continue
			}
			path := index(field(field("brokers", b.Name), "addresses"), j)
			v, ok := value(path, a, b.Pos)
			if !ok {
				continue
			}
			if _, _, err := net.SplitHostPort(v); err != nil {
				c.errorf(path, b.Pos, "%s expands to %q, not host:port", a, v)
			}
			addrs[j] = v
		}
		if !slices.Equal(addrs, b.Addresses) {
			cp()
			nb := *b
			nb.Addresses = addrs
			out.Brokers[i] = &nb
		}
	}
	if len(c.errs) > 0 {
		return nil, joinSorted(c.errs)
	}
	if !copied {
		return t, nil
	}
	return &out, nil
}
