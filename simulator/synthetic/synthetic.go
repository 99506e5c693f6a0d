// Package synthetic builds OTLP trace batches shaped by a topology directly
// as OTLP protobuf (or as pdata, for reference), without running any
// service or going through an SDK's span pipeline, and exports them over
// OTLP/gRPC or OTLP/HTTP as fast as a sink takes them or at a target rate
// of spans per second, sampling the rate, the export queue and the
// failures over time.
//
// Every trace is a pure function of (seed, seq): its trace ID, span IDs,
// instances, latencies and errors all derive from the generator's seed and
// the trace's sequence number, so a read-back recomputes what was sent with
// Expect instead of keeping a ledger. The generator retains no per-span or
// per-trace state: memory stays flat over any run length.
//
// A topology's asynchronous edges are built as the in-process runtime's
// spans are: a producer span per message published, and per consumer
// group a consumer span that links to the message, under its producer
// span (mode parent) or in a trace of its own (mode link), with the
// consume route's work under it. A group that takes batches runs once per
// batch of consecutive requests of a shard, with the batch's last request
// (batch.go). The traces of their own that consumers start are functions
// of (seed, seq, shard count) too; ExpectSent recomputes them. A builder
// holds only the batch each group is filling.
package synthetic

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// netDelay is the synthetic one-way network time between a client span and
// the server span it causes.
const netDelay = 50 * time.Microsecond

// ScopeName is the instrumentation scope of every synthetic span.
const ScopeName = "github.com/tracerig/tracerig/simulator/synthetic"

// Generator builds traces shaped by one topology. It is immutable after New
// and safe for concurrent use; each goroutine builds through its own Builder.
type Generator struct {
	seed    uint64
	loMask  uint64 // trace ID low half = seq ^ loMask
	hiSalt  uint64
	entries []*routeInfo
	weights []float64 // cumulative, over entries
	res     []pcommon.Resource
	resEnc  [][]byte // res[i] encoded as ResourceSpans.resource (field 1, with tag)
	// batched are the consumer groups that take batches, upstream first.
	batched []*groupInfo
	// chunk is how many consecutive traces of its shard a builder of Run
	// claims at once: a multiple of every batch, when one is small enough,
	// so that a builder holds the whole of each batch it completes.
	chunk int
}

type svcInfo struct {
	name      string
	instr     bool
	grpc      bool
	instances int
	firstRes  int // index of instance 0 in Generator.res
}

type attr struct {
	key   string
	str   string
	num   int64
	isInt bool
}

type routeInfo struct {
	svc     *svcInfo
	name    string
	latency topology.Latency
	errRate float64
	errHTTP int64
	errGRPC int64
	steps   []step
	attrs   []attr // server span, without the status attribute
	enc     []byte // attrs as encoded Span.attributes fields
}

type step struct {
	kind  topology.StepKind
	call  *callInfo
	topic *topicInfo // StepPublish; nil when it closes a cycle
	steps []step
}

type callInfo struct {
	callee  *routeInfo // nil when the call closes a cycle or names nothing
	retries int
	backoff time.Duration
	timeout time.Duration
	name    string
	attrs   []attr // client span, without the status attribute
	enc     []byte // attrs as encoded Span.attributes fields
}

// Options configure a Generator.
type Options struct {
	Seed uint64
	// Entries are the entry routes with their weights; empty means every
	// entry route of the topology, weight 1 each.
	Entries []topology.Target
	// RunID, when not 0, is the run's ID, which every resource carries as
	// tracerig.run.id (16 hex digits).
	RunID uint64
	// IsolateIDs derives trace and span IDs from RunID as well as Seed, so
	// no two runs with one seed share an ID in a backend they share; the
	// rest of a trace (shape, instances, latencies, errors) still derives
	// from Seed alone. Without it the IDs derive from Seed alone.
	IsolateIDs bool
	// ExtraAttrs adds this many constant string attributes (20 bytes of
	// value each) to every span: a knob for measuring attribute cost.
	ExtraAttrs int
}

// New compiles t into a Generator.
func New(t *topology.Topology, o Options) (*Generator, error) {
	ids := o.Seed
	if o.IsolateIDs {
		ids = mix64(o.Seed ^ mix64(o.RunID+0x2545f4914f6cdd1d))
	}
	g := &Generator{seed: o.Seed, loMask: mix64(ids ^ 0x5bd1e9955bd1e995), hiSalt: mix64(ids + 0x9e3779b97f4a7c15)}
	c := &routeCompiler{
		t:           t,
		extra:       o.ExtraAttrs,
		svcs:        g.addServices(t, o.RunID),
		routes:      map[topology.RouteRef]*routeInfo{},
		onPath:      map[topology.RouteRef]bool{},
		topics:      map[string]*topicInfo{},
		topicOnPath: map[string]bool{},
	}
	if err := g.addEntries(c, o.Entries); err != nil {
		return nil, err
	}
	g.addBatched(c.groups)
	return g, nil
}

