package scenarios

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/topology"
)

// refusingIngest is an OTLP trace receiver that answers every export of
// spans as an ingest does a request whose credentials it no longer takes
// (a token revoked after the run's preflight export, which carries none and
// is accepted).
type refusingIngest struct {
	coltracepb.UnimplementedTraceServiceServer
}

func (refusingIngest) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	if len(req.GetResourceSpans()) == 0 {
		return &coltracepb.ExportTraceServiceResponse{}, nil
	}
	return nil, status.Error(codes.Unauthenticated, "missing bearer token")
}

// startRefusingIngest serves refusingIngest on a loopback port until the
// test ends, and returns its address.
func startRefusingIngest(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, refusingIngest{})
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// TestExportFailureReasons runs quickstart against an OTLP receiver that
// refuses every export of spans as unauthenticated, read back through a Jaeger
// that therefore holds nothing: report.json counts every failed span of
// the ledger under "grpc Unauthenticated", per service, with the
// receiver's message, and completeness names the reason.
func TestExportFailureReasons(t *testing.T) {
	requireJaeger(t)
	bin, _ := jaeger.Find()
	j, err := jaeger.Start(t.Context(), bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Shutdown(context.Background()) })
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sc.Backend = topology.Backend{Type: topology.BackendOTLP, Endpoint: startRefusingIngest(t),
		Query: topology.BackendQuery{Type: "jaeger", URL: j.QueryURL()}}
	d, out := time.Second, t.TempDir()
	rep, err := Run(t.Context(), sc, Options{Duration: &d, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ledger.ExportFailed == 0 || rep.Ledger.SpansExported != 0 {
		t.Fatalf("ledger: %d spans exported, %d failed; want none exported, some failed", rep.Ledger.SpansExported, rep.Ledger.ExportFailed)
	}

	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Export struct {
			Failures []report.ServiceExportFailures `json:"failures"`
		} `json:"export"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	spans, services := 0, map[string]bool{}
	for _, s := range got.Export.Failures {
		services[s.Service] = true
		for _, r := range s.Reasons {
			if r.Reason != "grpc Unauthenticated" || !strings.Contains(r.FirstMessage, "missing bearer token") {
				t.Errorf("%s: %d spans failed for %q (%q), want grpc Unauthenticated with the receiver's message", s.Service, r.Spans, r.Reason, r.FirstMessage)
			}
			spans += r.Spans
		}
	}
	if spans != rep.Ledger.ExportFailed {
		t.Errorf("report.json counts %d failed spans by reason, the ledger %d", spans, rep.Ledger.ExportFailed)
	}
	for _, s := range sc.Topology.Services {
		if !services[s.Name] {
			t.Errorf("report.json has no export failures of %s", s.Name)
		}
	}

	var comp *assert.Verdict
	for i, v := range rep.Verdicts {
		if v.Check == string(topology.ExpectCompleteness) {
			comp = &rep.Verdicts[i]
		}
	}
	if comp == nil || comp.Status != assert.StatusFail {
		t.Fatalf("completeness verdict %+v, want a failure", comp)
	}
	if !strings.Contains(comp.Observed, "export failed (grpc Unauthenticated: ") {
		t.Errorf("completeness observed %q, without the reason", comp.Observed)
	}
	named := 0
	for _, f := range comp.Findings {
		if f.Message == "export failed: grpc Unauthenticated" {
			named += f.Count
		}
	}
	if named != rep.Ledger.ExportFailed {
		t.Errorf("completeness names grpc Unauthenticated for %d spans, the ledger failed %d: %+v", named, rep.Ledger.ExportFailed, comp.Findings)
	}
}

// checkFailureReasons requires the report's export failures by reason to
// count every span the ledger failed to export, each with its reason and
// first message.
func checkFailureReasons(t *testing.T, rep *report.Report) {
	t.Helper()
	spans := 0
	for _, s := range rep.Export.Failures {
		for _, r := range s.Reasons {
			t.Logf("export failures at %s: %d spans for %q, first %q", s.Service, r.Spans, r.Reason, r.FirstMessage)
			if r.Reason == "" || r.FirstMessage == "" || r.Spans <= 0 {
				t.Errorf("%s: export failure %+v", s.Service, r)
			}
			spans += r.Spans
		}
	}
	if spans != rep.Ledger.ExportFailed {
		t.Errorf("export failures by reason count %d spans, the ledger %d", spans, rep.Ledger.ExportFailed)
	}
}
