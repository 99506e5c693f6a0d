package scenarios

// The generator of the verdict-accuracy suite: a topology drawn from a
// seed, every fault kind planted in a random place of it where its effect
// can be seen, and the scenario of each written as YAML for the project's
// own parser.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// genService is one service of a generated topology.
type genService struct {
	name      string
	grpc      bool
	instances int
	// proxy is an uninstrumented hop that forwards trace headers.
	proxy  bool
	props  []topology.Propagator // nil: the default [tracecontext, baggage]
	routes []*genRoute
	level  int
}

// genRoute is one route of a generated service.
type genRoute struct {
	name    string
	latency string // a YAML latency form
	steps   []genStep
}

// genStep is a call, or a parallel or sequence group of steps.
type genStep struct {
	call  *genCall
	group string // "parallel" or "sequence" when call is nil
	steps []genStep
}

// genCall is a call from a route to another service's route.
type genCall struct {
	from    *genService
	to      *genService
	route   *genRoute
	timeout time.Duration // 0: none
	retries int
}

// genTopology is a generated topology.
type genTopology struct {
	name     string
	services []*genService
	entry    *genService
	depth    int
}

// Propagator sets a generated service draws from; nil is the default
// [tracecontext, baggage], left out of the YAML.
var genPropSets = [][]topology.Propagator{
	nil, nil,
	{topology.PropTraceContext},
	{topology.PropB3},
	{topology.PropB3Multi},
	{topology.PropJaeger},
	{topology.PropTraceContext, topology.PropB3},
	{topology.PropB3Multi, topology.PropBaggage},
	{topology.PropJaeger, topology.PropTraceContext},
	{topology.PropB3, topology.PropJaeger},
}

var genNames = []string{
	"gateway", "api", "cart", "stock", "price", "auth", "users", "search",
	"ledger", "mail", "audit", "media", "quote", "rates", "geo", "risk",
}

// Trace formats on the wire, as the accuracy model sees them.
type genWire uint8

const (
	wireTraceparent genWire = 1 << iota
	wireB3Single
	wireB3Multi
	wireJaeger
)

// propsOf returns s's propagators, defaulted.
func (s *genService) propsOf() []topology.Propagator {
	if s.props == nil {
		return []topology.Propagator{topology.PropTraceContext, topology.PropBaggage}
	}
	return s.props
}

// genInjects returns the trace headers a propagator set writes.
func genInjects(props []topology.Propagator) genWire {
	var w genWire
	for _, p := range props {
		switch p {
		case topology.PropTraceContext:
			w |= wireTraceparent
		case topology.PropB3:
			w |= wireB3Single
		case topology.PropB3Multi:
			w |= wireB3Multi
		case topology.PropJaeger:
			w |= wireJaeger
		}
	}
	return w
}

// genReads returns the trace headers a propagator set extracts: either B3
// propagator reads both B3 encodings.
func genReads(props []topology.Propagator) genWire {
	var w genWire
	for _, p := range props {
		switch p {
		case topology.PropTraceContext:
			w |= wireTraceparent
		case topology.PropB3, topology.PropB3Multi:
			w |= wireB3Single | wireB3Multi
		case topology.PropJaeger:
			w |= wireJaeger
		}
	}
	return w
}

// genHeaderNames names the headers of w as strip-headers and duplicate-header
// take them.
func genHeaderNames(w genWire) []string {
	var out []string
	if w&wireTraceparent != 0 {
		out = append(out, topology.HeaderTraceparent)
	}
	if w&wireB3Single != 0 {
		out = append(out, topology.HeaderB3)
	}
	if w&wireB3Multi != 0 {
		out = append(out, topology.HeaderB3Multi)
	}
	if w&wireJaeger != 0 {
		out = append(out, topology.HeaderJaeger)
	}
	return out
}

// calls returns every call s's routes make, in route and step order.
func (s *genService) calls() []*genCall {
	var out []*genCall
	var walk func([]genStep)
	walk = func(steps []genStep) {
		for _, st := range steps {
			if st.call != nil {
				out = append(out, st.call)
			}
			walk(st.steps)
		}
	}
	for _, r := range s.routes {
		walk(r.steps)
	}
	return out
}

// callees returns the services s calls, once each.
func (s *genService) callees() []*genService {
	var out []*genService
	for _, c := range s.calls() {
		if !slices.Contains(out, c.to) {
			out = append(out, c.to)
		}
	}
	return out
}

// callsInto returns every call to s.
func (g *genTopology) callsInto(s *genService) []*genCall {
	var out []*genCall
	for _, x := range g.services {
		for _, c := range x.calls() {
			if c.to == s {
				out = append(out, c)
			}
		}
	}
	return out
}

