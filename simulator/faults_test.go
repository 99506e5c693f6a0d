package simulator

import (
	"context"
	"net/http"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tracerig/tracerig/topology"
)

func startChain(t *testing.T, opts ...Option) *Runtime {
	t.Helper()
	topo, err := topology.LoadTopology("testdata/chain.yaml")
	if err != nil {
		t.Fatal(err)
	}
	exp := tracetest.NewInMemoryExporter()
	opts = append([]Option{WithExporter(func(context.Context) (sdktrace.SpanExporter, error) { return &keepOpen{exp}, nil })}, opts...)
	rt := New(topo, opts...)
	if err := rt.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Shutdown(context.Background()) })
	return rt
}

func TestFaultTimeline(t *testing.T) {
	rt := startChain(t)
	f := topology.Fault{
		Kind:    topology.FaultLatency,
		Window:  topology.Window{At: 50 * time.Millisecond, For: 100 * time.Millisecond, Every: 300 * time.Millisecond, Count: 2},
		Target:  topology.FaultTarget{Service: "mid", Instance: -1},
		Latency: topology.LatencyFault{Add: time.Millisecond},
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	rt.PlayFaults(ctx, []topology.Fault{f}, start)()
	ws := rt.FaultWindows()
	if len(ws) != 2 {
		t.Fatalf("windows %+v, want 2", ws)
	}
	for i, w := range ws {
		at := time.Duration(w.Start - start.UnixNano())
		length := time.Duration(w.End - w.Start)
		wantAt := f.Window.At + time.Duration(i)*f.Window.Every
		if at < wantAt || at > wantAt+50*time.Millisecond || length < f.Window.For-20*time.Millisecond || length > f.Window.For+50*time.Millisecond {
			t.Errorf("window %d at %s for %s, want %s for %s", i, at, length, wantAt, f.Window.For)
		}
		if w.Number != 1 || w.Kind != "latency" || w.Desc != "latency mid" || w.Live {
			t.Errorf("window %d: %+v", i, w)
		}
	}
	if len(rt.Faults()) != 0 {
		t.Errorf("faults still active: %+v", rt.Faults())
	}
}

func TestFaultUntilRunEnds(t *testing.T) {
	rt := startChain(t)
	f := topology.Fault{Kind: topology.FaultPause, Target: topology.FaultTarget{Service: "leaf", Instance: 0}}
	ctx, cancel := context.WithCancel(t.Context())
	wait := rt.PlayFaults(ctx, []topology.Fault{f}, time.Now())
	time.Sleep(50 * time.Millisecond)
	if a := rt.Faults(); len(a) != 1 || a[0].Desc != "pause leaf-0" {
		t.Fatalf("active %+v, want the pause", a)
	}
	cancel()
	wait()
	if len(rt.Faults()) != 0 || len(rt.FaultWindows()) != 1 {
		t.Errorf("after the run: active %v, windows %v", rt.Faults(), rt.FaultWindows())
	}
}

func TestLiveFaults(t *testing.T) {
	rt := startChain(t)
	id, err := rt.InjectFault(topology.Fault{Kind: topology.FaultStripHeaders, Target: topology.FaultTarget{From: "mid", To: "leaf"}}, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.InjectFault(topology.Fault{Kind: topology.FaultCrash, Target: topology.FaultTarget{Service: "leaf", Instance: 3}}, 0, true); err == nil {
		t.Error("a crash of an instance that does not exist was accepted")
	}
	if _, err := rt.InjectFault(topology.Fault{Kind: topology.FaultExporterOutage}, 0, true); err == nil {
		t.Error("an exporter outage without a pipe was accepted")
	}
	if err := rt.ClearFault(id); err != nil {
		t.Fatal(err)
	}
	if err := rt.ClearFault(id); err == nil {
		t.Error("clearing a cleared fault succeeded")
	}
	if ws := rt.FaultWindows(); len(ws) != 1 || !ws[0].Live || ws[0].Number != 0 || ws[0].Desc != "strip-headers mid -> leaf" {
		t.Errorf("windows %+v", ws)
	}
}

func TestCrashAndRestart(t *testing.T) {
	rt := startChain(t)
	addr := rt.Endpoint("leaf", 0)
	id, err := rt.InjectFault(topology.Fault{Kind: topology.FaultCrash, Target: topology.FaultTarget{Service: "leaf", Instance: 0}}, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := httpGet(addr); err == nil {
		t.Error("a crashed instance answered")
	}
	if err := rt.ClearFault(id); err != nil {
		t.Fatal(err)
	}
	if code, err := httpGet(addr); err != nil || code != 200 {
		t.Errorf("after restart: %d, %v", code, err)
	}
}

func httpGet(addr string) (int, error) {
	c := http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/leaf")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
