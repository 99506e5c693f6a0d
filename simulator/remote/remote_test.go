package remote

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serveInstance runs instance i of service svc of topo in a runtime of its
// own behind its control API, as a container or pod does, and returns it
// as an Instance with a count of the takes its API answered, and the
// runtime.
func serveInstance(t *testing.T, topo *topology.Topology, svc string, i int) (*Instance, *atomic.Int64, *simulator.Runtime) {
	t.Helper()
	rt := simulator.New(topo, simulator.WithOnly(svc, i), simulator.WithPeers(map[string][]string{"api": {"127.0.0.1:1", "127.0.0.1:1"}}), simulator.WithListen("127.0.0.1:0"),
		simulator.WithExporter(func(context.Context) (sdktrace.SpanExporter, error) { return tracetest.NewInMemoryExporter(), nil }))
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	srv := control.NewInstanceServer(rt, topo)
	var takes atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/ledger/take") {
			takes.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return &Instance{Name: svc + "-0", Control: &control.Client{Addr: ts.Listener.Addr().String(), HTTP: ts.Client()}}, &takes, rt
}

// TestPullSkipsStopped: Pull takes from every running instance and skips
// one a fault stopped, whose records Stop took just before; Plant plants a
// fault on each instance and its undo clears it.
func TestPullSkipsStopped(t *testing.T) {
	topo, err := topology.ParseTopology("t.yaml", []byte("name: t\nservices:\n  api:\n    instances: 2\n    routes:\n      GET /:\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, aTakes, _ := serveInstance(t, topo, "api", 0)
	b, bTakes, _ := serveInstance(t, topo, "api", 1)
	host := simulator.NewLedger()
	if err := Pull(t.Context(), host, []*Instance{a, b}, 1); err != nil {
		t.Fatal(err)
	}
	takeErr, stopErr := b.Stop(t.Context(), host, func() error { return nil })
	if takeErr != nil || stopErr != nil {
		t.Fatal(takeErr, stopErr)
	}
	if err := Pull(t.Context(), host, []*Instance{a, b}, 2); err != nil {
		t.Fatal(err)
	}
	if aTakes.Load() != 2 || bTakes.Load() != 2 {
		t.Errorf("takes: %d from the running instance, %d from the stopped one; want 2 and 2 (one by Stop)", aTakes.Load(), bTakes.Load())
	}
	b.SetDown(false)
	f := topology.Fault{Kind: topology.FaultLatency, Target: topology.FaultTarget{Service: "api", Instance: -1}, Latency: topology.LatencyFault{Add: 1}}
	undo, err := Plant(t.Context(), f, []*Instance{a, b})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []*Instance{a, b} {
		if st, _, err := in.Control.Faults(t.Context()); err != nil || len(st.Active) != 1 {
			t.Errorf("%s: faults %+v, %v; want the one planted", in.Name, st, err)
		}
	}
	undo()
	for _, in := range []*Instance{a, b} {
		if st, _, err := in.Control.Faults(t.Context()); err != nil || len(st.Active) != 0 {
			t.Errorf("%s: faults %+v, %v after the undo; want none", in.Name, st, err)
		}
	}
}

// cutting is a transport that loses the answers of the first cut takes
// on their way: the instance has sent them whole, the host never reads
// them.
type cutting struct {
	next http.RoundTripper
	cut  atomic.Int64
}

func (c *cutting) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil || !strings.HasPrefix(r.URL.Path, "/ledger/take") || c.cut.Add(-1) < 0 {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, errors.New("connection reset by peer")
}

// TestPullCutOff: a take whose answer is lost on its way loses no record:
// the next take answers with that batch again, and no batch is merged
// twice.
func TestPullCutOff(t *testing.T) {
	topo, err := topology.ParseTopology("t.yaml", []byte("name: t\nservices:\n  api:\n    routes:\n      GET /:\n"))
	if err != nil {
		t.Fatal(err)
	}
	in, _, rt := serveInstance(t, topo, "api", 0)
	tr := &cutting{next: in.Control.HTTP.Transport}
	tr.cut.Store(1)
	in.Control.HTTP = &http.Client{Transport: tr}
	host := simulator.NewLedger()
	retried := func(n int) {
		for range n {
			rt.Ledger().ExportRetried(1)
		}
	}
	steps := []struct {
		retries int  // recorded by the instance before the pull
		cut     bool // the pull's answer is lost
		want    int  // retries in the host's ledger after it
	}{
		{retries: 3, cut: true, want: 0},
		{retries: 2, want: 3}, // the lost batch again; the new records wait for the next
		{want: 5},
		{want: 5}, // nothing twice
		{retries: 1, want: 6},
	}
	for i, st := range steps {
		retried(st.retries)
		err := Pull(t.Context(), host, []*Instance{in}, 1)
		if st.cut != (err != nil) {
			t.Fatalf("pull %d: error %v, want one: %v", i, err, st.cut)
		}
		if got := host.Totals().ExportRetries; got != st.want {
			t.Errorf("pull %d: the host holds %d retries, want %d", i, got, st.want)
		}
	}
}