// callers returns the services that call s, once each.
func (g *genTopology) callers(s *genService) []*genService {
	var out []*genService
	for _, c := range g.callsInto(s) {
		if !slices.Contains(out, c.from) {
			out = append(out, c.from)
		}
	}
	return out
}

// edges returns every call edge, once each.
func (g *genTopology) edges() [][2]*genService {
	var out [][2]*genService
	for _, s := range g.services {
		for _, t := range s.callees() {
			out = append(out, [2]*genService{s, t})
		}
	}
	return out
}

// effectiveEdges returns the caller → callee pairs of instrumented services
// whose context must connect: direct calls, and calls through a proxy.
func (g *genTopology) effectiveEdges() [][2]*genService {
	var out [][2]*genService
	add := func(a, b *genService) {
		if !slices.Contains(out, [2]*genService{a, b}) {
			out = append(out, [2]*genService{a, b})
		}
	}
	for _, s := range g.services {
		if s.proxy {
			continue
		}
		for _, c := range s.calls() {
			if !c.to.proxy {
				add(s, c.to)
				continue
			}
			for _, cc := range c.to.calls() {
				if cc.from == c.to && genRouteCalls(c.route, cc) {
					add(s, cc.to)
				}
			}
		}
	}
	return out
}

// genRouteCalls reports whether route r makes call c.
func genRouteCalls(r *genRoute, c *genCall) bool {
	found := false
	var walk func([]genStep)
	walk = func(steps []genStep) {
		for _, st := range steps {
			found = found || st.call == c
			walk(st.steps)
		}
	}
	walk(r.steps)
	return found
}

// neighbours returns s and the services it exchanges trace context with:
// its callers and callees, and across a proxy the services beyond it.
func (g *genTopology) neighbours(s *genService) map[string]bool {
	out := map[string]bool{s.name: true}
	for _, x := range g.callers(s) {
		out[x.name] = true
		if x.proxy {
			for _, y := range g.callers(x) {
				out[y.name] = true
			}
		}
	}
	for _, y := range s.callees() {
		out[y.name] = true
		if y.proxy {
			for _, z := range y.callees() {
				out[z.name] = true
			}
		}
	}
	return out
}

// genTopologyOf draws a topology from seed: 2 to 4 levels, each service calling
// 1 to 3 services of the next level (a shared callee now and then), calls
// arranged in parallel groups and sequences, HTTP and gRPC, one or two
// instances, propagator sets made compatible on every edge, a latency of a
// few milliseconds, no error rate, and sometimes one uninstrumented hop that
// forwards headers.
func genTopologyOf(seed uint64) *genTopology {
	r := rand.New(rand.NewPCG(seed, 0x70b0))
	g := &genTopology{name: fmt.Sprintf("accuracy-%d", seed), depth: 2 + r.IntN(3)}
	names := slices.Clone(genNames)
	r.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	const budget = 7
	newService := func(level int) *genService {
		s := &genService{name: names[len(g.services)], level: level, instances: 1}
		if level > 0 && r.IntN(2) == 0 {
			s.grpc = true
		}
		if r.IntN(10) < 3 {
			s.instances = 2
		}
		s.props = genPropSets[r.IntN(len(genPropSets))]
		s.routes = []*genRoute{{name: s.routeName(0), latency: genLatency(r)}}
		g.services = append(g.services, s)
		return s
	}
	g.entry = newService(0)
	g.entry.grpc = false
	// A spine reaches the full depth; the rest of the fan-out hangs off it.
	spine := []*genService{g.entry}
	for l := 1; l < g.depth; l++ {
		spine = append(spine, newService(l))
	}
	for i := 0; i < len(g.services); i++ { // grows while it runs
		s := g.services[i]
		if s.level == g.depth-1 {
			continue
		}
		var targets []*genService
		if i < len(spine)-1 && s == spine[s.level] {
			targets = append(targets, spine[s.level+1])
		}
		fan := 1 + r.IntN(3)
		for len(targets) < fan {
			var shared []*genService
			for _, t := range g.services {
				if t.level == s.level+1 && !slices.Contains(targets, t) {
					shared = append(shared, t)
				}
			}
			switch {
			case len(shared) > 0 && (r.IntN(5) == 0 || len(g.services) >= budget):
				targets = append(targets, shared[r.IntN(len(shared))])
			case len(g.services) < budget:
				targets = append(targets, newService(s.level+1))
			}
			if len(g.services) >= budget && len(shared) == 0 {
				break
			}
		}
		var calls []*genCall
		for _, t := range targets {
			route := t.routes[0]
			if len(g.callsInto(t)) > 0 && r.IntN(2) == 0 {
				// A second caller of a shared callee calls a route of
				// its own, a leaf.
				route = &genRoute{name: t.routeName(len(t.routes)), latency: genLatency(r)}
				t.routes = append(t.routes, route)
			}
			c := &genCall{from: s, to: t, route: route}
			if r.IntN(10) < 4 {
				c.timeout = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second}[r.IntN(3)]
			}
			if r.IntN(5) == 0 {
				c.retries = 1
			}
			calls = append(calls, c)
		}
		s.routes[0].steps = genArrange(r, calls)
	}
	// Now and then one service other than the entry is an uninstrumented
	// hop forwarding headers (one at most, so no two are adjacent).
	if r.IntN(10) < 4 {
		g.services[1+r.IntN(len(g.services)-1)].proxy = true
	}
	g.connect()
	return g
}

