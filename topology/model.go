// Package topology turns topology and scenario YAML files into an immutable,
// validated model. Decoding is strict (unknown fields are errors), defaults
// are applied before the file is read over them, and Validate is pure. Every
// error carries the file, line, column and field path it is about.
package topology

import (
	"net/url"
	"slices"
	"time"
)

// Pos is a position in a source file.
type Pos struct {
	File string
	Line int
	Col  int
}

// Topology is a graph of services.
type Topology struct {
	Name     string
	Services []*Service // in file order
	// Brokers carry the asynchronous edges: a route publishes to a topic
	// of one, and routes of other services consume it.
	Brokers []*Broker // in file order
	Limits  Limits
	Pos     Pos

	fields fieldPos // positions of decoded fields, for Validate's errors
}

// Limits bounds what one topology may ask of the simulator.
type Limits struct {
	// MaxSpansPerRequest bounds the spans one entry request is expected to
	// produce (fan-out times depth, retries not counted). Default 10000.
	MaxSpansPerRequest int
	Pos                Pos
}

// Protocol is how a service is called.
type Protocol string

// Protocols.
const (
	ProtocolHTTP Protocol = "http"
	ProtocolGRPC Protocol = "grpc"
)

// Propagator names a context propagation format.
type Propagator string

// Propagators.
const (
	PropTraceContext Propagator = "tracecontext"
	PropBaggage      Propagator = "baggage"
	PropB3           Propagator = "b3"      // single header
	PropB3Multi      Propagator = "b3multi" // X-B3-* headers
	PropJaeger       Propagator = "jaeger"  // uber-trace-id
)

// SamplerType names a head sampler.
type SamplerType string

// Samplers, named as in OTEL_TRACES_SAMPLER.
const (
	SamplerAlwaysOn                SamplerType = "always_on"
	SamplerAlwaysOff               SamplerType = "always_off"
	SamplerTraceIDRatio            SamplerType = "traceidratio"
	SamplerParentBasedAlwaysOn     SamplerType = "parentbased_always_on"
	SamplerParentBasedAlwaysOff    SamplerType = "parentbased_always_off"
	SamplerParentBasedTraceIDRatio SamplerType = "parentbased_traceidratio"
	// SamplerConsistentProbability is OpenTelemetry's consistent
	// probability sampler: a root keeps its trace when the trace's
	// randomness (rv, from tracestate or the trace ID) is at least the
	// threshold of Ratio, and records the threshold as ot=th in tracestate;
	// descendants follow the parent.
	SamplerConsistentProbability SamplerType = "consistent_probability"
)

// known reports whether t is one of the samplers above.
func (t SamplerType) known() bool { return slices.Contains(SamplerTypes, t) }

// usesRatio reports whether t takes a ratio.
func (t SamplerType) usesRatio() bool {
	return t == SamplerTraceIDRatio || t == SamplerParentBasedTraceIDRatio || t == SamplerConsistentProbability
}

// Sampler is a service's head sampler. Default parentbased_always_on.
type Sampler struct {
	Type  SamplerType
	Ratio float64 // for the traceidratio kinds
	Pos   Pos
}

// Service is one simulated (or external) service.
type Service struct {
	Name      string
	Protocol  Protocol // default http
	Instances int      // default 1
	Version   string   // resource service.version; default "1.0.0"
	// Instrumented false makes a hop that emits no span; it forwards the
	// trace headers it receives when ForwardHeaders is true (the default).
	Instrumented   bool
	ForwardHeaders bool
	Propagators    []Propagator // default [tracecontext, baggage]
	Sampler        Sampler
	Routes         []*Route // in file order
	Pos            Pos

	// External, when set, makes this a real service of the user's at that
	// URL (http, loopback): tracerig does not run it, simulated callers
	// send to it, and its routes only name what it serves. Downstream
	// lists the calls it is expected to make to simulated services (the
	// edges out of it the checks expect). An external service has no
	// instances, sampler or propagators of tracerig's.
	External   string
	Downstream []*Call
	// Launch, when set, makes this a service of the user's that tracerig
	// starts itself (a container image or a command), on a port of the
	// run's, and stops with the run. In every other way it is external:
	// its routes only name what it serves, Downstream lists its calls,
	// and the checks judge how it treated the trace.
	Launch *Launch
	// Port, when set, is the fixed loopback port of a simulated service's
	// single instance, so a real service can be configured to call it.
	Port int
}

// IsExternal reports whether s is a service of the user's, one tracerig
// does not simulate: at a URL (External) or started by tracerig (Launch).
func (s *Service) IsExternal() bool { return s.External != "" || s.Launch != nil }