// addServices adds the resource of every instance of t's services, with
// the run's ID when not 0, and returns the services by name.
func (g *Generator) addServices(t *topology.Topology, runID uint64) map[string]*svcInfo {
	svcs := map[string]*svcInfo{}
	for _, s := range t.Services {
		n := max(s.Instances, 1)
		si := &svcInfo{name: s.Name, instr: s.Instrumented, grpc: s.Protocol == topology.ProtocolGRPC, instances: n, firstRes: len(g.res)}
		svcs[s.Name] = si
		version := s.Version
		if version == "" {
			version = "1.0.0"
		}
		for i := range n {
			r := pcommon.NewResource()
			a := r.Attributes()
			a.PutStr("service.name", s.Name)
			a.PutStr("service.instance.id", s.Name+"-"+strconv.Itoa(i))
			a.PutStr("service.version", version)
			a.PutStr("telemetry.sdk.name", "tracerig-synthetic")
			a.PutStr("telemetry.sdk.language", "go")
			if runID != 0 {
				a.PutStr(record.RunIDKey, fmt.Sprintf("%016x", runID))
			}
			g.res = append(g.res, r)
			g.resEnc = append(g.resEnc, encodeResource(r))
		}
	}
	return svcs
}

// addEntries compiles the entry routes of targets, or every entry route
// of c's topology (weight 1 each) without any, with their cumulative
// weights.
func (g *Generator) addEntries(c *routeCompiler, targets []topology.Target) error {
	if len(targets) == 0 {
		for _, ref := range c.t.EntryRoutes() {
			targets = append(targets, topology.Target{Service: ref.Service, Route: ref.Route, Weight: 1})
		}
	}
	sum := 0.0
	for _, tg := range targets {
		ri := c.route(topology.RouteRef{Service: tg.Service, Route: tg.Route})
		if ri == nil {
			return errors.New("synthetic: no route " + tg.Service + " " + tg.Route)
		}
		w := tg.Weight
		if w <= 0 {
			w = 1
		}
		sum += w
		g.entries = append(g.entries, ri)
		g.weights = append(g.weights, sum)
	}
	if len(g.entries) == 0 {
		return errors.New("synthetic: the topology has no entry route")
	}
	for i := range g.weights {
		g.weights[i] /= sum
	}
	return nil
}

// routeCompiler compiles the routes of a topology, each once, with the
// routes they call and the topics they publish to.
type routeCompiler struct {
	t           *topology.Topology
	extra       int // constant attributes added to every span
	svcs        map[string]*svcInfo
	routes      map[topology.RouteRef]*routeInfo
	onPath      map[topology.RouteRef]bool // the routes being compiled
	topics      map[string]*topicInfo
	topicOnPath map[string]bool // the topics being compiled
	groups      []*groupInfo    // every group, after those its runs publish to
}

// route returns the compiled route ref; nil when it names nothing or
// closes a cycle.
func (c *routeCompiler) route(ref topology.RouteRef) *routeInfo {
	if ri, ok := c.routes[ref]; ok {
		return ri
	}
	s := c.t.Service(ref.Service)
	if s == nil || c.onPath[ref] {
		return nil
	}
	r := s.Route(ref.Route)
	if r == nil {
		return nil
	}
	c.onPath[ref] = true
	defer delete(c.onPath, ref)
	si := c.svcs[s.Name]
	ri := &routeInfo{svc: si, name: r.Name, latency: r.Latency, errRate: r.Errors.Rate,
		errHTTP: int64(r.Errors.HTTPStatus), errGRPC: int64(r.Errors.GRPCCode)}
	if ri.errHTTP == 0 {
		ri.errHTTP = 500
	}
	if ri.errGRPC == 0 {
		ri.errGRPC = 13
	}
	ri.attrs = append(serverAttrs(si, r.Name), extra(c.extra)...)
	ri.enc = encodeAttrs(nil, 9, ri.attrs)
	ri.steps = c.steps(r.Calls)
	c.routes[ref] = ri
	return ri
}

// steps compiles the steps of a route.
func (c *routeCompiler) steps(in []topology.Step) []step {
	out := make([]step, 0, len(in))
	for _, st := range in {
		switch st.Kind {
		case topology.StepCall:
			if st.Call == nil {
				continue
			}
			out = append(out, step{kind: topology.StepCall, call: c.call(st.Call)})
		case topology.StepPublish:
			if st.Publish == nil {
				continue
			}
			out = append(out, step{kind: topology.StepPublish, topic: c.topic(st.Publish.Topic)})
		default:
			out = append(out, step{kind: st.Kind, steps: c.steps(st.Steps)})
		}
	}
	return out
}

// call compiles a call and the route it calls.
func (c *routeCompiler) call(cl *topology.Call) *callInfo {
	ci := &callInfo{retries: cl.Retries, backoff: cl.Backoff, timeout: cl.Timeout, name: cl.Route}
	if ci.backoff == 0 {
		ci.backoff = 10 * time.Millisecond
	}
	ci.callee = c.route(topology.RouteRef{Service: cl.Service, Route: cl.Route})
	ci.attrs = append(clientAttrs(c.svcs[cl.Service], cl.Service, cl.Route), extra(c.extra)...)
	ci.enc = encodeAttrs(nil, 9, ci.attrs)
	return ci
}