// connect adds formats to callees until every effective edge shares one:
// the caller injects a format the callee reads. Adding only ever widens a
// service's formats, so it ends.
func (g *genTopology) connect() {
	for changed := true; changed; {
		changed = false
		for _, e := range g.effectiveEdges() {
			a, b := e[0], e[1]
			if genInjects(a.propsOf())&genReads(b.propsOf()) != 0 {
				continue
			}
			for _, p := range a.propsOf() {
				if genInjects([]topology.Propagator{p}) != 0 {
					b.props = append(slices.Clone(b.propsOf()), p)
					changed = true
					break
				}
			}
		}
	}
}

// routeName returns the name of route i of s.
func (s *genService) routeName(i int) string {
	if s.grpc {
		svc := strings.ToUpper(s.name[:1]) + s.name[1:]
		return fmt.Sprintf("acc.%s/Call%d", svc, i)
	}
	if i == 0 {
		return "GET /" + s.name
	}
	return fmt.Sprintf("POST /%s/%d", s.name, i)
}

// genLatency draws a latency of a few milliseconds in one of the forms.
func genLatency(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("%dms", 1+r.IntN(4))
	case 1:
		return "{dist: uniform, min: 1ms, max: 4ms}"
	}
	return "{p50: 2ms, p99: 5ms}"
}

// genArrange orders calls into steps: one after the other, all together, or a
// parallel group whose first member is a sequence.
func genArrange(r *rand.Rand, calls []*genCall) []genStep {
	if len(calls) == 1 {
		if r.IntN(5) == 0 {
			return []genStep{{group: "sequence", steps: []genStep{{call: calls[0]}}}}
		}
		return []genStep{{call: calls[0]}}
	}
	var each []genStep
	for _, c := range calls {
		each = append(each, genStep{call: c})
	}
	switch r.IntN(3) {
	case 0:
		return each
	case 1:
		return []genStep{{group: "parallel", steps: each}}
	}
	split := 1 + r.IntN(len(calls)-1)
	par := genStep{group: "parallel", steps: []genStep{{group: "sequence", steps: each[:split]}}}
	par.steps = append(par.steps, each[split:]...)
	return []genStep{par}
}

// writeYAML writes the topology as the value of a "topology:" key at indent.
func (g *genTopology) writeYAML(b *strings.Builder, indent string) {
	fmt.Fprintf(b, "%sname: %s\n", indent, g.name)
	fmt.Fprintf(b, "%sservices:\n", indent)
	for _, s := range g.services {
		in := indent + "  "
		fmt.Fprintf(b, "%s%s:\n", in, s.name)
		in += "  "
		if s.grpc {
			fmt.Fprintf(b, "%sprotocol: grpc\n", in)
		}
		if s.instances != 1 {
			fmt.Fprintf(b, "%sinstances: %d\n", in, s.instances)
		}
		if s.proxy {
			fmt.Fprintf(b, "%sinstrumented: false\n%sforward-headers: true\n", in, in)
		}
		if s.props != nil {
			fmt.Fprintf(b, "%spropagators: %s\n", in, genPropList(s.props))
		}
		fmt.Fprintf(b, "%sroutes:\n", in)
		for _, rt := range s.routes {
			fmt.Fprintf(b, "%s  %s:\n", in, rt.name)
			fmt.Fprintf(b, "%s    latency: %s\n", in, rt.latency)
			if len(rt.steps) > 0 {
				fmt.Fprintf(b, "%s    calls:\n", in)
				genWriteSteps(b, rt.steps, in+"      ")
			}
		}
	}
}

