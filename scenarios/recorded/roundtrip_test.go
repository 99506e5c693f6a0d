package recorded

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
	"github.com/tracerig/tracerig/topology/infer"
)

// minFloor is the least floor a latency is compared with (see floor).
const minFloor = time.Millisecond

// latencyScale slows every route of the scenarios run here, their
// timeouts and backoffs with them, so that a route's latency stands well
// above what a hop adds on a busy machine: the fit, not the machine, is
// what the comparison within 15% then measures. The scenarios' rates are
// taken at two fifths, so that their consumers keep up at that pace.
const latencyScale = 5

// TestRoundTrip runs library scenarios without faults, infers a topology
// from the spans that reached the backend, and requires the source's
// services, routes and call-tree shapes, its latencies within 15% (plus
// what a hop adds in that run), and its error rates within their binomial
// interval; then runs the inferred scenario, which must pass its checks,
// and infers again from that run: the same call trees, error rates and
// spans per trace (a fixed point).
func TestRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three scenarios twice")
	}
	names := []string{"shop", "quickstart", "order-events"}
	if raceEnabled {
		// The detector slows a 12-service shop at its pace into timeouts
		// on a busy machine; the code it watches is the same for one.
		names = []string{"quickstart"}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			sc, err := topology.LoadScenario(filepath.Join("..", name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			slowDown(sc.Topology, latencyScale)
			// Every trace sampled: the p99s need the samples.
			for _, svc := range sc.Topology.Services {
				svc.Sampler = topology.Sampler{Type: topology.SamplerParentBasedAlwaysOn}
			}
			roundTrip(t, sc)
		})
	}
}

