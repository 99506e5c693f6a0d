package scenarios

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
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

// sampleReport is a report as a failing run would make it, with every
// status and finding shape and a fault window, without running anything.
func sampleReport(t *testing.T) *Report {
	t.Helper()
	sc := load(t, "testdata/faults/strip-headers.yaml")
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	rep := newReport(sc)
	rep.Seed = 11
	rep.StartedAt = start
	rep.Duration = 6500 * time.Millisecond
	rep.Backend = BackendReport{Type: "embedded", Endpoint: "127.0.0.1:4317", ReadBack: true}
	rep.Settled, rep.SettleTime = true, 250*time.Millisecond
	rep.Load = []LoadReport{{Target: "gateway GET /order", Requests: 300, RequestedRate: 60, AchievedRate: 59.9,
		Success: 0.99, LatencyP50: 3 * time.Millisecond, LatencyP99: 9 * time.Millisecond, LatencyMax: 20 * time.Millisecond,
		StatusCodes: map[string]int{"200": 297, "503": 3}}}
	rep.Ledger = simulator.Totals{SpansEnded: 4, SpansExported: 3, ExportFailed: 1, Hops: 4, Requests: 2}
	rep.Faults = []record.Fault{{ID: 1, Number: 1, Kind: "strip-headers", Desc: "strip-headers api -> store",
		From: "api", To: "store", Instance: -1, Start: start.Add(1500 * time.Millisecond).UnixNano(), End: start.Add(3 * time.Second).UnixNano()}}
	rep.Verdicts = []assert.Verdict{
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
	rep.finish()
	trace := record.TraceID{1}
	rep.input = assert.Input{
		Topology: sc.Topology,
		RunStart: start.UnixNano(),
		ReadBack: true,
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
	}
	rep.samples = []loadSample{
		{route: "gateway GET /order", at: start.UnixNano(), latency: 3 * time.Millisecond, code: 200},
		{route: "gateway GET /order", at: start.UnixNano(), latency: 4 * time.Millisecond, code: 200},
		{route: "gateway GET /order", at: start.UnixNano(), latency: 9 * time.Millisecond, code: 503},
	}
	return rep
}

func TestJUnitShape(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, buf.String())
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d test suites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name != rep.Scenario || s.Tests != 4 || s.Failures != 1 || s.Skipped != 1 || s.Errors != 0 || s.Time != "6.500" {
		t.Errorf("suite %s: tests %d failures %d skipped %d errors %d time %s", s.Name, s.Tests, s.Failures, s.Skipped, s.Errors, s.Time)
	}
	if s.Timestamp != "2026-03-04T05:06:07" {
		t.Errorf("timestamp %q", s.Timestamp)
	}
	want := []string{"propagation", "completeness", "detect #1 strip-headers api -> store", "sampling gateway"}
	for i, c := range s.Cases {
		if c.Name != want[i] || c.Classname != "tracerig."+rep.Scenario || c.Time == "" {
			t.Errorf("case %d: %q class %q time %q", i, c.Name, c.Classname, c.Time)
		}
	}
	f := s.Cases[0].Failure
	if f == nil || f.Message != rep.Verdicts[0].Observed {
		t.Fatalf("failure %+v, want the observed text as message", f)
	}
	for _, w := range []string{"api -> store: traceparent missing (2 of 10)", "explained by fault #1", "e.g. request 3 hop 1f", "gateway -> api: new trace (1 of 10)", "unexplained"} {
		if !strings.Contains(f.Text, w) {
			t.Errorf("failure text lacks %q:\n%s", w, f.Text)
		}
	}
	if sk := s.Cases[2].Skipped; sk == nil || sk.Message != rep.Verdicts[2].Reason {
		t.Errorf("not-run check: skipped %+v", sk)
	}
	if s.Cases[1].Failure != nil || s.Cases[1].Skipped != nil || s.Cases[1].Error != nil {
		t.Errorf("passing check carries a result element: %+v", s.Cases[1])
	}

	// An interrupted run adds a "run" case in error.
	rep.Interrupted = true
	buf.Reset()
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	doc = junitSuites{}
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	s = doc.Suites[0]
	last := s.Cases[len(s.Cases)-1]
	if s.Errors != 1 || s.Tests != 5 || last.Name != "run" || last.Error == nil || !strings.Contains(last.Error.Message, "interrupted") {
		t.Errorf("interrupted run: errors %d tests %d last case %+v", s.Errors, s.Tests, last)
	}
	validateJUnit(t, buf.Bytes())
}

// TestJUnitSchema validates junit.xml against the Jenkins/Ant JUnit schema
// in testdata/junit.xsd with xmllint.
func TestJUnitSchema(t *testing.T) {
	rep := sampleReport(t)
	var buf bytes.Buffer
	if err := rep.WriteJUnit(&buf); err != nil {
		t.Fatal(err)
	}
	validateJUnit(t, buf.Bytes())
}

// validateJUnit runs xmllint --schema testdata/junit.xsd over data.
func validateJUnit(t *testing.T, data []byte) {
	t.Helper()
	xmllint := requireTool(t, "libxml2-utils", "xmllint")
	xsd, err := filepath.Abs("testdata/junit.xsd")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, xmllint, "--noout", "--nonet", "--schema", xsd, path).CombinedOutput()
	if err != nil {
		t.Fatalf("junit.xml does not validate against %s: %v\n%s\n%s", xsd, err, out, data)
	}
}