// genPropList renders propagators as a YAML flow list.
func genPropList(props []topology.Propagator) string {
	names := make([]string, len(props))
	for i, p := range props {
		names[i] = string(p)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// genWriteSteps writes steps as a YAML list at indent.
func genWriteSteps(b *strings.Builder, steps []genStep, indent string) {
	for _, st := range steps {
		if st.call == nil {
			fmt.Fprintf(b, "%s- %s:\n", indent, st.group)
			genWriteSteps(b, st.steps, indent+"    ")
			continue
		}
		c := st.call
		fmt.Fprintf(b, "%s- %s: %s\n", indent, c.to.name, c.route.name)
		if c.timeout > 0 {
			fmt.Fprintf(b, "%s  timeout: %s\n", indent, c.timeout)
		}
		if c.retries > 0 {
			fmt.Fprintf(b, "%s  retries: %d\n", indent, c.retries)
		}
	}
}

// service returns the generated service called name.
func (g *genTopology) service(name string) *genService {
	for _, s := range g.services {
		if s.name == name {
			return s
		}
	}
	return nil
}

// genCase is one scenario of the suite: a fault planted in a generated
// topology, or none for the clean twin.
type genCase struct {
	seed    uint64
	topo    *genTopology
	kind    topology.FaultKind // "" for the clean twin
	variant string             // how this placement differs from the kind's usual one
	load    time.Duration
	faults  []genFault
	expects []string // expect list items, YAML flow mappings
	// scope holds, per fault number, the services a finding explained by
	// that fault may name (nil: any, for the pipeline faults).
	scope map[int]map[string]bool
}

// genFault is one planted fault.
type genFault struct {
	at, dur time.Duration // dur 0: no "for"
	kind    topology.FaultKind
	params  string // the kind's YAML flow mapping
}

// Timeline of a case: a short load with the fault window inside it and a
// second of traffic more than the 2 s grace after it. The pipeline faults
// open earlier, so enough spans end outside their longer graces; an
// exporter outage outlasts the exporters' 3 s of retries.
const (
	accRate      = "20/s"
	accLoad      = 5 * time.Second
	accAt        = time.Second
	accFor       = 1200 * time.Millisecond
	accEarlyAt   = 800 * time.Millisecond
	accOutageFor = 4 * time.Second
	accOutageRun = 7 * time.Second
)

// genTwin returns the clean twin of the topology: no fault, the default checks.
func genTwin(seed uint64, g *genTopology) *genCase {
	return &genCase{seed: seed, topo: g, load: accLoad,
		expects: []string{"{propagation: {connected: true}}", "{completeness: {min: 1}}"}}
}

// genPlacer plants one kind in a case: a fault, its checks and its scope;
// false when the topology has no place where the effect can be seen.
type genPlacer func(r *rand.Rand, g *genTopology, c *genCase) bool

var genPlacers = map[topology.FaultKind]genPlacer{
	topology.FaultLatency:            genPlaceLatency,
	topology.FaultErrors:             genPlaceErrors,
	topology.FaultTimeout:            genPlaceTimeout,
	topology.FaultStripHeaders:       genPlaceStrip,
	topology.FaultCorruptTraceparent: genPlaceCorrupt,
	topology.FaultDuplicateHeader:    genPlaceHeaderObservation,
	topology.FaultTracestateOverflow: genPlaceHeaderObservation,
	topology.FaultBaggageOverflow:    genPlaceHeaderObservation,
	topology.FaultPropagatorSwitch:   genPlaceMismatch,
	topology.FaultUninstrument:       genPlaceUninstrument,
	topology.FaultClockSkew:          genPlaceSkew,
	topology.FaultExporterOutage:     genPlaceOutage,
	topology.FaultSlowBackend:        genPlaceSlowBackend,
	topology.FaultQueueOverflow:      genPlaceQueueOverflow,
	topology.FaultCrash:              genPlaceDown,
	topology.FaultRestart:            genPlaceDown,
	topology.FaultPause:              genPlacePause,
	topology.FaultPartition:          genPlacePartition,
}

// genKinds are the fault kinds the generator plants, in FaultKinds' order:
// every kind but those on asynchronous edges (broker-outage, poison), as
// its topologies have no broker; TestEveryFaultKind plants those.
func genKinds() []topology.FaultKind {
	var out []topology.FaultKind
	for _, k := range topology.FaultKinds {
		if genPlacers[k] != nil {
			out = append(out, k)
		}
	}
	return out
}

// genPlant places a fault of kind in g, drawn from seed and kind; nil when g
// has no place for it.
func genPlant(seed uint64, g *genTopology, kind topology.FaultKind) *genCase {
	r := rand.New(rand.NewPCG(seed, 0xfa17^uint64(slices.Index(topology.FaultKinds, kind)+1)<<8))
	c := &genCase{seed: seed, topo: g, kind: kind, load: accLoad, scope: map[int]map[string]bool{}}
	place := genPlacers[kind]
	if place == nil || !place(r, g, c) {
		return nil
	}
	return c
}

// genCases draws the topology of seed and plants every fault kind in
// it. A topology without a place for some kind (no edge whose callee
// depends on traceparent alone, say) is drawn again from the next stream.
func genCases(seed uint64) (*genTopology, []*genCase) {
	for attempt := uint64(0); ; attempt++ {
		g := genTopologyOf(seed + attempt<<32)
		g.name = fmt.Sprintf("accuracy-%d", seed)
		var cases []*genCase
		for _, k := range genKinds() {
			c := genPlant(seed, g, k)
			if c == nil {
				break
			}
			cases = append(cases, c)
		}
		if len(cases) == len(genKinds()) {
			return g, cases
		}
	}
}

// fault adds a fault in the usual window.
func (c *genCase) fault(kind topology.FaultKind, params string) {
	c.faults = append(c.faults, genFault{at: accAt, dur: accFor, kind: kind, params: params})
}

func (c *genCase) expect(items ...string) { c.expects = append(c.expects, items...) }

// scoped records the services findings explained by fault n may name.
func (c *genCase) scoped(n int, names ...string) {
	m := map[string]bool{}
	for _, s := range names {
		m[s] = true
	}
	c.scope[n] = m
}

func (c *genCase) scopedTo(n int, m map[string]bool) { c.scope[n] = m }

func genPick[T any](r *rand.Rand, list []T) T { return list[r.IntN(len(list))] }

// instrumented returns the services that emit spans.
func (g *genTopology) instrumented() []*genService {
	var out []*genService
	for _, s := range g.services {
		if !s.proxy {
			out = append(out, s)
		}
	}
	return out
}

// edgesWhere returns the call edges for which ok holds.
func (g *genTopology) edgesWhere(ok func(a, b *genService) bool) [][2]*genService {
	var out [][2]*genService
	for _, e := range g.edges() {
		if ok(e[0], e[1]) {
			out = append(out, e)
		}
	}
	return out
}

// genTarget adds an optional route and instance to a service target.
func genTarget(r *rand.Rand, s *genService, route bool) string {
	p := ""
	if route && r.IntN(5) < 2 {
		p += fmt.Sprintf(", route: %q", genPick(r, s.routes).name)
	}
	if s.instances > 1 && r.IntN(5) < 2 {
		p += fmt.Sprintf(", instance: %d", r.IntN(s.instances))
	}
	return p
}

func genEdgeName(a, b *genService) string { return a.name + " -> " + b.name }

func genPlaceLatency(r *rand.Rand, g *genTopology, c *genCase) bool {
	s := genPick(r, g.instrumented())
	p := fmt.Sprintf("service: %s%s", s.name, genTarget(r, s, true))
	switch n := r.IntN(10); {
	case n < 6:
		p += fmt.Sprintf(", add: %dms", 20+r.IntN(21))
	case n < 9:
		c.variant = "multiply"
		p += fmt.Sprintf(", multiply: %d", 8+r.IntN(5))
	default:
		c.variant = "replace"
		p += ", replace: {dist: uniform, min: 30ms, max: 50ms}"
	}
	c.fault(topology.FaultLatency, "{"+p+"}")
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scoped(1, s.name)
	return true
}

func genPlaceErrors(r *rand.Rand, g *genTopology, c *genCase) bool {
	s := genPick(r, g.instrumented())
	p := fmt.Sprintf("service: %s%s, rate: 0.%d", s.name, genTarget(r, s, true), 5+r.IntN(5))
	switch {
	case r.IntN(3) == 0: // the default status or code
	case s.grpc:
		p += ", code: " + genPick(r, []string{"UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"})
	default:
		p += fmt.Sprintf(", status: %d", genPick(r, []int{500, 502, 503}))
	}
	c.fault(topology.FaultErrors, "{"+p+"}")
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scoped(1, s.name)
	return true
}

// genPlaceTimeout puts a 1 ms timeout on an edge out of an instrumented
// caller, whose client spans show the failed calls.
func genPlaceTimeout(r *rand.Rand, g *genTopology, c *genCase) bool {
	es := g.edgesWhere(func(a, b *genService) bool { return !a.proxy })
	if len(es) == 0 {
		return false
	}
	e := genPick(r, es)
	c.fault(topology.FaultTimeout, fmt.Sprintf("{from: %s, to: %s, timeout: 1ms, retries: 0}", e[0].name, e[1].name))
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scoped(1, e[0].name, e[1].name)
	return true
}

// genBroken is the propagation check of a fault that breaks edges.
func genBroken(edges ...string) string {
	q := make([]string, len(edges))
	for i, e := range edges {
		q[i] = fmt.Sprintf("%q", e)
	}
	return fmt.Sprintf("{propagation: {connected: true, broken: [%s], during-fault: 1}}", strings.Join(q, ", "))
}

// genPlaceStrip strips headers between two instrumented services: all of them,
// or by name every trace header the caller writes.
func genPlaceStrip(r *rand.Rand, g *genTopology, c *genCase) bool {
	es := g.edgesWhere(func(a, b *genService) bool { return !a.proxy && !b.proxy })
	if len(es) == 0 {
		return false
	}
	e := genPick(r, es)
	p := fmt.Sprintf("from: %s, to: %s", e[0].name, e[1].name)
	if r.IntN(2) == 0 {
		names := genHeaderNames(genInjects(e[0].propsOf()))
		if r.IntN(2) == 0 {
			names = append(names, genPick(r, []string{topology.HeaderTracestate, topology.HeaderBaggage}))
		}
		c.variant = "named headers"
		p += ", headers: [" + strings.Join(names, ", ") + "]"
	}
	c.fault(topology.FaultStripHeaders, "{"+p+"}")
	c.expect("{detect: {fault: 1}}", genBroken(genEdgeName(e[0], e[1])), "{completeness: {min: 1}}")
	c.scoped(1, e[0].name, e[1].name)
	return true
}

// genPlaceCorrupt corrupts traceparent on an edge whose callee can read the
// caller's context from traceparent only.
func genPlaceCorrupt(r *rand.Rand, g *genTopology, c *genCase) bool {
	es := g.edgesWhere(func(a, b *genService) bool {
		return !a.proxy && !b.proxy && genInjects(a.propsOf())&genReads(b.propsOf()) == wireTraceparent
	})
	if len(es) == 0 {
		return false
	}
	e := genPick(r, es)
	mode := genPick(r, topology.Corruptions)
	c.variant = string(mode)
	c.fault(topology.FaultCorruptTraceparent, fmt.Sprintf("{from: %s, to: %s, mode: %s}", e[0].name, e[1].name, mode))
	c.expect("{detect: {fault: 1}}", genBroken(genEdgeName(e[0], e[1])), "{completeness: {min: 1}}")
	c.scoped(1, e[0].name, e[1].name)
	return true
}

// genPlaceHeaderObservation plants duplicate-header, tracestate-overflow or
// baggage-overflow on an edge out of an instrumented caller. The SDKs take
// the first of two values and drop an oversized tracestate or baggage
// without losing the trace context, so the trace stays connected.
func genPlaceHeaderObservation(r *rand.Rand, g *genTopology, c *genCase) bool {
	es := g.edgesWhere(func(a, b *genService) bool { return !a.proxy })
	if len(es) == 0 {
		return false
	}
	e := genPick(r, es)
	p := fmt.Sprintf("from: %s, to: %s", e[0].name, e[1].name)
	switch c.kind {
	case topology.FaultDuplicateHeader:
		h := genPick(r, genHeaderNames(genInjects(e[0].propsOf())))
		c.variant = h
		p += ", header: " + h
	case topology.FaultTracestateOverflow:
		if r.IntN(3) == 0 {
			c.variant = "bytes"
			p += fmt.Sprintf(", bytes: %d", 600+r.IntN(400))
		} else {
			p += fmt.Sprintf(", members: %d", 33+r.IntN(16))
		}
	case topology.FaultBaggageOverflow:
		if r.IntN(3) == 0 {
			c.variant = "bytes"
			p += fmt.Sprintf(", bytes: %d", 8300+r.IntN(1000))
		} else {
			p += fmt.Sprintf(", entries: %d", 181+r.IntN(80))
		}
	}
	c.fault(c.kind, "{"+p+"}")
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scoped(1, e[0].name, e[1].name)
	return true
}

// noProxyNext reports whether s is instrumented and no service it calls or
// is called by is a proxy.
func (g *genTopology) noProxyNext(s *genService) bool {
	if s.proxy {
		return false
	}
	for _, x := range append(g.callers(s), s.callees()...) {
		if x.proxy {
			return false
		}
	}
	return true
}

// genPlaceMismatch switches a service among instrumented neighbours to formats
// that break at least one edge into or out of it, and lists exactly those
// edges as broken.
func genPlaceMismatch(r *rand.Rand, g *genTopology, c *genCase) bool {
	type option struct {
		s      *genService
		props  []topology.Propagator
		broken []string
	}
	var opts []option
	for _, s := range g.services {
		if !g.noProxyNext(s) {
			continue
		}
		for _, ps := range genPropSets {
			if ps == nil {
				ps = []topology.Propagator{topology.PropTraceContext, topology.PropBaggage}
			}
			if slices.Equal(ps, s.propsOf()) {
				continue
			}
			var broken []string
			for _, x := range g.callers(s) {
				if genInjects(x.propsOf())&genReads(ps) == 0 {
					broken = append(broken, genEdgeName(x, s))
				}
			}
			for _, y := range s.callees() {
				if genInjects(ps)&genReads(y.propsOf()) == 0 {
					broken = append(broken, genEdgeName(s, y))
				}
			}
			if len(broken) > 0 {
				opts = append(opts, option{s, ps, broken})
			}
		}
	}
	if len(opts) == 0 {
		return false
	}
	o := genPick(r, opts)
	c.variant = genPropList(o.props)
	c.fault(topology.FaultPropagatorSwitch, fmt.Sprintf("{service: %s, propagators: %s}", o.s.name, genPropList(o.props)))
	c.expect("{detect: {fault: 1}}", genBroken(o.broken...), "{completeness: {min: 1}}")
	c.scopedTo(1, g.neighbours(o.s))
	return true
}

// genPlaceUninstrument takes the spans of a service with instrumented
// neighbours away. Forwarding headers keeps the trace connected when its
// callers' formats reach its callees; dropping them breaks every edge out
// of it.
func genPlaceUninstrument(r *rand.Rand, g *genTopology, c *genCase) bool {
	var cands []*genService
	for _, s := range g.services[1:] {
		if g.noProxyNext(s) {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return false
	}
	s := genPick(r, cands)
	through := true
	for _, x := range g.callers(s) {
		for _, y := range s.callees() {
			through = through && genInjects(x.propsOf())&genReads(y.propsOf()) != 0
		}
	}
	forward := through && r.IntN(2) == 0
	if len(s.callees()) == 0 {
		forward = r.IntN(10) < 7
	}
	var prop string
	switch {
	case forward:
		prop = "{propagation: {connected: true}}"
	case len(s.callees()) == 0:
		c.variant = "leaf, forward-headers: false"
		prop = "{propagation: {connected: true}}"
	default:
		c.variant = "forward-headers: false"
		var broken []string
		for _, y := range s.callees() {
			broken = append(broken, genEdgeName(s, y))
		}
		prop = genBroken(broken...)
	}
	if forward && len(s.callees()) > 0 {
		c.variant = "forwarding to callees"
	}
	c.fault(topology.FaultUninstrument, fmt.Sprintf("{service: %s, forward-headers: %t}", s.name, forward))
	c.expect("{detect: {fault: 1}}", prop, "{completeness: {min: 1}}")
	c.scopedTo(1, g.neighbours(s))
	return true
}

// genPlaceSkew skews the clock of a service that shares traces with another
// instrumented one.
func genPlaceSkew(r *rand.Rand, g *genTopology, c *genCase) bool {
	var cands []*genService
	for _, e := range g.effectiveEdges() {
		for _, s := range e {
			if !slices.Contains(cands, s) {
				cands = append(cands, s)
			}
		}
	}
	if len(cands) == 0 {
		return false
	}
	s := genPick(r, cands)
	p := "service: " + s.name + genTarget(r, s, false)
	off := time.Duration(20+r.IntN(21)) * time.Millisecond
	if r.IntN(2) == 0 {
		off = -off
	}
	switch r.IntN(5) {
	case 0:
		c.variant = "drift"
		p += fmt.Sprintf(", drift: %s", time.Duration(20+r.IntN(21))*time.Millisecond)
	case 1:
		c.variant = "offset and drift"
		p += fmt.Sprintf(", offset: %s, drift: %s", off, time.Duration(5+r.IntN(10))*time.Millisecond)
	default:
		p += fmt.Sprintf(", offset: %s", off)
	}
	c.fault(topology.FaultClockSkew, "{"+p+"}")
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scopedTo(1, g.neighbours(s))
	return true
}

func genPlaceOutage(r *rand.Rand, g *genTopology, c *genCase) bool {
	c.load = accOutageRun
	c.faults = append(c.faults, genFault{at: accAt, dur: accOutageFor, kind: topology.FaultExporterOutage, params: "{}"})
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 0.2}}")
	c.scope[1] = nil
	return true
}

func genPlaceSlowBackend(r *rand.Rand, g *genTopology, c *genCase) bool {
	c.faults = append(c.faults, genFault{at: accEarlyAt, dur: accFor, kind: topology.FaultSlowBackend,
		params: fmt.Sprintf("{delay: %dms}", 300+100*r.IntN(3))})
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scope[1] = nil
	return true
}

// genPlaceQueueOverflow shrinks a service's queue while the backend answers
// late, so the queue overflows (as the library's test plants it).
func genPlaceQueueOverflow(r *rand.Rand, g *genTopology, c *genCase) bool {
	s := genPick(r, g.instrumented())
	c.faults = append(c.faults,
		genFault{at: accEarlyAt, dur: accFor, kind: topology.FaultQueueOverflow, params: fmt.Sprintf("{service: %s, queue: %d}", s.name, 1+r.IntN(3))},
		genFault{at: accEarlyAt, dur: accFor, kind: topology.FaultSlowBackend, params: "{delay: 200ms}"})
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 0.2}}")
	c.scopedTo(1, g.neighbours(s))
	c.scope[2] = nil
	return true
}