func roundTrip(t *testing.T, sc *topology.Scenario) {
	ctx := context.Background()
	out := t.TempDir()
	spans := filepath.Join(out, "source.pb")
	rate := sc.Load[0].Rate
	rate.Freq = rate.Freq * 2 / 5
	d := 20 * time.Second
	if _, err := scenarios.Run(ctx, sc, scenarios.Options{Duration: &d, Rate: &rate, SaveSpans: spans}); err != nil {
		t.Fatal(err)
	}
	src, err := Open(spans, Access{})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := Infer(ctx, src, infer.Options{Name: sc.Name + "-copy"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("inferred topology:\n%s", res.Topology)
	sameAsTopology(t, sc.Topology, res.Model)
	dir := filepath.Join(out, "inferred")
	if err := Write(dir, res); err != nil {
		t.Fatal(err)
	}
	cr, err := Check(ctx, dir, res.Model, CheckOptions{Duration: d, OutDir: filepath.Join(out, "check")})
	if err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	cr.Fidelity.Write(&table)
	t.Logf("fidelity:\n%s", table.String())
	if cr.Report.Failed() {
		t.Errorf("the inferred scenario's run failed its checks:\n%s", reportText(cr))
	}
	for _, r := range cr.Fidelity.Routes {
		switch {
		case r.Missing:
			t.Errorf("%s %s: not served in the inferred scenario's run", r.Service, r.Route)
		case !r.TreeEqual():
			t.Errorf("%s %s: not a fixed point: %q, then %q", r.Service, r.Route, r.Tree[0], r.Tree[1])
		case !r.ErrorsAgree():
			t.Errorf("%s %s: error rate %.4f of %d, then %.4f of %d", r.Service, r.Route, r.ErrorRate[0], r.Clean[0], r.ErrorRate[1], r.Clean[1])
		}
	}
	// The copy's latencies are not held to the source's here: its run
	// adds a hop's own time again, on a machine that may be several times
	// busier than during the first run; the fidelity table above shows
	// them. The shape is what must not move.
	for _, e := range cr.Fidelity.Entries {
		if got, want := e.SpansPerTrace[1], e.SpansPerTrace[0]; math.Abs(got-want) > 0.05*want {
			t.Errorf("%s %s: %.2f spans per trace, then %.2f", e.Service, e.Route, want, got)
		}
	}
	if len(cr.Fidelity.Extra) > 0 {
		t.Errorf("routes served only by the inferred scenario: %v", cr.Fidelity.Extra)
	}
}

func reportText(cr *CheckResult) string {
	var b strings.Builder
	cr.Report.WriteText(&b)
	return b.String()
}

// near reports whether got is within 15% of want, plus floor.
func near(got, want, floor time.Duration) bool {
	return math.Abs(float64(got-want)) <= 0.15*float64(want)+float64(floor)
}

// floor is what a hop adds to a route's own latency beyond the time the
// topology tells it to spend (the server's and the SDK's work, and the
// scheduling of a busy machine, which the race detector multiplies), at
// p50 and p99, measured in the same run on the routes of constant latency
// without calls: the most any of them exceeds its constant. It is at
// least minFloor. A route with calls waits for the scheduler before each
// step too, so it is allowed the floor once more per step (slack).
func floor(topo *topology.Topology, got map[string]*infer.Route) [2]time.Duration {
	fl := [2]time.Duration{minFloor, minFloor}
	for _, svc := range topo.Services {
		for _, route := range svc.Routes {
			r := got[svc.Name+" "+route.Name]
			if r == nil || route.Latency.Dist != topology.DistConstant || len(route.Calls) > 0 {
				continue
			}
			fl[0] = max(fl[0], r.Own.P50-route.Latency.Value)
			fl[1] = max(fl[1], r.Own.P99-route.Latency.Value)
		}
	}
	return fl
}

// slack is the floor a route of steps call steps is allowed.
func slack(fl time.Duration, steps int) time.Duration { return fl * time.Duration(1+steps) }

// sameAsTopology requires m to have topo's services, routes and call-tree
// shapes, and each route's own latency within 15% of the topology's plus
// the floor measured in the same run.
func sameAsTopology(t *testing.T, topo *topology.Topology, m *infer.Model) {
	t.Helper()
	got := map[string]*infer.Route{}
	for _, s := range m.Services {
		for _, r := range s.Routes {
			got[s.Name+" "+r.Name] = r
		}
	}
	fl := floor(topo, got)
	t.Logf("a hop's own time in this run: p50 %s, p99 %s", fl[0], fl[1])
	for _, svc := range topo.Services {
		if !svc.Instrumented {
			continue
		}
		for _, route := range svc.Routes {
			key := svc.Name + " " + route.Name
			r := got[key]
			if r == nil {
				t.Errorf("%s: not inferred", key)
				continue
			}
			want := topologyTree(topo, route.Calls)
			if c := route.Consume; c != nil {
				batch := ""
				if c.Batch > 1 {
					batch = ", batches"
				}
				want = fmt.Sprintf("consume %s (%s%s)", c.Topic, c.Mode, batch) + strings.TrimPrefix("; "+want, "; (no calls)")
			}
			if have := Tree(r); want != have {
				t.Errorf("%s: call tree %q, want %q", key, have, want)
			}
			for i, q := range []float64{0.5, 0.99} {
				want := quantile(route.Latency, q)
				have := [2]time.Duration{r.Own.P50, r.Own.P99}[i]
				if sl := slack(fl[i], len(r.Steps)); !near(have, want, sl) {
					if raceEnabled {
						t.Logf("%s: own latency p%g %s, want %s (slack %s; not held under the race detector)", key, 100*q, have, want, sl)
						continue
					}
					t.Errorf("%s: own latency p%g %s, want %s (slack %s)", key, 100*q, have, want, sl)
				}
			}
			// A route declared without errors may still see a request
			// its caller gave up on (a 504, as when a consumer stops at
			// the run's end with a message in hand): under 1% of them.
			if want := route.Errors.Rate; want == 0 && r.ErrorRate >= 0.01 ||
				want > 0 && math.Abs(r.ErrorRate-want) > 3.29*math.Sqrt(want*(1-want)/float64(max(r.Clean, 1))) {
				t.Errorf("%s: error rate %.4f over %d requests, want %.4f", key, r.ErrorRate, r.Clean, want)
			}
		}
	}
}

// topologyTree writes a topology route's call tree as Tree writes an
// inferred one's: calls to uninstrumented services are seen as calls to
// the services they call.
func topologyTree(topo *topology.Topology, steps []topology.Step) string {
	var out []string
	for _, st := range steps {
		out = append(out, stepTree(topo, st)...)
	}
	if len(out) == 0 {
		return "(no calls)"
	}
	return strings.Join(out, "; ")
}

func stepTree(topo *topology.Topology, st topology.Step) []string {
	switch st.Kind {
	case topology.StepCall:
		svc := topo.Service(st.Call.Service)
		if !svc.Instrumented {
			for _, r := range svc.Routes {
				if r.Name == st.Call.Route {
					var out []string
					for _, inner := range r.Calls {
						out = append(out, stepTree(topo, inner)...)
					}
					return out
				}
			}
		}
		return []string{st.Call.Service + " " + st.Call.Route}
	case topology.StepSequence:
		var out []string
		for _, inner := range st.Steps {
			out = append(out, stepTree(topo, inner)...)
		}
		return out
	case topology.StepParallel:
		var calls []string
		for _, inner := range st.Steps {
			calls = append(calls, stepTree(topo, inner)...)
		}
		slices.Sort(calls)
		return []string{"{" + strings.Join(calls, ", ") + "}"}
	}
	return []string{fmt.Sprintf("publish %s", st.Publish.Topic)}
}

// slowDown multiplies every latency, timeout and backoff of topo by k.
func slowDown(topo *topology.Topology, k time.Duration) {
	for _, svc := range topo.Services {
		for _, r := range svc.Routes {
			l := &r.Latency
			l.Value, l.Min, l.Max, l.Mean, l.StdDev, l.P50, l.P99 = k*l.Value, k*l.Min, k*l.Max, k*l.Mean, k*l.StdDev, k*l.P50, k*l.P99
			r.Walk(func(c *topology.Call) { c.Timeout, c.Backoff = k*c.Timeout, k*c.Backoff })
		}
	}
}

// quantile is the q-quantile of a topology latency.
func quantile(l topology.Latency, q float64) time.Duration {
	z := map[float64]float64{0.5: 0, 0.99: 2.3263}[q]
	switch l.Dist {
	case topology.DistUniform:
		return l.Min + time.Duration(q*float64(l.Max-l.Min))
	case topology.DistNormal:
		return l.Mean + time.Duration(z*float64(l.StdDev))
	case topology.DistLognormal:
		if q == 0.5 {
			return l.P50
		}
		return l.P99
	case topology.DistPareto:
		return time.Duration(float64(l.Min) / math.Pow(1-q, 1/l.Alpha))
	}
	return l.Value
}
