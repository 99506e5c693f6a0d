package assert

import (
	"strings"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

func findingsOf(v Verdict) map[string]Finding {
	out := make(map[string]Finding)
	for _, f := range v.Findings {
		out[f.Subject+" | "+f.Message] = f
	}
	return out
}

// TestHeaderChecks: a hop that continued its caller's trace still breaks
// when the sampled flag, tracestate entries or baggage keys did not
// survive it, and each finding names what was lost.
func TestHeaderChecks(t *testing.T) {
	sent := record.Context{Trace: record.TraceID{1}, Span: record.SpanID{2}, Sampled: true}
	got := sent
	got.Sampled = false
	hops := []record.Hop{
		{ID: 1, To: "a", Route: "GET /", Received: true, Got: record.Context{}, Server: record.Context{Trace: record.TraceID{1}, Span: record.SpanID{1}, Sampled: true}, ServerSpan: true},
		{ID: 2, Parent: 1, From: "a", To: "b", Route: "GET /b", ClientSpan: true, Sent: sent,
			SentHeaders:    record.HeaderTraceparent | record.HeaderTracestate | record.HeaderBaggage,
			SentTraceState: "x=1,y=2", SentBaggage: "k,u",
			Received: true, Got: got, GotHeaders: record.HeaderTraceparent | record.HeaderTracestate | record.HeaderBaggage,
			GotTraceParent: "00-01000000000000000000000000000000-0200000000000000-00", GotTraceState: "y=2", GotBaggage: "u"},
	}
	in := Input{Topology: topo(svc("a", "b"), svc("b")), Hops: hops}
	v := Propagation(in, topology.PropagationExpect{Connected: true})
	checkStreamed(t, in, propagationExpect(topology.PropagationExpect{Connected: true}))
	if v.Status != StatusFail {
		t.Errorf("status %s, want fail", v.Status)
	}
	fs := findingsOf(v)
	for _, w := range []string{
		"a -> b | sampled flag did not survive the hop: caller sent sampled=true, callee read sampled=false",
		"a -> b | tracestate entries did not survive the hop: lost x=1",
		"a -> b | baggage keys did not survive the hop: lost k",
	} {
		f, ok := fs[w]
		if !ok || f.Count != 1 || f.Of != 1 {
			t.Errorf("want finding %q once of 1 hop, got %+v (all: %+v)", w, f, v.Findings)
		}
	}
	if ex := fs["a -> b | sampled flag did not survive the hop: caller sent sampled=true, callee read sampled=false"].Examples; len(ex) != 1 || !strings.Contains(ex[0], `received traceparent "00-0100`) {
		t.Errorf("the sampled-flag finding should name the traceparent received: %q", ex)
	}
	if len(v.Findings) != 3 {
		t.Errorf("want 3 findings, got %+v", v.Findings)
	}
}

// TestExternalReactions: requests an external service makes are classified
// by what the simulated callee received (kept, restarted, malformed,
// dropped); those during a header fault on an edge into it are attributed
// to the fault and named by that edge.
func TestExternalReactions(t *testing.T) {
	in := externalInput()
	exp := topology.PropagationExpect{Connected: true, Broken: []string{"f -> e"}}
	v := Propagation(in, exp)
	checkStreamed(t, in, propagationExpect(exp))
	fs := findingsOf(v)
	for w, n := range map[string]int{
		"f -> e | external service e restarted the trace (seen at inv)":                2,
		"f -> e | external service e propagated a malformed traceparent (seen at inv)": 1,
		"f -> e | external service e dropped the trace headers (seen at inv)":          1,
		"f -> e | external service e kept the trace (seen at inv) despite the fault":   1,
		"e -> inv | external service e restarted the trace (seen at inv)":              1,
	} {
		got, ok := fs[w]
		if !ok || got.Count != n || got.Of != 7 {
			t.Errorf("want %q %d times of 7, got %+v\nall: %+v", w, n, got, v.Findings)
			continue
		}
		if strings.HasPrefix(w, "f -> e") && !strings.Contains(got.Fault, "strip-headers f -> e") {
			t.Errorf("%q not attributed to the fault: %q", w, got.Fault)
		}
		if strings.HasPrefix(w, "e -> inv") && got.Fault != unexplainedLabel {
			t.Errorf("%q outside the fault should be unexplained, got %q", w, got.Fault)
		}
	}
	if len(v.Findings) != 5 {
		t.Errorf("want 5 findings, got %+v", v.Findings)
	}
	// The one restart outside the fault's window fails the check.
	if v.Status != StatusFail {
		t.Errorf("status %s, want fail (an unplanned restart on e -> inv)", v.Status)
	}
	for k, n := range map[string]float64{"external_kept": 2, "external_restarted": 3, "external_malformed": 1, "external_dropped": 1, "external_requests": 7} {
		if v.Stats[k] != n {
			t.Errorf("stat %s = %v, want %v", k, v.Stats[k], n)
		}
	}
}

// externalInput is a run in which external service e, called by f, makes
// seven requests to inv: kept, restarted, malformed and dropped, some
// inside a strip-headers window on f -> e.
func externalInput() Input {
	ctx := func(n byte) record.Context {
		return record.Context{Trace: record.TraceID{n}, Span: record.SpanID{n}, Sampled: true}
	}
	var hops []record.Hop
	for i := byte(1); i <= 5; i++ {
		hops = append(hops, record.Hop{ID: uint64(i), From: "f", To: "e", Route: "GET /x", ClientSpan: true, External: true, Sent: ctx(i), SentAt: 1_500_000_000})
	}
	orphan := func(id uint64, at int64, got record.Context, hdr record.Header) record.Hop {
		return record.Hop{ID: id, From: "e", FromExternal: true, To: "inv", Route: "GET /s", SentAt: at, Received: true, Got: got, GotHeaders: hdr}
	}
	tp := record.HeaderTraceparent
	hops = append(hops,
		orphan(11, 10_000_000_000, ctx(1), tp),          // kept, no fault
		orphan(12, 1_500_000_000, ctx(2), tp),           // kept despite the fault
		orphan(13, 1_500_000_000, ctx(9), tp),           // restarted
		orphan(14, 1_600_000_000, ctx(8), tp),           // restarted
		orphan(15, 1_500_000_000, record.Context{}, tp), // malformed
		orphan(16, 1_500_000_000, record.Context{}, 0),  // dropped
		orphan(17, 20_000_000_000, ctx(7), tp),          // restarted, outside the fault
	)
	f := topology.Fault{Kind: topology.FaultStripHeaders, Target: topology.FaultTarget{From: "f", To: "e", Instance: -1}}
	return Input{
		Topology: topo(svc("f", "e"), svc("e"), svc("inv")),
		Hops:     hops,
		Planned:  []topology.Fault{f},
		Faults:   []record.Fault{{ID: 1, Number: 1, Kind: string(f.Kind), Desc: "strip-headers f -> e", From: "f", To: "e", Instance: -1, Start: 1_000_000_000, End: 2_000_000_000}},
		RunStart: 1,
	}
}
