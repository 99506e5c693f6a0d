package topology

import (
	"regexp"
	"time"
)

var (
	httpRouteRE = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /\S*$`)
	grpcRouteRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/[A-Za-z_][A-Za-z0-9_]*$`)
)

// IsHTTPRoute reports whether name has the form "METHOD /path".
func IsHTTPRoute(name string) bool { return httpRouteRE.MatchString(name) }

// IsGRPCRoute reports whether name has the form "pkg.Service/Method".
func IsGRPCRoute(name string) bool { return grpcRouteRE.MatchString(name) }

// routeFits reports whether a route name has the form p's routes take.
func routeFits(p Protocol, name string) bool {
	switch p {
	case ProtocolHTTP:
		return IsHTTPRoute(name)
	case ProtocolGRPC:
		return IsGRPCRoute(name)
	}
	return true
}

func (c *checker) route(s *Service, r *Route) {
	path := routePath(s.Name, r.Name)
	switch {
	case r.Consume != nil:
		if err := consumeRouteName(r.Name); err != nil {
			c.errorf(path, r.Pos, "%v", err)
		}
	case s.Protocol == ProtocolHTTP && !IsHTTPRoute(r.Name):
		c.errorf(path, r.Pos, "invalid http route %q: want \"METHOD /path\", METHOD one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS and a path starting with / without spaces", r.Name)
	case s.Protocol == ProtocolGRPC && !IsGRPCRoute(r.Name):
		c.errorf(path, r.Pos, "invalid grpc route %q: want \"package.Service/Method\"", r.Name)
	}
	c.latency(r.Latency, field(path, "latency"))
	c.routeErrors(s, r.Errors, field(path, "errors"))
	c.steps(r.Calls, field(path, "calls"))
}

func (c *checker) latency(l Latency, path string) {
	neg := func(name string, v time.Duration) {
		c.notNegative(field(path, name), l.Pos, v, v < 0)
	}
	switch l.Dist {
	case DistConstant:
		neg("value", l.Value)
	case DistUniform:
		neg("min", l.Min)
		neg("max", l.Max)
		if l.Max < l.Min {
			c.errorf(field(path, "max"), l.Pos, "max (%s) must not be less than min (%s)", l.Max, l.Min)
		}
	case DistNormal:
		neg("mean", l.Mean)
		neg("stddev", l.StdDev)
	case DistLognormal:
		if l.P50 <= 0 {
			c.errorf(field(path, "p50"), l.Pos, "must be positive for a lognormal, got %s", l.P50)
		}
		if l.P99 < l.P50 {
			c.errorf(field(path, "p99"), l.Pos, "p99 (%s) must not be less than p50 (%s)", l.P99, l.P50)
		}
	case DistPareto:
		if l.Min <= 0 {
			c.errorf(field(path, "min"), l.Pos, "must be positive for a pareto, got %s", l.Min)
		}
		if l.Alpha <= 0 {
			c.errorf(field(path, "alpha"), l.Pos, "must be positive, got %g", l.Alpha)
		}
	default:
		c.errorf(field(path, "dist"), l.Pos, "unknown dist %q (want %s)", l.Dist, orList(Dists))
	}
}

func (c *checker) routeErrors(s *Service, e Errors, path string) {
	if e.Rate < 0 || e.Rate > 1 {
		c.errorf(field(path, "rate"), e.Pos, "must be between 0 and 1, got %g", e.Rate)
	}
	if s.Protocol != ProtocolGRPC && (e.HTTPStatus < 100 || e.HTTPStatus > 599) {
		c.errorf(field(path, "status"), e.Pos, "must be an http status between 100 and 599, got %d", e.HTTPStatus)
	}
	if s.Protocol != ProtocolHTTP && (e.GRPCCode < 1 || e.GRPCCode > 16) {
		c.errorf(field(path, "code"), e.Pos, "must be a grpc code between 1 and 16, got %d", e.GRPCCode)
	}
}

// maxRetries bounds Call.Retries.
const maxRetries = 10

func (c *checker) steps(steps []Step, path string) {
	for i, st := range steps {
		p := index(path, i)
		switch st.Kind {
		case StepCall:
			if st.Call == nil {
				c.errorf(p, st.Pos, "call step has no call")
				continue
			}
			c.call(st.Call, p)
		case StepPublish:
			if st.Publish == nil {
				c.errorf(p, st.Pos, "publish step has no topic")
			}
		case StepParallel, StepSequence:
			kw := stepKeyword(st.Kind)
			if len(st.Steps) == 0 {
				c.errorf(field(p, kw), st.Pos, "must not be empty")
			}
			c.steps(st.Steps, field(p, kw))
		default:
			c.errorf(p, st.Pos, "unknown step kind %d", st.Kind)
		}
	}
}

func (c *checker) call(call *Call, path string) {
	if call.Service == "" {
		c.errorf(path, call.Pos, "names no service")
	}
	if call.Route == "" {
		c.errorf(field(path, call.Service), call.Pos, "names no route")
	}
	c.notNegative(field(path, "timeout"), call.Pos, call.Timeout, call.Timeout < 0)
	c.notNegative(field(path, "backoff"), call.Pos, call.Backoff, call.Backoff < 0)
	if call.Retries < 0 || call.Retries > maxRetries {
		c.errorf(field(path, "retries"), call.Pos, "must be between 0 and %d, got %d", maxRetries, call.Retries)
	}
}

func stepKeyword(k StepKind) string {
	for _, kw := range stepKeywords {
		if kw.kind == k {
			return kw.key
		}
	}
	return ""
}
