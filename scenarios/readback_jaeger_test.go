package scenarios

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/topology"
)

// TestJaegerStreaming runs quickstart against a real Jaeger, verified as it
// goes: requests are read back by trace ID as they settle and judged while
// the load still runs, every verdict passes with completeness 1, and the
// time until queryable comes from those look-ups.
func TestJaegerStreaming(t *testing.T) {
	requireJaeger(t)
	sc := quickstartOnJaeger(t, topology.Backend{Type: topology.BackendJaeger})
	var (
		ver           *verifier
		duringLoad    assert.Checked
		checkedAtLoad atomic.Bool
	)
	// Long enough that requests settle (2s quiet, a 1s tick) and come back
	// from Jaeger while the load runs, on a machine busy with other tests.
	d := 12 * time.Second
	opts := Options{
		Duration: &d,
		hooks:    hooks{verifying: func(v *verifier) { ver = v }},
		LoadDone: func() {
			if ver != nil {
				duringLoad = ver.checked()
				checkedAtLoad.Store(true)
			}
		},
	}
	rep, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if ver == nil || !checkedAtLoad.Load() {
		t.Fatal("the run was not verified as it went")
	}
	if _, ok := ver.src.(*readBack); !ok {
		t.Fatalf("spans came from %T, want a readBack", ver.src)
	}
	if duringLoad.Groups == 0 || duringLoad.BackendSpans == 0 {
		t.Errorf("judged %+v by the end of the load, want requests with their backend spans", duringLoad)
	}
	if !rep.Settled || len(rep.Errors) > 0 {
		t.Errorf("settled %v after %s, errors %q", rep.Settled, rep.SettleTime, rep.Errors)
	}
	for _, v := range rep.Verdicts {
		if v.Status != assert.StatusPass {
			t.Errorf("%s: %s: %s", v.Check, v.Status, v.Observed)
		}
	}
	comp := verdict(t, rep, string(topology.ExpectCompleteness))
	if comp.Stats["completeness"] != 1 {
		t.Errorf("completeness %v (findings %+v)", comp.Stats["completeness"], comp.Findings)
	}
	if p50, p99 := comp.Stats["queryable_p50_seconds"], comp.Stats["queryable_p99_seconds"]; p50 <= 0 || p50 > p99 {
		t.Errorf("time until queryable p50 %vs, p99 %vs", p50, p99)
	}
	if rep.Evidence.Input.Backend != nil || rep.BackendSpans != rep.Ledger.SpansExported {
		t.Errorf("kept %d backend spans, counted %d of %d exported", len(rep.Evidence.Input.Backend), rep.BackendSpans, rep.Ledger.SpansExported)
	}
	want := []string{"jaeger read back as the run went: ", "time until queryable measured on "}
	if len(rep.BackendNotes) != len(want) {
		t.Fatalf("backend notes %q, want %d", rep.BackendNotes, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(rep.BackendNotes[i], w) {
			t.Errorf("note %q, want one starting %q", rep.BackendNotes[i], w)
		}
	}
	t.Logf("judged %+v during the load; %s; notes %q", duringLoad, comp.Observed, rep.BackendNotes)
}

// TestJaegerStreamingEviction runs 200 traces at once into a Jaeger store of 50, verified as it
// goes: the requests Jaeger evicted before they were read back are judged at their deadline, the
// note counts the traces not returned, and completeness names the eviction as the cause.
func TestJaegerStreamingEviction(t *testing.T) {
	requireJaeger(t)
	sc := quickstartOnJaeger(t, topology.Backend{Type: topology.BackendJaeger, MaxTraces: 50})
	sc.Settle = 3 * time.Second
	sc.Load[0].Duration = 0
	sc.Load[0].Requests = 200
	sc.Load[0].Rate = topology.Rate{Freq: 400, Per: time.Second}
	rep, err := Run(t.Context(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	comp := verdict(t, rep, string(topology.ExpectCompleteness))
	lost := 200*5 - int(comp.Stats["delivered"])
	if lost <= 0 || rep.Settled {
		t.Fatalf("delivered %v of 1000 spans, settled %v: want Jaeger to have evicted some", comp.Stats["delivered"], rep.Settled)
	}
	// Jaeger evicts whole traces, but a trace whose spans came in two batches may lose one: the
	// spans not returned are counted exactly, and the traces they belong to.
	var traces, spans int
	if len(rep.BackendNotes) < 2 {
		t.Fatalf("backend notes %q", rep.BackendNotes)
	}
	re := regexp.MustCompile(`with (\d+) traces \((\d+) spans\) not returned whole`)
	m := re.FindStringSubmatch(rep.BackendNotes[1])
	if m == nil {
		t.Fatalf("note %q does not count what was not returned", rep.BackendNotes[1])
	}
	traces, _ = strconv.Atoi(m[1])
	spans, _ = strconv.Atoi(m[2])
	if spans != lost || traces < (lost+4)/5 || traces > lost {
		t.Errorf("%d traces (%d spans) not returned, want the %d spans completeness lost", traces, spans, lost)
	}
	want := fmt.Sprintf("jaeger keeps only its newest 50 traces; 200 traces were started: read back as their requests settled, %d traces were not returned whole", traces)
	if !strings.HasPrefix(rep.BackendNotes[0], want) {
		t.Errorf("backend note %q, want one starting %q", rep.BackendNotes[0], want)
	}
	named := 0
	for _, f := range comp.Findings {
		switch {
		case strings.Contains(f.Message, "evicted by jaeger"):
			named++
		case strings.HasPrefix(f.Message, "lost in the backend"):
			t.Errorf("finding %q does not name the eviction", f.Message)
		}
	}
	if named == 0 {
		t.Error("no completeness finding names the eviction as the cause of the loss")
	}
	t.Logf("%s; notes %q", comp.Observed, rep.BackendNotes)
}