// IsLaunched reports whether s is a service of the user's that tracerig
// starts (an image or a command node).
func (s *Service) IsLaunched() bool { return s.Launch != nil }

// ExternalAddr returns the host:port of an external service's URL, or ""
// for a launched service (its address is the run's) and for a URL that
// holds environment references (see Topology.Expand).
func (s *Service) ExternalAddr() string {
	if s.Launch != nil || hasReference(s.External) {
		return ""
	}
	u, err := url.Parse(s.External)
	if err != nil {
		return ""
	}
	return u.Host
}

// Launch says how tracerig starts a service of the user's.
type Launch struct {
	// Image is a container image (a local tag, or one the engine can
	// pull); Command, with an image, replaces the image's CMD (the
	// arguments of its entrypoint, when it has one).
	// Without an image, Command is the program and its arguments, run on
	// this machine. In both, "{port}" in Command and in Env values is
	// replaced by the port the node serves on.
	Image   string
	Command []string
	// Env is added to the node's environment, in file order; values may
	// hold ${VAR} references to tracerig's own environment.
	Env []EnvVar
	// Port is the port the node serves its protocol on: inside the
	// container for an image (required); for a command, a fixed loopback
	// port, or 0 for a free one picked for the run.
	Port int
	// Wait is how tracerig knows the node is ready.
	Wait Wait
	// CallsEnv names, per callee, a variable of the node's environment
	// that receives the callee's address (beside TRACERIG_ADDR_<SERVICE>).
	CallsEnv []EnvVar // Name: the callee service; Value: the variable's name
	Pos      Pos
}

// IsImage reports whether l runs a container image.
func (l *Launch) IsImage() bool { return l.Image != "" }

// EnvVar is one NAME=VALUE pair.
type EnvVar struct {
	Name, Value string
}

// Wait is a launched node's readiness check. With none of HTTP, Port or
// Log set, the node is ready when its service port accepts connections.
type Wait struct {
	HTTP    string        // a path that answers 2xx or 3xx on the service port
	Port    int           // a port that accepts connections (inside the container, for an image)
	Log     string        // a text that appears in the node's output
	Timeout time.Duration // default DefaultWaitTimeout
	Pos     Pos
}

// Route returns the route with the given name, or nil.
func (s *Service) Route(name string) *Route {
	for _, r := range s.Routes {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Route is one operation a service serves: "GET /checkout" for HTTP,
// "shop.Payment/Charge" (service/method) for gRPC.
type Route struct {
	Name    string
	Latency Latency
	Errors  Errors
	Calls   []Step // run in order
	// Consume, when set, makes the route a consumer of a topic: messages
	// run it, not requests.
	Consume *Consume
	Pos     Pos
}

// Dist names a latency distribution.
type Dist string

// Distributions.
const (
	DistConstant  Dist = "constant"
	DistUniform   Dist = "uniform"
	DistNormal    Dist = "normal"
	DistLognormal Dist = "lognormal"
	DistPareto    Dist = "pareto" // heavy tail: Min / U^(1/Alpha)
)

// Latency is the time a route spends on its own work, before its calls.
// The {p50, p99} form becomes a lognormal with median p50 and 99th
// percentile p99: Mu = ln(p50), Sigma = ln(p99/p50) / 2.3263.
type Latency struct {
	Dist   Dist
	Value  time.Duration // constant
	Min    time.Duration // uniform, pareto
	Max    time.Duration // uniform
	Mean   time.Duration // normal
	StdDev time.Duration // normal
	P50    time.Duration // lognormal, as written
	P99    time.Duration // lognormal, as written
	Alpha  float64       // pareto shape; Min is its scale
	Pos    Pos
}

// Errors makes a route fail at a rate.
type Errors struct {
	Rate       float64 // 0..1
	HTTPStatus int     // default 500
	GRPCCode   uint32  // default 13 (Internal)
	Pos        Pos
}

// StepKind says which of its fields a Step uses.
type StepKind uint8

// Step kinds.
const (
	StepCall StepKind = iota
	StepSequence
	StepParallel
	StepPublish
)

// Step is one node of a route's call tree: exactly one call, one message
// published, a sequence of steps run in order, or a parallel group of steps
// run together.
type Step struct {
	Kind    StepKind
	Call    *Call    // StepCall
	Publish *Publish // StepPublish
	Steps   []Step   // StepSequence, StepParallel
	Pos     Pos
}

// Call is a request from a route to another service's route.
type Call struct {
	Service string
	Route   string
	Timeout time.Duration // 0: none
	Retries int           // extra attempts after a failure
	Backoff time.Duration // before the first retry, doubled each time; default 10ms
	Pos     Pos
}