// genPlaceDown crashes or restarts one instance of any service.
func genPlaceDown(r *rand.Rand, g *genTopology, c *genCase) bool {
	s := genPick(r, g.services)
	c.fault(c.kind, fmt.Sprintf("{service: %s, instance: %d}", s.name, r.IntN(s.instances)))
	if c.kind == topology.FaultRestart {
		// Down for a while: restarted straight back, an instance with
		// nothing queued and no request in flight shows nothing at all.
		c.faults[0].dur = genPick(r, []time.Duration{400 * time.Millisecond, 800 * time.Millisecond, accFor})
	}
	if s == g.entry {
		c.variant = strings.TrimPrefix(c.variant+", entry", ", ")
	}
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 0.5}}")
	c.scopedTo(1, g.neighbours(s))
	return true
}

// genPlacePause pauses an instance of a service an instrumented service calls,
// whose client spans show the stalled calls.
func genPlacePause(r *rand.Rand, g *genTopology, c *genCase) bool {
	var cands []*genService
	for _, s := range g.services {
		for _, x := range g.callers(s) {
			if !x.proxy && !slices.Contains(cands, s) {
				cands = append(cands, s)
			}
		}
	}
	if len(cands) == 0 {
		return false
	}
	s := genPick(r, cands)
	c.fault(topology.FaultPause, fmt.Sprintf("{service: %s, instance: %d}", s.name, r.IntN(s.instances)))
	for _, in := range g.callsInto(s) {
		if in.timeout > 0 && in.timeout < accFor {
			c.variant = "a caller times out first"
		}
	}
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scopedTo(1, g.neighbours(s))
	return true
}