// ScenarioOption overrides a scenario's settings for the Generator
// ForScenario returns; the scenario itself is left as it is.
type ScenarioOption func(*Options)

// WithSeed replaces the scenario's seed; 0 keeps the scenario's.
func WithSeed(seed uint64) ScenarioOption {
	return func(o *Options) {
		if seed != 0 {
			o.Seed = seed
		}
	}
}

// WithRunID gives the run's ID to every resource and, with isolate, to the
// trace and span IDs (Options.RunID, Options.IsolateIDs); 0 gives none.
func WithRunID(id uint64, isolate bool) ScenarioOption {
	return func(o *Options) { o.RunID, o.IsolateIDs = id, isolate && id != 0 }
}

// ForScenario returns a Generator for a scenario: its topology, seed, and
// the entry routes (with weights) of all its load entries; every entry
// route of the topology when the scenario has no load.
func ForScenario(sc *topology.Scenario, opts ...ScenarioOption) (*Generator, error) {
	var targets []topology.Target
	for _, l := range sc.Load {
		targets = append(targets, l.Targets...)
	}
	o := Options{Seed: sc.Seed, Entries: targets}
	for _, opt := range opts {
		opt(&o)
	}
	return New(sc.Topology, o)
}

func extra(n int) []attr {
	out := make([]attr, n)
	for i := range out {
		out[i] = attr{key: "tracerig.extra." + strconv.Itoa(i), str: "value-0123456789-abc"}
	}
	return out
}

func httpMethodPath(route string) (method, path string) {
	for i := 0; i < len(route); i++ {
		if route[i] == ' ' {
			return route[:i], route[i+1:]
		}
	}
	return "GET", route
}

func rpcServiceMethod(route string) (svc, method string) {
	for i := len(route) - 1; i >= 0; i-- {
		if route[i] == '/' {
			return route[:i], route[i+1:]
		}
	}
	return route, ""
}

func serverAttrs(s *svcInfo, route string) []attr {
	if s.grpc {
		svc, m := rpcServiceMethod(route)
		return []attr{{key: "rpc.system", str: "grpc"}, {key: "rpc.service", str: svc}, {key: "rpc.method", str: m},
			{key: "server.address", str: s.name}, {key: "server.port", num: 50051, isInt: true}}
	}
	m, p := httpMethodPath(route)
	return []attr{{key: "http.request.method", str: m}, {key: "http.route", str: p}, {key: "url.path", str: p},
		{key: "url.scheme", str: "http"}, {key: "server.address", str: s.name}, {key: "server.port", num: 8080, isInt: true},
		{key: "network.protocol.version", str: "1.1"}}
}

func clientAttrs(callee *svcInfo, service, route string) []attr {
	if callee != nil && callee.grpc {
		svc, m := rpcServiceMethod(route)
		return []attr{{key: "rpc.system", str: "grpc"}, {key: "rpc.service", str: svc}, {key: "rpc.method", str: m},
			{key: "server.address", str: service}, {key: "server.port", num: 50051, isInt: true}}
	}
	m, p := httpMethodPath(route)
	return []attr{{key: "http.request.method", str: m}, {key: "server.address", str: service},
		{key: "server.port", num: 8080, isInt: true}, {key: "url.full", str: "http://" + service + ":8080" + p},
		{key: "network.protocol.version", str: "1.1"}}
}

// mix64 is splitmix64's finalizer: a bijection of uint64 that scatters bits.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Seed returns the seed every trace derives from.
func (g *Generator) Seed() uint64 { return g.seed }

// TraceID returns the trace ID of trace seq. Its low half is seq masked
// with a value derived from the seed, so SeqOf inverts it.
func (g *Generator) TraceID(seq uint64) record.TraceID {
	lo := seq ^ g.loMask
	hi := mix64(lo ^ g.hiSalt)
	if hi == 0 {
		hi = 1
	}
	var t record.TraceID
	binary.BigEndian.PutUint64(t[:8], hi)
	binary.BigEndian.PutUint64(t[8:], lo)
	return t
}

// SeqOf returns the sequence number of a request's trace ID this generator
// made, and false for any other trace ID, a consumer's own trace's
// included.
func (g *Generator) SeqOf(t record.TraceID) (uint64, bool) {
	lo := binary.BigEndian.Uint64(t[8:])
	seq := lo ^ g.loMask
	return seq, g.TraceID(seq) == t
}

// spanID returns the span ID of the i-th span (pre-order) of the trace
// whose ID's high half is hi.
func spanID(hi uint64, i int) [8]byte {
	v := mix64(hi ^ (uint64(i+1) * 0x9e3779b97f4a7c15))
	if v == 0 {
		v = 1
	}
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], v)
	return s
}
