package scenarios

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/simulator/kube/kubetest"
	"github.com/tracerig/tracerig/topology"
)

// onKubernetes returns sc set to run on the test cluster with tracerig's
// image loaded into it; the test fails if the run leaves anything behind.
func onKubernetes(t *testing.T, sc *topology.Scenario) Options {
	t.Helper()
	cs := kubetest.Cluster(t)
	sc.Runtime = topology.RuntimeKubernetes
	opts := Options{OutDir: t.TempDir(), Kubernetes: KubernetesOptions{Image: kubetest.Image(t), PullPolicy: "Never"}}
	id, err := simulator.NewRunID()
	if err != nil {
		t.Fatal(err)
	}
	opts.RunID = id
	t.Cleanup(func() { kubetest.NothingLeft(t, cs, id.String()) })
	return opts
}

// TestKubernetesLibrary runs library scenarios on the cluster, each with
// its live page watched: every span delivered, every verdict as
// in-process, and every edge of the topology shown on the page with its
// traffic, continuing, while the load runs.
func TestKubernetesLibrary(t *testing.T) {
	for _, name := range []string{"quickstart", "shop"} {
		t.Run(name, func(t *testing.T) {
			sc, err := Open(name)
			if err != nil {
				t.Fatal(err)
			}
			// How soon a trace is queryable through the cluster's
			// port-forwards depends on how busy this machine is; what this
			// test holds the cluster to is delivery.
			for i := range sc.Expect {
				sc.Expect[i].Completeness.Within = 0
			}
			opts := onKubernetes(t, sc)
			rep, seen := watchLive(t, t.Context(), sc, opts)
			t.Logf("ledger %+v, backend %d spans, errors %q", rep.Ledger, rep.BackendSpans, rep.Errors)
			passAll(t, rep)
			wholeOnKubernetes(t, rep)
			checkWatched(t, rep, seen)
			for _, e := range sc.Topology.Edges() {
				k := liveKey(e.From, e.To, e.Topic)
				if f, ok := seen.flowing[k]; ok {
					t.Logf("live: %s: %.1f/s, p99 %.1fms, %d hops", k, f.Rate, f.P99, f.Hops)
				} else {
					t.Errorf("live: %s never continuing with traffic during the load; seen %v", k, seen.states)
				}
			}
		})
	}
}

// wholeOnKubernetes checks a run on the cluster delivered every span it
// ended, through the pods' export to the backend in the cluster.
func wholeOnKubernetes(t *testing.T, rep *report.Report) {
	t.Helper()
	if rep.Ledger.Requests == 0 || rep.BackendSpans == 0 {
		t.Fatalf("requests %d, backend spans %d: the load did not go through the pods", rep.Ledger.Requests, rep.BackendSpans)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("errors %q", rep.Errors)
	}
	if comp := verdict(t, rep, string(topology.ExpectCompleteness)); comp.Stats["completeness"] != 1 {
		t.Errorf("completeness %v (findings %+v)", comp.Stats["completeness"], comp.Findings)
	}
	if int64(rep.BackendSpans) != int64(rep.Ledger.SpansEnded) {
		t.Errorf("backend holds %d spans, the pods ended %d", rep.BackendSpans, rep.Ledger.SpansEnded)
	}
}

// TestKubernetesCrash deletes stock-0's pod for a window: calls to it fail
// inside the window, which ends when its replacement is ready, and none
// outside; the spans it had not exported are lost, and detect names it.
func TestKubernetesCrash(t *testing.T) {
	sc := load(t, "testdata/containers-kill.yaml")
	opts := onKubernetes(t, sc)
	opts.KeepRecords = true
	rep, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ledger %+v, backend spans %d, errors %v, faults %+v", rep.Ledger, rep.BackendSpans, rep.Errors, rep.Faults)
	passAll(t, rep)
	if len(rep.Faults) != 1 || rep.Faults[0].Kind != string(topology.FaultCrash) {
		t.Fatalf("fault windows %+v", rep.Faults)
	}
	killedHops(t, rep)
}

// TestKubernetesJaeger runs the shop on the cluster exporting to Jaeger,
// a Deployment of its own, read back through its query API over a
// port-forward.
func TestKubernetesJaeger(t *testing.T) {
	requireJaeger(t)
	bin, err := jaeger.Find()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	opts := onKubernetes(t, sc)
	sc.Backend = topology.Backend{Type: topology.BackendJaeger}
	opts.Kubernetes.JaegerImage = kubetest.JaegerImage(t, bin)
	rep, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ledger %+v, jaeger returned %d spans, notes %q", rep.Ledger, rep.BackendSpans, rep.BackendNotes)
	if rep.Backend.Type != "jaeger" {
		t.Errorf("backend %+v", rep.Backend)
	}
	passAll(t, rep)
	wholeOnKubernetes(t, rep)
}

// TestKubernetesFaults plays on the cluster the faults the pods' control
// APIs play: a pause held by the paused pod, a partition played by the
// caller's pods. Each is detected inside its window only, as in-process.
func TestKubernetesFaults(t *testing.T) {
	for _, name := range []string{"pause", "partition"} {
		t.Run(name, func(t *testing.T) {
			sc := load(t, "testdata/faults/"+name+".yaml")
			opts := onKubernetes(t, sc)
			rep, err := Run(t.Context(), sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ledger %+v, backend spans %d, errors %v", rep.Ledger, rep.BackendSpans, rep.Errors)
			passAll(t, rep)
			if len(rep.Faults) != len(sc.Faults) {
				t.Fatalf("fault windows %+v, want one per planted fault", rep.Faults)
			}
		})
	}
}

// TestKubernetesOTLPEndpoint runs the quickstart on the cluster exporting to
// an OTLP endpoint of the user's that the pods reach: here the embedded
// backend of another run in the cluster, by its Service's address. The run
// cannot read it back (the checks that need it are not run); the endpoint
// holds every span the pods exported.
func TestKubernetesOTLPEndpoint(t *testing.T) {
	cs := kubetest.Cluster(t)
	image := kubetest.Image(t)
	src := []byte("name: sink\nservices:\n  idle:\n    routes:\n      GET /:\n")
	topo, err := topology.ParseTopology("sink.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	sinkID, err := simulator.NewRunID()
	if err != nil {
		t.Fatal(err)
	}
	sinkRun := kube.New(topo, sinkID.String(), kube.Options{Plan: kube.Plan{Image: image, PullPolicy: "Never", Source: src, Serve: control.DefaultServeConfig()}})
	t.Cleanup(func() {
		sinkRun.Close(context.Background())
		kubetest.NothingLeft(t, cs, sinkID.String())
	})
	if err := sinkRun.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc, err := cs.CoreV1().Services(sinkRun.Namespace()).Get(t.Context(), kube.BackendName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	opts := onKubernetes(t, sc)
	opts.OTLPEndpoint = "http://" + svc.Spec.ClusterIP + ":4317"
	rep, err := Run(t.Context(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	held, err := embedded.NewRemote("", sinkRun.BackendURL()).Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ledger %+v; the endpoint holds %d spans; backend %+v", rep.Ledger, held, rep.Backend)
	if rep.Ledger.SpansExported == 0 || held != int64(rep.Ledger.SpansExported) || rep.Ledger.ExportFailed != 0 {
		t.Errorf("pods exported %d spans (%d failed), the endpoint holds %d", rep.Ledger.SpansExported, rep.Ledger.ExportFailed, held)
	}
	if rep.Backend.ReadBack {
		t.Errorf("backend %+v: read back from an endpoint without a query API", rep.Backend)
	}
}
