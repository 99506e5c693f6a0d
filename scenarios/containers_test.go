package scenarios

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/topology"
)

// requireDocker skips without Docker, or fails when TRACERIG_REQUIRE_DOCKER=1.
func requireDocker(t *testing.T) {
	t.Helper()
	cli, err := containers.Docker(t.Context())
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_DOCKER") == "1" {
			t.Fatalf("TRACERIG_REQUIRE_DOCKER=1: %v", err)
		}
		t.Skip(err)
	}
	cli.Close()
	t.Cleanup(func() {
		left, err := containers.ListOwned(context.Background())
		if err != nil {
			t.Errorf("list leftovers: %v", err)
		}
		if len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	})
}

// TestContainerQuickstart runs quickstart in containers, verified as it
// goes: each tick takes the containers' new records into the host's ledger
// and judges the requests that settled while the load still runs; every
// verdict passes with completeness 1, and every record of the ledger's
// totals was judged once.
func TestContainerQuickstart(t *testing.T) {
	requireDocker(t)
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sc.Runtime = topology.RuntimeContainers
	// Long enough for the first requests to settle (quiet, and a tick for
	// the containers' records to come in) while the load still runs.
	d := 7 * time.Second
	var w loadWatch
	opts := w.watch(Options{Duration: &d, OutDir: t.TempDir()})
	rep, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ledger %+v, backend spans %d, settled %v in %s; judged %+v during the load", rep.Ledger, rep.BackendSpans, rep.Settled, rep.SettleTime, w.duringLoad)
	if rep.Ledger.Requests < 600 || rep.BackendSpans == 0 {
		t.Fatalf("requests %d, backend spans %d: the load did not go through the containers", rep.Ledger.Requests, rep.BackendSpans)
	}
	passAll(t, rep)
	if rep.Backend.Type != "embedded" {
		t.Errorf("backend %+v", rep.Backend)
	}
	if w.ver == nil || !w.atLoad.Load() {
		t.Fatal("the run was not verified as it went")
	}
	if _, ok := w.ver.src.(takeAtOnce); !ok {
		t.Errorf("spans came from %T, want takeAtOnce", w.ver.src)
	}
	if w.duringLoad.Groups == 0 || w.duringLoad.BackendSpans == 0 {
		t.Errorf("judged %+v by the end of the load, want requests with their backend spans", w.duringLoad)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("errors %q", rep.Errors)
	}
	if comp := verdict(t, rep, string(topology.ExpectCompleteness)); comp.Stats["completeness"] != 1 {
		t.Errorf("completeness %v (findings %+v)", comp.Stats["completeness"], comp.Findings)
	}
	// Every hop of a request (load to web, web to stock and to pricing)
	// and every span the ledger counts was judged, once.
	got := w.ver.checked()
	if tot := rep.Ledger; got.Hops != tot.Hops || got.Spans != tot.SpansEnded || tot.Hops != 3*tot.Requests ||
		got.BackendSpans != rep.BackendSpans || rep.BackendSpans != tot.SpansExported {
		t.Errorf("judged %+v, backend spans %d; ledger totals %+v: want every hop and span judged once", got, rep.BackendSpans, tot)
	}
	if rep.Evidence.Input.Hops != nil {
		t.Errorf("the report kept %d hops of a run verified as it went", len(rep.Evidence.Input.Hops))
	}
}