// genPlacePartition cuts an edge out of an instrumented caller.
func genPlacePartition(r *rand.Rand, g *genTopology, c *genCase) bool {
	es := g.edgesWhere(func(a, b *genService) bool { return !a.proxy })
	if len(es) == 0 {
		return false
	}
	e := genPick(r, es)
	mode := genPick(r, []string{"refuse", "blackhole"})
	c.variant = mode
	if mode == "blackhole" {
		// Calls across the edge without a timeout shorter than the
		// window wait for the partition to heal, then succeed.
		for _, in := range g.callsInto(e[1]) {
			if in.from == e[0] && (in.timeout == 0 || in.timeout >= accFor) {
				c.variant = "blackhole, no timeout within the window"
			}
		}
	}
	c.fault(topology.FaultPartition, fmt.Sprintf("{from: %s, to: %s, mode: %s}", e[0].name, e[1].name, mode))
	c.expect("{detect: {fault: 1}}", "{propagation: {connected: true}}", "{completeness: {min: 1}}")
	c.scoped(1, e[0].name, e[1].name)
	return true
}

// label names the case: its kind and variant, or "clean twin".
func (c *genCase) label() string {
	switch {
	case c.kind == "":
		return "clean twin"
	case c.variant != "":
		return string(c.kind) + " (" + c.variant + ")"
	}
	return string(c.kind)
}

