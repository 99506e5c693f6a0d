package scenarios

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/topology"
)

// realOnlyScenario is a topology made only of services of the user's: the
// entry shop calls cart and pricing, cart calls stock; the load goes
// straight to shop. Its format arguments are the four ports, extra calls
// for pricing's calls: list, and extra scenario YAML (backend).
const realOnlyScenario = `name: realonly
topology:
  name: realonly
  services:
    shop:
      external: http://127.0.0.1:%d
      routes:
        GET /checkout:
      calls:
        - {service: cart, route: GET /cart}
        - {service: pricing, route: GET /price}
    cart:
      external: http://127.0.0.1:%d
      routes:
        GET /cart:
      calls:
        - {service: stock, route: GET /stock}
    pricing:
      external: http://127.0.0.1:%d
      routes:
        GET /price:
%s    stock:
      external: http://127.0.0.1:%d
      routes:
        GET /stock:
seed: 11
settle: 10s
load:
  - route: shop GET /checkout
    rate: 20/s
    duration: 2s
%s`

// realApp is the test's real application: which service drops the trace
// context on its calls, and the undeclared calls each makes.
type realApp struct {
	dropContext string              // service whose outgoing requests carry no context
	extraCalls  map[string][]string // service -> callees it calls beyond the declared ones
	declare     string              // extra YAML under pricing (a calls: list)
	backend     string              // extra scenario YAML
	// foreign, when set, runs once the backend's endpoint is known: it
	// puts traces that are not the run's into the backend.
	foreign func(t *testing.T, env []string)
}

var (
	realSvcOnce sync.Once
	realSvcBin  string
	realSvcErr  error
)

// realSvc builds the test application's binary once.
func realSvc(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs real programs")
	}
	realSvcOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tracerig-realonly")
		if err != nil {
			realSvcErr = err
			return
		}
		realSvcBin = filepath.Join(dir, "svc")
		out, err := exec.Command("go", "build", "-o", realSvcBin, "./testdata/realonly/svc").CombinedOutput()
		if err != nil {
			realSvcErr = fmt.Errorf("build test application: %w\n%s", err, out)
		}
	})
	if realSvcErr != nil {
		t.Fatal(realSvcErr)
	}
	return realSvcBin
}