// TestContainerKillFault kills stock-0 for a window, in a run judged at its
// end, whose hops show the calls that failed, and in one verified as it
// goes, which takes the killed container's records before the kill and
// its restarted process's after.
func TestContainerKillFault(t *testing.T) {
	requireDocker(t)
	for _, tt := range []struct {
		name string
		keep bool
	}{
		{name: "judged at the end", keep: true},
		{name: "verified as it goes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sc := load(t, "testdata/containers-kill.yaml")
			var ver *verifier
			rep, err := Run(t.Context(), sc, Options{OutDir: t.TempDir(), KeepRecords: tt.keep, hooks: hooks{verifying: func(v *verifier) { ver = v }}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ledger %+v, backend spans %d, errors %v", rep.Ledger, rep.BackendSpans, rep.Errors)
			passAll(t, rep)
			if len(rep.Faults) != 1 || rep.Faults[0].Kind != string(topology.FaultCrash) {
				t.Fatalf("fault windows %+v", rep.Faults)
			}
			if tt.keep {
				killedHops(t, rep)
				return
			}
			if ver == nil {
				t.Fatal("the run was not verified as it went")
			}
			if got, tot := ver.checked(), rep.Ledger; got.Hops != tot.Hops || got.Spans != tot.SpansEnded {
				t.Errorf("judged %+v of ledger totals %+v: want every hop and span judged once", got, tot)
			}
		})
	}
}

// killedHops checks the hops to stock-0 that failed are all inside the
// kill's window. The window ends when the restarted container answers the
// host; a caller may still fail a call on a connection to the killed one
// just after (seen on a busy Docker engine), hence two seconds of grace.
func killedHops(t *testing.T, rep *report.Report) {
	t.Helper()
	w := rep.Faults[0]
	var in, out int
	for _, h := range rep.Evidence.Input.Hops {
		if h.To == "stock" && h.ToInstance == 0 && !h.Received {
			if h.SentAt >= w.Start-int64(100*time.Millisecond) && h.SentAt <= w.End+int64(2*time.Second) {
				in++
			} else {
				out++
				t.Logf("hop %x to stock-0 sent %.3fs into the run not received; fault window %s", h.ID,
					time.Duration(h.SentAt-rep.StartedAt.UnixNano()).Seconds(), rep.Window(w))
			}
		}
	}
	t.Logf("failed hops to stock-0: %d inside the window, %d outside", in, out)
	if in == 0 || out > 0 {
		t.Errorf("failed hops to stock-0: %d inside the window, %d outside; want some inside, none outside", in, out)
	}
}

// TestContainerShopOnJaeger is the shop in containers, every instance in its
// own, exporting to Jaeger in a container too: every span must be read back
// through Jaeger's query API and every trace connected.
func TestContainerShopOnJaeger(t *testing.T) {
	requireDocker(t)
	requireJaeger(t)
	sc, err := Open("shop")
	if err != nil {
		t.Fatal(err)
	}
	sc.Runtime = topology.RuntimeContainers
	sc.Backend = topology.Backend{Type: topology.BackendJaeger}
	sc.Expect = []topology.Expect{
		{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true}},
		{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 0.999}},
	}
	// Long enough for the first requests to settle and be read back while
	// the load still runs: they settle about 4s in, and Jaeger, sharing the
	// machine with eleven containers and other tests, has taken up to 7s
	// more to serve them. At a gentle rate, so that it keeps up.
	d := 20 * time.Second
	rate, err := topology.ParseRate("60/s")
	if err != nil {
		t.Fatal(err)
	}
	var w loadWatch
	opts := w.watch(Options{Duration: &d, Rate: &rate, OutDir: t.TempDir()})
	rep, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ledger %+v, jaeger returned %d spans, settled %v in %s; judged %+v during the load; notes %q",
		rep.Ledger, rep.BackendSpans, rep.Settled, rep.SettleTime, w.duringLoad, rep.BackendNotes)
	if rep.Backend.Type != "jaeger" || rep.BackendSpans == 0 {
		t.Fatalf("backend %+v with %d spans read back", rep.Backend, rep.BackendSpans)
	}
	if w.ver == nil || w.duringLoad.BackendSpans == 0 {
		t.Errorf("read back %+v during the load: the run was not verified as it went", w.duringLoad)
	}
	passAll(t, rep)
}

