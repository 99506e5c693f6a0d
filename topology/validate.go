package topology

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// checker collects validation errors. It is pure: it reads the model, the
// positions decoding stored in it, and the paths decoding already reported
// (skip), under which it stays silent so one mistake gives one error.
type checker struct {
	prefix string // path of the checked document inside the file, "" at the root
	fields fieldPos
	skip   []string
	errs   []error
	// topoSkip is skip for the scenario's topology, for cross-references.
	topoSkip []string
}

// skipped reports whether path lies under a path that failed to decode.
func (c *checker) skipped(path string) bool {
	return skippedIn(c.skip, path)
}

func skippedIn(skip []string, path string) bool {
	for _, s := range skip {
		if under(path, s) {
			return true
		}
	}
	return false
}

// errorf reports an error at path, placed at the decoded position of path
// when there is one, else at fallback.
func (c *checker) errorf(path string, fallback Pos, format string, args ...any) {
	if c.skipped(path) {
		return
	}
	pos, ok := c.fields[path]
	if !ok {
		pos = fallback
	}
	c.errs = append(c.errs, newError(pos, prefixed(c.prefix, path), format, args...))
}

// Validate checks the topology: names, numbers in range, that every call
// names a defined service and route of the right protocol, that calls
// form no cycle, and that no entry route expects more spans per request
// than the limit. It returns every problem found, joined.
func (t *Topology) Validate() error {
	return joinSorted(t.check("", nil))
}

// check validates t as found under prefix in its file, staying silent
// under the paths in skip.
func (t *Topology) check(prefix string, skip []string) []error {
	c := &checker{prefix: prefix, fields: t.fields, skip: skip}
	if t.Name == "" {
		c.errorf("name", t.Pos, "is required")
	}
	if t.Limits.MaxSpansPerRequest < 1 {
		c.errorf("limits.max-spans-per-request", t.Limits.Pos, "must be at least 1, got %d", t.Limits.MaxSpansPerRequest)
	}
	if len(t.Services) == 0 {
		c.errorf("services", t.Pos, "at least one service is required")
	}
	seen := map[string]bool{}
	for _, s := range t.Services {
		if seen[s.Name] {
			c.errorf(servicePath(s.Name), s.Pos, "service %q is defined twice", s.Name)
		}
		seen[s.Name] = true
		c.service(s)
		if s.IsLaunched() {
			c.callsEnv(t, s)
		}
	}
	c.ports(t)
	c.references(t)
	c.brokersAndTopics(t)
	if !c.cycles(t) && t.Limits.MaxSpansPerRequest >= 1 {
		c.spanLimit(t)
	}
	return c.errs
}

var serviceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

func (c *checker) service(s *Service) {
	path := servicePath(s.Name)
	switch {
	case !serviceNameRE.MatchString(s.Name):
		c.errorf(path, s.Pos, "invalid service name %q: want lowercase letters, digits, '-', '_' and '.', starting with a letter or digit", s.Name)
	case isStepKeyword(s.Name) || isCallOption(s.Name):
		c.errorf(path, s.Pos, "service name %q is reserved: it is a calls keyword", s.Name)
	}
	switch {
	case s.IsLaunched():
		c.launch(s)
	case s.IsExternal():
		c.external(s)
	}
	if s.Port != 0 {
		switch {
		case s.IsLaunched():
			c.errorf(field(path, "port"), s.Pos, "is not valid on a service tracerig starts: ports: {%s: N} gives the port it serves on", s.Protocol)
		case s.IsExternal():
			c.errorf(field(path, "port"), s.Pos, "is not valid on an external service: its port is the one in its external URL")
		case s.Port < 1 || s.Port > 65535:
			c.errorf(field(path, "port"), s.Pos, "must be between 1 and 65535, got %d", s.Port)
		case s.Instances != 1:
			c.errorf(field(path, "port"), s.Pos, "a fixed port needs exactly one instance, got %d instances", s.Instances)
		}
	}
	if !slices.Contains(Protocols, s.Protocol) {
		c.errorf(field(path, "protocol"), s.Pos, "unknown protocol %q (want %s)", s.Protocol, orList(Protocols))
	}
	if s.Instances < 1 || s.Instances > 64 {
		c.errorf(field(path, "instances"), s.Pos, "must be between 1 and 64, got %d", s.Instances)
	}
	if s.Version == "" {
		c.errorf(field(path, "version"), s.Pos, "must not be empty")
	}
	c.propagators(s, field(path, "propagators"))
	c.sampler(s.Sampler, field(path, "sampler"))
	seen := map[string]bool{}
	for _, r := range s.Routes {
		if seen[r.Name] {
			c.errorf(routePath(s.Name, r.Name), r.Pos, "route %q is defined twice", r.Name)
		}
		seen[r.Name] = true
		c.route(s, r)
	}
}