// runRealOnly runs the all-external scenario against app.
func runRealOnly(t *testing.T, app realApp) *report.Report {
	t.Helper()
	bin := realSvc(t)
	names := []string{"shop", "cart", "pricing", "stock"}
	ports := map[string]int{}
	for _, n := range names {
		ports[n] = freePort(t)
	}
	data := fmt.Sprintf(realOnlyScenario, ports["shop"], ports["cart"], ports["pricing"], app.declare, ports["stock"], app.backend)
	sc, err := topology.ParseScenario("realonly.yaml", []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	url := func(svc, path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", ports[svc], path) }
	paths := map[string]string{"shop": "/checkout", "cart": "/cart", "pricing": "/price", "stock": "/stock"}
	calls := map[string][]string{"shop": {"cart", "pricing"}, "cart": {"stock"}}
	var cmds []*exec.Cmd
	t.Cleanup(func() {
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
			c.Wait()
		}
	})
	opts := Options{OutDir: t.TempDir()}
	opts.ExternalEnv = func(env []string) error {
		if app.foreign != nil {
			app.foreign(t, env)
		}
		for _, n := range names {
			var urls []string
			for _, c := range append(calls[n], app.extraCalls[n]...) {
				urls = append(urls, url(c, paths[c]))
			}
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), env...)
			cmd.Env = append(cmd.Env, "OTEL_SERVICE_NAME="+n, fmt.Sprintf("SVC_LISTEN=127.0.0.1:%d", ports[n]),
				"SVC_ROUTE=GET "+paths[n], "SVC_CALLS="+strings.Join(urls, ","))
			if app.dropContext == n {
				cmd.Env = append(cmd.Env, "SVC_DROP_CONTEXT=1")
			}
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Start(); err != nil {
				return err
			}
			cmds = append(cmds, cmd)
		}
		for _, n := range names {
			if err := waitListening(fmt.Sprintf("127.0.0.1:%d", ports[n]), 10*time.Second); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// edgeFinding returns the finding of check v on edge whose message holds
// word, or nil.
func edgeFinding(v assert.Verdict, edge, word string) *assert.Finding {
	for i, f := range v.Findings {
		if f.Subject == edge && strings.Contains(f.Message, word) {
			return &v.Findings[i]
		}
	}
	return nil
}

// requireRealOnlyPass checks a clean all-external run: it passes, every
// declared edge is confirmed in every request that succeeded, and only the
// run's traces were judged.
func requireRealOnlyPass(t *testing.T, rep *report.Report) {
	t.Helper()
	for _, v := range rep.Verdicts {
		t.Logf("%s %s: %s (stats %v)", v.Check, v.Status, v.Observed, v.Stats)
		for _, f := range v.Findings {
			t.Logf("  %s: %s (%d of %d) %q", f.Subject, f.Message, f.Count, f.Of, f.Examples)
		}
	}
	if !rep.Passed {
		t.Errorf("run failed")
	}
	sent := rep.Ledger.Requests
	if sent < 30 {
		t.Fatalf("ledger %+v: the load did not go through", rep.Ledger)
	}
	v := verdict(t, rep, "propagation")
	for _, e := range []string{"load -> shop", "shop -> cart", "shop -> pricing", "cart -> stock"} {
		f := edgeFinding(v, e, "confirmed")
		if f == nil {
			t.Errorf("edge %s not confirmed: %+v", e, v.Findings)
			continue
		}
		if f.Count < sent-2 || f.Count > sent {
			t.Errorf("edge %s confirmed in %d traces, want about %d requests", e, f.Count, sent)
		}
	}
	if v.Stats["predicted_edges"] != 4 || v.Stats["predicted_edges_exercised"] != 4 || v.Stats["predicted_edges_unobserved"] != 0 {
		t.Errorf("edge stats %v: want 4 predicted, 4 exercised, 0 unobserved", v.Stats)
	}
	if n := v.Stats["run_traces"]; n < float64(sent)-2 || n > float64(sent) {
		t.Errorf("judged %v traces as the run's, want the %d the load started", n, sent)
	}
}

// TestRealOnly runs a topology made only of real services, the embedded
// backend holding their spans: the run passes and confirms every edge.
func TestRealOnly(t *testing.T) {
	rep := runRealOnly(t, realApp{})
	requireRealOnlyPass(t, rep)
}

// TestRealOnlyJaeger runs it against Jaeger, with traces that are not the
// run's (Jaeger's own, another run's) in the backend: they are not judged.
func TestRealOnlyJaeger(t *testing.T) {
	requireJaeger(t)
	rep := runRealOnly(t, realApp{backend: "backend: {type: jaeger}\n", foreign: exportForeign})
	requireRealOnlyPass(t, rep)
	v := verdict(t, rep, "propagation")
	if read, run := v.Stats["backend_traces_read"], v.Stats["run_traces"]; read < run+foreignTraces {
		t.Errorf("read %v traces, %v the run's: want the %d foreign ones read and left out", read, run, foreignTraces)
	}
}

// TestRealOnlyBroken plants what users must be told: cart drops the trace
// context on its calls (cart -> stock missing), pricing is declared to call
// stock and does not (missing), and shop calls stock undeclared
// (discovered).
func TestRealOnlyBroken(t *testing.T) {
	rep := runRealOnly(t, realApp{
		dropContext: "cart",
		extraCalls:  map[string][]string{"shop": {"stock"}},
		declare:     "      calls:\n        - {service: stock, route: GET /stock}\n",
	})
	if rep.Passed {
		t.Errorf("run passed with a broken edge")
	}
	v := verdict(t, rep, "propagation")
	for _, f := range v.Findings {
		t.Logf("%s %s: %s (%d of %d) %q", f.Status, f.Subject, f.Message, f.Count, f.Of, f.Examples)
	}
	sent := rep.Ledger.Requests
	for _, e := range []string{"cart -> stock", "pricing -> stock"} {
		f := edgeFinding(v, e, "missing")
		if f == nil {
			t.Errorf("edge %s not reported missing: %+v", e, v.Findings)
			continue
		}
		if f.Count < sent-2 || len(f.Examples) == 0 {
			t.Errorf("edge %s missing in %d traces (examples %q), want about %d with examples", e, f.Count, f.Examples, sent)
		}
	}
	if f := edgeFinding(v, "shop -> stock", "discovered"); f == nil || f.Count < sent-2 {
		t.Errorf("undeclared edge shop -> stock not listed as discovered in every trace: %+v", f)
	}
	if v.Stats["predicted_edges_unobserved"] != 2 {
		t.Errorf("want 2 edges unobserved, stats %v", v.Stats)
	}
}

// foreignTraces is how many traces exportForeign puts in the backend.
const foreignTraces = 12

// exportForeign exports, to the backend named by env's OTLP endpoint,
// traces that are not the run's: the backend's own self-traces (service
// jaeger) and another run's, as a shared backend holds them.
func exportForeign(t *testing.T, env []string) {
	t.Helper()
	var endpoint string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "OTEL_EXPORTER_OTLP_ENDPOINT=http://"); ok {
			endpoint = v
		}
	}
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"jaeger", "shop"} {
		res := resource.NewSchemaless(attribute.String("service.name", name))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
		for j := range foreignTraces / 2 {
			_, span := tp.Tracer("foreign").Start(ctx, fmt.Sprintf("foreign %d.%d", i, j))
			span.End()
		}
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}