// TestContainerPartition partitions shipping from currency in containers:
// the calls fail on that edge inside the window and only there. At half
// the timeline's length: the exporters' patience shrinks with it, and at a
// fifth (0.6 s) an export the busy machine held up for longer lost spans
// the partition had nothing to do with.
func TestContainerPartition(t *testing.T) {
	requireDocker(t)
	sc, err := Open("partition")
	if err != nil {
		t.Fatal(err)
	}
	sc.Runtime = topology.RuntimeContainers
	rep, err := Run(t.Context(), sc, Options{TimeScale: 0.5, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	passAll(t, rep)
}

// TestContainerPause pauses the cache container (docker pause) for a window:
// calls to it hang until it is unpaused, inside the window only.
func TestContainerPause(t *testing.T) {
	requireDocker(t)
	sc := load(t, "testdata/faults/pause.yaml")
	sc.Runtime = topology.RuntimeContainers
	rep, err := Run(t.Context(), sc, Options{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	passAll(t, rep)
}

// TestContainerPipelineFaults plays the faults that act on the export
// pipeline in containers: the services export through the relay container
// to the export pipe on the host, where the outage and the slow backend
// are played, and each must be detected inside its window only.
func TestContainerPipelineFaults(t *testing.T) {
	requireDocker(t)
	for _, name := range []string{"exporter-outage", "slow-backend"} {
		t.Run(name, func(t *testing.T) {
			sc := load(t, "testdata/faults/"+name+".yaml")
			sc.Runtime = topology.RuntimeContainers
			rep, err := Run(t.Context(), sc, Options{OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ledger %+v, backend %+v with %d spans", rep.Ledger, rep.Backend, rep.BackendSpans)
			if !rep.Backend.ReadBack || rep.BackendSpans == 0 {
				t.Fatalf("backend %+v, %d spans read back", rep.Backend, rep.BackendSpans)
			}
			passAll(t, rep)
			if name == "exporter-outage" {
				// The containers' exporters retried, and their ledgers
				// brought the retries back.
				checkRetriesIn(t, rep, rep.Faults[0])
			}
			// The containers' ledgers brought the reasons of their
			// failed exports back.
			checkFailureReasons(t, rep)
		})
	}
}

// TestContainerCollector runs the tail-sampling scenario in containers: the
// services export through the relay to the collector on the host, which
// keeps what its policies say; the run is verified as it goes, each tick
// taking the containers' records and reading the store behind the
// collector back, and the check compares what it kept with the ledger.
func TestContainerCollector(t *testing.T) {
	requireDocker(t)
	requireCollector(t)
	sc := load(t, "testdata/collector/tail-sampling.yaml")
	sc.Runtime = topology.RuntimeContainers
	// Long enough for requests to settle and their kept traces to pass the decision_wait while
	// the load still runs.
	d := 6 * time.Second
	var w loadWatch
	opts := w.watch(Options{Duration: &d, OutDir: t.TempDir()})
	rep, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	streamedCollector(t, w.ver, w.duringLoad, w.atLoad.Load())
	if len(rep.Errors) > 0 || len(rep.BackendNotes) > 0 {
		t.Errorf("errors %q, backend notes %q: want none", rep.Errors, rep.BackendNotes)
	}
	v := verdict(t, rep, string(topology.ExpectTailSampling))
	t.Logf("tail-sampling %s: %s; ledger %+v", v.Status, v.Observed, rep.Ledger)
	if v.Status != assert.StatusPass {
		t.Fatalf("tail-sampling: %s: %s (findings %+v)", v.Status, v.Observed, v.Findings)
	}
	if rep.Backend.Type != "collector" || v.Stats["error_traces"] < 3 {
		t.Errorf("backend %+v, stats %v", rep.Backend, v.Stats)
	}
}

// TestContainerOTLPEndpoint exports from containers to an OTLP endpoint
// on the host's loopback named by --otlp-endpoint: every span the
// containers' exporters acknowledged must be in it.
func TestContainerOTLPEndpoint(t *testing.T) {
	requireDocker(t)
	b := embedded.New()
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	sc.Runtime = topology.RuntimeContainers
	d := 2 * time.Second
	rep, err := Run(t.Context(), sc, Options{Duration: &d, OTLPEndpoint: b.GRPCAddr()})
	if err != nil {
		t.Fatal(err)
	}
	got := b.Stats().Spans
	t.Logf("ledger %+v; the endpoint holds %d spans", rep.Ledger, got)
	if got == 0 || got != int64(rep.Ledger.SpansExported) {
		t.Errorf("the endpoint holds %d spans, the containers exported %d", got, rep.Ledger.SpansExported)
	}
	if rep.Backend.ReadBack || rep.Backend.Endpoint != b.GRPCAddr() {
		t.Errorf("backend report %+v", rep.Backend)
	}
}

// TestContainerOrderEvents runs order-events in containers: the Kafka-
// protocol broker in a container of its own (`tracerig broker`), checkout
// publishing and billing and shipping consuming from theirs. Every message
// reaches both groups, every consumer span links to its orders, and the
// ledgers of the containers carry the messages to the host, while the load
// runs too: its live page shows the edges with their traffic.
func TestContainerOrderEvents(t *testing.T) {
	requireDocker(t)
	sc, err := Open("order-events")
	if err != nil {
		t.Fatal(err)
	}
	sc.Runtime = topology.RuntimeContainers
	// With its live page: no verifier takes the containers' records as the
	// load goes in a run with messaging edges, so the page's frames take
	// them, and the edges show their traffic live.
	rep, seen := watchLive(t, t.Context(), sc, Options{TimeScale: 0.2, OutDir: t.TempDir()})
	for _, want := range []string{"checkout -> billing orders", "checkout -> shipping orders"} {
		if e, ok := seen.flowing[want]; ok {
			t.Logf("live: %s: %.1f/s, p99 %.1fms, %d hops", want, e.Rate, e.P99, e.Hops)
		} else {
			t.Errorf("live: %s never continuing with traffic during the load; seen %v", want, seen.states)
		}
	}
	passAll(t, rep)
	m := verdict(t, rep, string(topology.ExpectMessaging))
	for _, e := range []string{"checkout -> billing", "checkout -> shipping"} {
		if m.Stats[e+" | processed"] < 100 || m.Stats[e+" | links_found"] == 0 || m.Stats[e+" | links_found"] != m.Stats[e+" | links_expected"] {
			t.Errorf("%s: %v processed, links %v of %v", e, m.Stats[e+" | processed"], m.Stats[e+" | links_found"], m.Stats[e+" | links_expected"])
		}
	}
}

// TestContainerBrokerOutage stops the NATS server in its container for a
// window through its control API: publishes fail inside it only, and the
// consumers catch up after.
func TestContainerBrokerOutage(t *testing.T) {
	requireDocker(t)
	sc := load(t, "testdata/faults/broker-outage-nats.yaml")
	sc.Runtime = topology.RuntimeContainers
	rep, err := Run(t.Context(), sc, Options{OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	passAll(t, rep)
}
