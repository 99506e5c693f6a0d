package simulator

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// TestExternalPeer: a simulated caller reaches an external service at its
// URL (a hop with External set and no callee side), and the request the
// external service makes back, without a hop header, is recorded as an
// orphan hop from it with the trace headers it carried.
func TestExternalPeer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	var gotHop atomic.Value // the load sends several requests at once
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHop.Store(r.Header.Get(HopHeader))
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/back", backPort), nil)
		req.Header.Set("Traceparent", tp)
		req.Header.Set("Tracestate", "vendor=x,other=y")
		req.Header.Set("Baggage", "user=1, tenant=2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp.Body.Close()
	}))
	defer ext.Close()
	yaml := fmt.Sprintf(`name: ext
services:
  front:
    routes:
      GET /go:
        calls:
          - ext: GET /x
  ext:
    external: %s
    routes:
      GET /x:
    calls:
      - {service: back, route: GET /back}
  back:
    port: %d
    routes:
      GET /back:
`, ext.URL, backPort)
	topo, err := topology.ParseTopology("ext.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	rt := New(topo, WithExporter(func(context.Context) (sdktrace.SpanExporter, error) { return &keepOpen{exp}, nil }))
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := rt.Endpoint("back", 0), fmt.Sprintf("127.0.0.1:%d", backPort); got != want {
		t.Errorf("back listens on %s, want its fixed port %s", got, want)
	}
	load := topology.Load{Targets: []topology.Target{{Service: "front", Route: "GET /go", Weight: 1}}, Rate: topology.Rate{Freq: 100, Per: time.Second}, Requests: 3, Workers: 1}
	if _, err := rt.Drive(t.Context(), []topology.Load{load}); err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h, _ := gotHop.Load().(string); h == "" {
		t.Error("the external service got no hop header")
	}
	check := func(snap Snapshot) {
		t.Helper()
		var toExt, fromExt int
		for _, h := range snap.Hops {
			switch {
			case h.To == "ext":
				toExt++
				if !h.External || h.Received || !h.ClientSpan || !h.Sent.IsValid() {
					t.Errorf("hop into ext: %+v", h)
				}
			case h.From == "ext":
				fromExt++
				if !h.FromExternal || !h.Received || h.To != "back" || h.Route != "GET /back" || h.SentAt == 0 {
					t.Errorf("hop from ext: %+v", h)
				}
				if h.GotTraceParent != tp || h.GotTraceState != "vendor=x,other=y" || h.GotBaggage != "tenant,user" ||
					!h.GotHeaders.Has(record.HeaderTraceparent|record.HeaderTracestate|record.HeaderBaggage) {
					t.Errorf("hop from ext headers: traceparent %q tracestate %q baggage %q (%s)", h.GotTraceParent, h.GotTraceState, h.GotBaggage, h.GotHeaders)
				}
				if h.Got.Trace.String() != "0af7651916cd43dd8448eb211c80319c" || !h.Got.Sampled {
					t.Errorf("hop from ext got %+v", h.Got)
				}
			}
		}
		if toExt != 3 || fromExt != 3 {
			t.Errorf("%d hops into ext and %d from it, want 3 and 3", toExt, fromExt)
		}
	}
	check(rt.Ledger().Snapshot())
	// The export form keeps all of it.
	var buf bytes.Buffer
	if err := rt.Ledger().Export(&buf); err != nil {
		t.Fatal(err)
	}
	merged := NewLedger()
	if err := merged.Merge(&buf); err != nil {
		t.Fatal(err)
	}
	check(merged.Snapshot())
}

func TestHeaderDetail(t *testing.T) {
	if got := baggageKeys("b=1;p=q, a=2,b=3"); got != "a,b" {
		t.Errorf("baggage keys %q", got)
	}
	l := NewLedger()
	rec := recvRec{got: record.Context{Trace: record.TraceID{1}, Span: record.SpanID{2}, Sampled: true}, headers: record.HeaderTraceparent}
	canonical := canonicalTraceparent(rec.got)
	l.headerDetail(&rec, func(k string) string {
		if k == "Traceparent" {
			return canonical
		}
		return ""
	})
	if rec.parent != 0 || rec.state != 0 || rec.baggage != 0 {
		t.Errorf("a canonical traceparent and no tracestate or baggage should intern nothing: %+v", rec)
	}
	var h record.Hop
	l.received(&h, rec)
	if h.GotTraceParent != canonical || !strings.HasPrefix(canonical, "00-01000000") {
		t.Errorf("rebuilt traceparent %q", h.GotTraceParent)
	}
}
