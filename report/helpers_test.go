package report

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// requireTool returns the path of the first of names found on PATH. Without
// one the test skips, saying what to install, or fails when
// TRACERIG_REQUIRE_TOOLS=1 (as CI sets it).
func requireTool(t *testing.T, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	msg := strings.Join(names, " or ") + " not found on PATH (Debian package " + pkg + ")"
	if os.Getenv("TRACERIG_REQUIRE_TOOLS") == "1" {
		t.Fatalf("%s, and TRACERIG_REQUIRE_TOOLS=1 requires it", msg)
	}
	t.Skipf("%s; install it to run this test (TRACERIG_REQUIRE_TOOLS=1 turns this skip into a failure)", msg)
	return ""
}

// sampleStart is when the sample run's load began.
var sampleStart = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// sampleEvidence is the evidence of a small run with a fault window, an
// export failure and a span missing at the backend, without running
// anything.
func sampleEvidence(t *testing.T) *Evidence {
	t.Helper()
	sc, err := topology.LoadScenario("testdata/sample/strip-headers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	start := sampleStart
	trace := record.TraceID{1}
	const route = "gateway GET /order"
	return &Evidence{
		Scenario:   sc,
		Seed:       11,
		StartedAt:  start,
		Duration:   6500 * time.Millisecond,
		Backend:    BackendReport{Type: "embedded", Endpoint: "127.0.0.1:4317", ReadBack: true},
		Settled:    true,
		SettleTime: 250 * time.Millisecond,
		Loads:      sc.Load,
		LoadResults: []simulator.LoadResult{{Name: route, RequestedRate: 60, Metrics: vegetaMetrics(300, 59.9, 0.99,
			map[string]int{"200": 297, "503": 3})}},
		Samples: []LoadSample{
			{Load: route, Route: route, At: start.UnixNano(), Latency: 3 * time.Millisecond, Code: 200},
			{Load: route, Route: route, At: start.UnixNano(), Latency: 4 * time.Millisecond, Code: 200},
			{Load: route, Route: route, At: start.UnixNano(), Latency: 9 * time.Millisecond, Code: 503},
		},
		Ledger:        simulator.Totals{SpansEnded: 4, SpansExported: 3, ExportFailed: 1, Hops: 4, Requests: 2},
		QueueCapacity: 2048,
		ExportFailures: []record.ExportFailure{{Service: "api", Reason: "grpc Unauthenticated", Spans: 1,
			FirstMessage: "rpc error: code = Unauthenticated desc = missing <bearer> token"}},
		Input: assert.Input{
			Topology: sc.Topology,
			RunStart: start.UnixNano(),
			ReadBack: true,
			Faults: []record.Fault{{ID: 1, Number: 1, Kind: "strip-headers", Desc: "strip-headers api -> store",
				From: "api", To: "store", Instance: -1, Start: start.Add(1500 * time.Millisecond).UnixNano(), End: start.Add(3 * time.Second).UnixNano()}},
			Hops: []record.Hop{
				{ID: 1, To: "gateway", Received: true}, {ID: 2, From: "gateway", To: "api", Received: true},
				{ID: 3, From: "api", To: "store", Received: true}, {ID: 4, From: "api", To: "store", Received: true},
			},
			Ended: []record.Ended{
				{Span: record.Span{Trace: trace, ID: record.SpanID{1}, End: start.Add(time.Second).UnixNano(), Service: "gateway"}, Export: record.ExportOK},
				{Span: record.Span{Trace: trace, ID: record.SpanID{2}, End: start.Add(2 * time.Second).UnixNano(), Service: "api"}, Export: record.ExportOK},
				{Span: record.Span{Trace: trace, ID: record.SpanID{3}, End: start.Add(2 * time.Second).UnixNano(), Service: "api"}, Export: record.ExportFailed},
				{Span: record.Span{Trace: trace, ID: record.SpanID{4}, End: start.Add(4 * time.Second).UnixNano(), Service: "store"}, Export: record.ExportOK},
			},
			Backend: []record.Span{
				{Trace: trace, ID: record.SpanID{1}, Arrived: start.Add(1100 * time.Millisecond).UnixNano()},
				{Trace: trace, ID: record.SpanID{2}, Arrived: start.Add(2100 * time.Millisecond).UnixNano()},
			},
		},
	}
}

// sampleVerdicts are verdicts as a failing run would have them, with every
// status and finding shape.
func sampleVerdicts() []assert.Verdict {
	return []assert.Verdict{
		{Check: "propagation", Status: assert.StatusFail, Measured: "trace context continuity over 4 hops",
			Expected: "every hop continues its caller's trace", Observed: "2 breaks on 1 edge (api -> store) <&> \"quoted\"",
			Findings: []assert.Finding{{Subject: "api -> store", Message: "traceparent missing", Count: 2, Of: 10,
				Examples: []string{"request 3 hop 1f: expected trace ab, got none"}, Fault: "explained by fault #1 (strip-headers api -> store, 1.5s–3.0s)"},
				{Subject: "gateway -> api", Message: "new trace", Count: 1, Of: 10, Fault: "unexplained"}}},
		{Check: "completeness", Status: assert.StatusPass, Measured: "spans", Expected: "min 100%", Observed: "100%"},
		{Check: "detect", Subject: "#1 strip-headers api -> store", Status: assert.StatusNotRun, Expected: "the fault's effect", Reason: "no read-back: spans were exported elsewhere"},
		{Check: "sampling", Subject: "gateway", Status: assert.StatusPass, Measured: "root decisions", Expected: "25%", Observed: "24.1%",
			Stats: map[string]float64{"lower": 0.21, "upper": 0.275, "ratio": 0.241, "expected_ratio": 0.25, "n": 400, "k": 96}},
	}
}

// sampleReport is the report of sampleEvidence with sampleVerdicts.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	rep := New(sampleEvidence(t))
	rep.SetVerdicts(sampleVerdicts())
	return rep
}

// vegetaMetrics are a load's metrics as vegeta closes them: the figures a
// report reads.
func vegetaMetrics(requests uint64, rate, success float64, codes map[string]int) vegeta.Metrics {
	return vegeta.Metrics{Requests: requests, Rate: rate, Success: success, StatusCodes: codes}
}
