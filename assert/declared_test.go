package assert

import (
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// realTopo is an all-external topology: shop calls cart and pricing, cart
// calls stock.
const realTopo = `name: real
services:
  shop:
    external: http://127.0.0.1:1001
    routes:
      GET /checkout:
    calls:
      - {service: cart, route: GET /cart}
      - {service: pricing, route: GET /price}
  cart:
    external: http://127.0.0.1:1002
    routes:
      GET /cart:
    calls:
      - {service: stock, route: GET /stock}
  pricing:
    external: http://127.0.0.1:1003
    routes:
      GET /price:
  stock:
    external: http://127.0.0.1:1004
    routes:
      GET /stock:
`

// realRun builds the records of n load requests into shop: each trace's
// spans are made by build from the load's context (nil: the clean tree).
type realRun struct {
	in   Input
	next uint64
}

func newRealRun(t *testing.T) *realRun {
	t.Helper()
	top, err := topology.ParseTopology("real.yaml", []byte(realTopo))
	if err != nil {
		t.Fatal(err)
	}
	return &realRun{in: Input{Topology: top, ReadBack: true}}
}

// id returns a fresh ID's bytes.
func (r *realRun) id() uint64 { r.next++; return r.next }

func (r *realRun) traceID() record.TraceID {
	var t record.TraceID
	v := r.id()
	for i := range 8 {
		t[15-i] = byte(v >> (8 * i))
	}
	t[0] = 0x7
	return t
}

func (r *realRun) spanID() record.SpanID {
	var s record.SpanID
	v := r.id()
	for i := range 8 {
		s[7-i] = byte(v >> (8 * i))
	}
	return s
}

// span adds a span of svc under parent in trace t and returns its ID.
func (r *realRun) span(t record.TraceID, parent record.SpanID, svc string) record.SpanID {
	id := r.spanID()
	r.in.Backend = append(r.in.Backend, record.Span{Trace: t, ID: id, Parent: parent, Service: svc,
		Kind: record.KindServer, Start: int64(r.next), End: int64(r.next) + 10})
	return id
}

// request adds one load request and returns its trace and the load's span.
func (r *realRun) request() (record.TraceID, record.SpanID) {
	c := record.Context{Trace: r.traceID(), Span: r.spanID(), Sampled: true}
	r.in.Hops = append(r.in.Hops, record.Hop{ID: r.id(), Request: r.next, To: "shop", Route: "GET /checkout",
		External: true, Sent: c, SentHeaders: record.HeaderTraceparent, SentAt: int64(r.next)})
	return c.Trace, c.Span
}

// clean adds a request whose trace is the declared tree, with extra edges
// made by the callback (nil for none); dropStock leaves cart -> stock out,
// stock starting a trace of its own.
func (r *realRun) clean(dropStock bool, extra func(t record.TraceID, shop record.SpanID)) record.TraceID {
	t, load := r.request()
	shop := r.span(t, load, "shop")
	cart := r.span(t, shop, "cart")
	r.span(t, shop, "pricing")
	if dropStock {
		r.span(r.traceID(), record.SpanID{}, "stock")
	} else {
		r.span(t, cart, "stock")
	}
	if extra != nil {
		extra(t, shop)
	}
	return t
}

func TestDeclaredEdges(t *testing.T) {
	tests := []struct {
		name  string
		build func(r *realRun)
		prop  Status
		comp  Status
		// findings: "subject | message substring" -> count
		findings map[string]int
		stats    map[string]float64
	}{{
		name:  "every edge confirmed",
		build: func(r *realRun) { r.clean(false, nil); r.clean(false, nil); r.clean(false, nil) },
		prop:  StatusPass, comp: StatusPass,
		findings: map[string]int{"load -> shop | confirmed": 3, "shop -> cart | confirmed": 3, "cart -> stock | confirmed": 3},
		stats: map[string]float64{"predicted_edges": 4, "predicted_edges_exercised": 4, "predicted_edges_unobserved": 0,
			"run_traces": 3, "backend_traces_read": 3, "traces_started": 3, "traces_with_declared_edges": 3},
	}, {
		name: "foreign traces are not judged",
		build: func(r *realRun) {
			r.clean(false, nil)
			r.span(r.traceID(), record.SpanID{}, "jaeger")
			r.span(r.traceID(), r.spanID(), "shop") // another run's, its parent elsewhere
		},
		prop: StatusPass, comp: StatusPass,
		stats: map[string]float64{"run_traces": 1, "backend_traces_read": 3, "orphans": 0, "extra_roots": 0},
	}, {
		name:  "context dropped: the edge is missing in every trace",
		build: func(r *realRun) { r.clean(true, nil); r.clean(true, nil) },
		prop:  StatusFail, comp: StatusFail,
		findings: map[string]int{"cart -> stock | declared edge missing": 2, "cart -> stock | trace lacks the declared edge": 2},
		stats:    map[string]float64{"predicted_edges_unobserved": 1, "run_traces": 2, "backend_traces_read": 4, "traces_with_declared_edges": 0},
	}, {
		name: "undeclared edge discovered, not failed",
		build: func(r *realRun) {
			r.clean(false, func(t record.TraceID, shop record.SpanID) { r.span(t, shop, "stock") })
		},
		prop: StatusPass, comp: StatusPass,
		findings: map[string]int{"shop -> stock | discovered": 1},
	}, {
		name: "trace never reached the backend, another not one tree",
		build: func(r *realRun) {
			r.clean(false, nil)
			r.request()
			t, load := r.request()
			shop := r.span(t, load, "shop")
			r.span(t, shop, "pricing")
			r.span(t, r.spanID(), "cart") // its parent never arrived
		},
		prop: StatusFail, comp: StatusFail,
		findings: map[string]int{"shop | never reached the backend": 1, "shop | not one tree": 1},
		stats:    map[string]float64{"traces_started": 3, "traces_reached": 2, "traces_one_tree": 1, "completeness": 1.0 / 3},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRealRun(t)
			tc.build(r)
			expects := []topology.Expect{
				{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true}},
				{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1}},
			}
			vs := Run(r.in, expects)
			checkStreamed(t, r.in, expects)
			prop, comp := vs[0], vs[1]
			if prop.Status != tc.prop || comp.Status != tc.comp {
				t.Errorf("propagation %s (want %s): %s; completeness %s (want %s): %s",
					prop.Status, tc.prop, prop.Observed, comp.Status, tc.comp, comp.Observed)
			}
			all := append(append([]Finding(nil), prop.Findings...), comp.Findings...)
			for key, n := range tc.findings {
				subject, msg, _ := strings.Cut(key, " | ")
				if got := findingCount(all, subject, msg); got != n {
					t.Errorf("finding %q: count %d, want %d\n%+v", key, got, n, all)
				}
			}
			for k, want := range tc.stats {
				got, ok := prop.Stats[k]
				if !ok {
					got, ok = comp.Stats[k]
				}
				if !ok || got != want {
					t.Errorf("stat %s = %v (set %v), want %v", k, got, ok, want)
				}
			}
		})
	}
}

// findingCount sums the counts of the findings on subject whose message
// holds msg; -1 when there is none.
func findingCount(fs []Finding, subject, msg string) int {
	n, found := 0, false
	for _, f := range fs {
		if f.Subject == subject && strings.Contains(f.Message, msg) {
			n += f.Count
			found = true
		}
	}
	if !found {
		return -1
	}
	return n
}