func (c *checker) propagators(s *Service, path string) {
	c.propagatorList(s.Propagators, s.Pos, path)
}

// propagatorList checks a list of propagators: not empty, known, no
// duplicates.
func (c *checker) propagatorList(list []Propagator, pos Pos, path string) {
	if len(list) == 0 {
		c.errorf(path, pos, "must not be empty")
	}
	seen := map[Propagator]bool{}
	for i, p := range list {
		switch {
		case !p.known():
			c.errorf(index(path, i), pos, "unknown propagator %q (want %s)", p, orList(Propagators))
		case seen[p]:
			c.errorf(index(path, i), pos, "duplicate propagator %q", p)
		}
		seen[p] = true
	}
}

func (p Propagator) known() bool { return slices.Contains(Propagators, p) }

func (c *checker) sampler(s Sampler, path string) {
	switch {
	case !s.Type.known():
		c.errorf(field(path, "type"), s.Pos, "unknown sampler %q (want %s)", s.Type, orList(SamplerTypes))
	case s.Type.usesRatio() && (s.Ratio < 0 || s.Ratio > 1):
		c.errorf(field(path, "ratio"), s.Pos, "must be between 0 and 1, got %g", s.Ratio)
	case !s.Type.usesRatio() && s.Ratio != 0:
		c.errorf(field(path, "ratio"), s.Pos, "is only valid for the traceidratio samplers, not %s", s.Type)
	}
}

// notNegative reports a negative duration-like value at path.
func (c *checker) notNegative(path string, pos Pos, v fmt.Stringer, negative bool) {
	if negative {
		c.errorf(path, pos, "must not be negative, got %s", v)
	}
}

func isStepKeyword(name string) bool {
	for _, kw := range stepKeywords {
		if kw.key == name {
			return true
		}
	}
	return false
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// external checks an external service's URL: http, a loopback host, a port.
// A URL that holds ${VAR} references is checked once they are expanded
// (Topology.Expand); here only the references are.
func (c *checker) external(s *Service) {
	path := field(servicePath(s.Name), "external")
	if hasReference(s.External) {
		if _, err := references(s.External); err != nil {
			c.errorf(path, s.Pos, "%v", err)
		}
		if s.Protocol != ProtocolHTTP {
			c.errorf(field(servicePath(s.Name), "protocol"), s.Pos, "an external service speaks http only, got %q", s.Protocol)
		}
		return
	}
	c.externalURL(s, path)
}

// externalURL checks s.External as a URL an external service is called at.
func (c *checker) externalURL(s *Service, path string) {
	u, err := url.Parse(s.External)
	if err != nil || u.Host == "" {
		c.errorf(path, s.Pos, "invalid URL %q: want http://HOST:PORT, like http://127.0.0.1:9000", s.External)
		return
	}
	if u.Scheme != "http" {
		c.errorf(path, s.Pos, "scheme %q is not supported: an external service is called over plain http (http://HOST:PORT)", u.Scheme)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		c.errorf(path, s.Pos, "host %q is not a loopback address: tracerig only sends requests to loopback here (use 127.0.0.1, ::1 or localhost)", host)
	}
	if u.Port() == "" {
		c.errorf(path, s.Pos, "URL %q has no port: write http://%s:PORT", s.External, host)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		c.errorf(path, s.Pos, "URL %q must be only http://HOST:PORT: routes give the paths", s.External)
	}
	if s.Protocol != ProtocolHTTP {
		c.errorf(field(servicePath(s.Name), "protocol"), s.Pos, "an external service speaks http only, got %q", s.Protocol)
	}
}

// ports checks that no two services take the same fixed loopback port.
func (c *checker) ports(t *Topology) {
	taken := map[string]string{}
	for _, s := range t.Services {
		var port, path string
		switch {
		case s.IsExternal():
			u, err := url.Parse(s.External)
			if err != nil {
				continue
			}
			port, path = u.Port(), field(servicePath(s.Name), "external")
		case s.Port > 0:
			port, path = strconv.Itoa(s.Port), field(servicePath(s.Name), "port")
		}
		if port == "" {
			continue
		}
		if other, ok := taken[port]; ok {
			c.errorf(path, s.Pos, "port %s is already taken by service %q", port, other)
			continue
		}
		taken[port] = s.Name
	}
}