// yaml renders the case as a scenario file.
func (c *genCase) yaml() string {
	var b strings.Builder
	name := "clean"
	if c.kind != "" {
		name = string(c.kind)
	}
	fmt.Fprintf(&b, "# Verdict-accuracy case: seed %d, %s.\n", c.seed, c.label())
	fmt.Fprintf(&b, "# Reproduce: save as case.yaml and run go run ./cmd/tracerig run case.yaml\n")
	fmt.Fprintf(&b, "name: accuracy-%d-%s\n", c.seed, name)
	fmt.Fprintf(&b, "description: %q\n", "generated verdict-accuracy case: "+c.label())
	fmt.Fprintf(&b, "seed: %d\n", c.seed)
	fmt.Fprintf(&b, "load:\n  - route: %s %s\n    rate: %s\n    duration: %s\n", c.topo.entry.name, c.topo.entry.routes[0].name, accRate, c.load)
	b.WriteString("topology:\n")
	c.topo.writeYAML(&b, "  ")
	if len(c.faults) > 0 {
		b.WriteString("faults:\n")
		for _, f := range c.faults {
			fmt.Fprintf(&b, "  - at: %s\n", f.at)
			if f.dur > 0 {
				fmt.Fprintf(&b, "    for: %s\n", f.dur)
			}
			fmt.Fprintf(&b, "    %s: %s\n", f.kind, f.params)
		}
	}
	b.WriteString("expect:\n")
	for _, e := range c.expects {
		fmt.Fprintf(&b, "  - %s\n", strings.TrimSuffix(strings.TrimPrefix(e, "{"), "}"))
	}
	return b.String()
}
