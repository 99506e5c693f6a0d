package simulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerig/tracerig/topology"
)

// flaky fails every fourth export, after the in-memory exporter took it.
type flaky struct {
	keepOpen
	n *atomic.Int64
}

func (f flaky) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := f.keepOpen.ExportSpans(ctx, spans)
	if f.n.Add(1)%4 == 0 {
		return errors.New("backend answered 503")
	}
	return err
}

// drainTopology loads testdata/drain.yaml with a running external service
// that calls back with the trace context it got.
func drainTopology(t *testing.T) *topology.Topology {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	client := &http.Client{Transport: &http.Transport{}}
	ext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(backPort)+"/back", nil)
		req.Header.Set("Traceparent", r.Header.Get("Traceparent"))
		resp, err := client.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp.Body.Close()
	}))
	t.Cleanup(func() {
		ext.Close()
		client.CloseIdleConnections()
	})
	raw, err := os.ReadFile("testdata/drain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("EXT_URL", ext.URL, "BACK_PORT", strconv.Itoa(backPort)).Replace(string(raw))
	topo, err := topology.ParseTopology("drain.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// drainer drains a ledger every few milliseconds while load runs, teeing
// what it takes into a reference ledger.
type drainer struct {
	l, ref *Ledger
	quiet  time.Duration
	groups []Settled
	// peak is the most records pending after a drain.
	peak int
	stop chan struct{}
	done sync.WaitGroup
}

func (d *drainer) run() {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			return
		case now := <-tick.C:
			d.drain(now.UnixNano())
		}
	}
}

func (d *drainer) drain(now int64) {
	d.groups = append(d.groups, teeDrain(d.l, d.ref, now, d.quiet, false)...)
	d.l.drainMu.Lock()
	_, n := d.l.pending.size()
	d.l.drainMu.Unlock()
	d.peak = max(d.peak, n)
}

// TestDrainDuringLoad runs a topology with errors, timeouts, a propagation
// break and an external callback, drains its ledger repeatedly while load
// runs, then flushes, and checks that the groups hold exactly what an
// undrained ledger's snapshot holds, each component whole, and that once
// the run ended and quiet passed nothing is left pending.
func TestDrainDuringLoad(t *testing.T) {
	topo := drainTopology(t)
	mem := tracetest.NewInMemoryExporter()
	var exports atomic.Int64
	rt := New(topo, WithSeed(21), WithBatching(8192, 64, 20*time.Millisecond),
		WithExporter(func(context.Context) (sdktrace.SpanExporter, error) {
			return flaky{keepOpen{mem}, &exports}, nil
		}))
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	d := &drainer{l: rt.Ledger(), ref: NewLedger(), quiet: 500 * time.Millisecond, stop: make(chan struct{})}
	d.done.Go(d.run)
	load := topology.Load{Targets: []topology.Target{{Service: "front", Route: "GET /go", Weight: 1}}, Rate: topology.Rate{Freq: 100, Per: time.Second}, Requests: 150, Workers: 4}
	_, err := rt.Drive(t.Context(), []topology.Load{load})
	close(d.stop)
	d.done.Wait()
	if err != nil {
		t.Fatal(err)
	}
	duringLoad, loadPeak := len(d.groups), d.peak
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixNano()
	d.drain(now)
	d.drain(now + int64(d.quiet))
	if comps, n := d.l.pending.size(); comps != 0 {
		t.Errorf("after the run and quiet, %d components (%d records) still pending", comps, n)
	}
	rest := teeDrain(d.l, d.ref, 0, 0, true)
	if len(rest) != 0 {
		t.Errorf("DrainAll returned %d groups after everything settled", len(rest))
	}
	all := append(d.groups, rest...)
	finishMirror(d.ref, d.l)
	want := d.ref.Snapshot()
	sameRecords(t, all, want)
	wholeComponents(t, all)
	if n := d.l.DrainLate(); n != 0 {
		t.Errorf("%d records came after their component was released", n)
	}
	if got, want := d.l.Totals(), d.ref.Totals(); got != want {
		t.Errorf("totals %+v, an undrained ledger's %+v", got, want)
	}
	checkDrainRun(t, want)
	if duringLoad == 0 {
		t.Error("no group was released while load ran")
	}
	tot := d.l.Totals()
	t.Logf("%d hops, %d spans (%d export failures) in %d groups, %d released during load; at most %d records pending during load",
		tot.Hops, tot.SpansEnded, tot.ExportFailed, len(all), duringLoad, loadPeak)
}

// checkDrainRun fails unless the run did what the test is about: hops
// that failed, timed out, crossed the propagation break and came from
// the external service, and exports that failed.
func checkDrainRun(t *testing.T, snap Snapshot) {
	t.Helper()
	var failed, retried, broken, external int
	for _, h := range snap.Hops {
		switch {
		case h.FromExternal:
			external++
		case h.From == "legacy" && h.Received && h.Server.Trace.IsValid() && !h.Got.IsValid():
			broken++
		case h.To == "slow" && h.Attempt > 0:
			retried++ // its first attempt timed out
		case h.CalleeError:
			failed++
		}
	}
	exportFailed := 0
	for _, e := range snap.Ended {
		if e.ExportReason != "" {
			exportFailed++
		}
	}
	for what, n := range map[string]int{"failed": failed, "timed out": retried, "broken": broken, "external": external, "export failed": exportFailed} {
		if n == 0 {
			t.Errorf("no %s record in the run", what)
		}
	}
}
