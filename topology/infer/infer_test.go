package infer

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// build feeds n requests of the known system, one every 10ms, to a
// Builder, one trace at a time with FlushTrace.
func build(t testing.TB, n int) *Result {
	g := newGen(7)
	b := NewBuilder(Options{Name: "shop"})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := range n {
		g.spans = g.spans[:0]
		g.request(start + int64(i)*int64(10*time.Millisecond))
		for k := range g.spans {
			b.Add(&g.spans[k])
		}
		b.FlushTrace(g.trace)
	}
	res, err := b.Result()
	if err != nil {
		t.Fatalf("Result: %v\n%s", err, res.Topology)
	}
	return res
}

func TestInferKnownSystem(t *testing.T) {
	const n = 5000
	res := build(t, n)
	topo, err := topology.ParseTopology("topology.yaml", res.Topology)
	if err != nil {
		t.Fatalf("ParseTopology: %v\n%s", err, res.Topology)
	}
	sc, err := topology.ParseScenario("scenario.yaml", res.Scenario, func(string) ([]byte, error) { return res.Topology, nil })
	if err != nil {
		t.Fatalf("ParseScenario: %v\n%s", err, res.Scenario)
	}
	var names []string
	for _, s := range topo.Services {
		names = append(names, s.Name)
	}
	if want := []string{"cart", "frontend", "payment", "recommend", "shipping"}; !slices.Equal(names, want) {
		t.Errorf("services %v, want %v", names, want)
	}
	if got := topo.Service("frontend").Instances; got != 2 {
		t.Errorf("frontend instances %d, want 2", got)
	}
	for _, r := range system {
		t.Run(r.svc, func(t *testing.T) { checkRoute(t, topo, res.Model, r) })
	}
	checkFrontendCalls(t, topo.Service("frontend").Route("GET /checkout"))
	checkOptional(t, res.Model)
	if l := sc.Load; len(l) != 1 || len(l[0].Targets) != 1 || l[0].Targets[0].String() != "frontend GET /checkout" {
		t.Errorf("load %+v, want frontend GET /checkout", l)
	} else if got := l[0].Rate.PerSecond(); math.Abs(got-100) > 2 {
		t.Errorf("rate %.1f/s, want 100/s (a request every 10ms)", got)
	}
	if t.Failed() {
		t.Logf("topology:\n%s\nscenario:\n%s", res.Topology, res.Scenario)
	}
}

// checkRoute compares a route's latency and error rate to the truth.
func checkRoute(t *testing.T, topo *topology.Topology, m *Model, want *route) {
	s := topo.Service(want.svc)
	if s == nil || s.Route(want.name) == nil {
		t.Fatalf("route %s %s missing", want.svc, want.name)
	}
	r := s.Route(want.name)
	for _, c := range []struct {
		name      string
		got, want time.Duration
	}{{"p50", r.Latency.P50, want.p50}, {"p99", r.Latency.P99, want.p99}} {
		if rel := math.Abs(float64(c.got-c.want)) / float64(c.want); rel > 0.15 {
			t.Errorf("%s %s latency %s %s, want %s within 15%% (off %.1f%%)", want.svc, want.name, c.name, c.got, c.want, 100*rel)
		}
	}
	clean := routeOf(m, want.svc, want.name).Clean
	sigma := math.Sqrt(want.errRate * (1 - want.errRate) / float64(clean))
	if d := math.Abs(r.Errors.Rate - want.errRate); d > 3*sigma+1e-9 {
		t.Errorf("%s error rate %.4f, want %.4f ± %.4f (3σ over %d requests)", want.svc, r.Errors.Rate, want.errRate, 3*sigma, clean)
	}
	if want.errRate > 0 && r.Errors.HTTPStatus != want.status {
		t.Errorf("%s status %d, want %d", want.svc, r.Errors.HTTPStatus, want.status)
	}
}

func routeOf(m *Model, svc, name string) *Route {
	for _, s := range m.Services {
		for _, r := range s.Routes {
			if s.Name == svc && r.Name == name {
				return r
			}
		}
	}
	return nil
}

// checkFrontendCalls requires cart (one retry), then payment and shipping
// in parallel, and recommend (30%) left out.
func checkFrontendCalls(t *testing.T, r *topology.Route) {
	if len(r.Calls) != 2 {
		t.Fatalf("frontend calls %d steps, want 2: cart, parallel{payment, shipping}", len(r.Calls))
	}
	c := r.Calls[0]
	if c.Kind != topology.StepCall || c.Call.Service != "cart" || c.Call.Route != "GET /cart" || c.Call.Retries != 1 {
		t.Errorf("step 1: %+v %+v, want a call to cart GET /cart with 1 retry", c, c.Call)
	}
	if c.Call != nil && (c.Call.Backoff < 9*time.Millisecond || c.Call.Backoff > 11*time.Millisecond) {
		t.Errorf("cart backoff %s, want about 10ms", c.Call.Backoff)
	}
	p := r.Calls[1]
	var got []string
	for _, st := range p.Steps {
		if st.Call != nil {
			got = append(got, st.Call.Service+" "+st.Call.Route)
		}
	}
	if p.Kind != topology.StepParallel || !slices.Equal(got, []string{"payment POST /charge", "shipping POST /quote"}) {
		t.Errorf("step 2: kind %d %v, want parallel payment, shipping", p.Kind, got)
	}
}

// checkOptional requires the 30% call to recommend observed with its
// share, and left out of the YAML.
func checkOptional(t *testing.T, m *Model) {
	r := routeOf(m, "frontend", "GET /checkout")
	for _, c := range r.Callees {
		if c.Service != "recommend" {
			continue
		}
		if math.Abs(c.Share-0.3) > 0.03 || c.Written {
			t.Errorf("recommend: share %.3f written %v, want 0.3 and not written", c.Share, c.Written)
		}
		return
	}
	t.Errorf("recommend not observed as a callee of frontend")
}
