// Package kube runs a topology on Kubernetes, through the API server
// (k8s.io/client-go): per simulated service a StatefulSet whose pods run
// `tracerig serve` for their ordinal, a Service over them and one per
// instance; the embedded backend or Jaeger as a Deployment, or an OTLP
// endpoint the pods reach. A run gets a namespace of its own, or its
// objects are owned by its topology ConfigMap in a namespace it is given,
// so one delete removes it either way.
//
// The host side is a simulator.Runtime that hosts no instance, as in the
// containers runtime: it drives load at the entry instances and reaches
// every pod's control API through port-forwards over the API server
// (forward), never at a pod IP. Every pod's ledger is taken over its
// control API into the host's (Pull, Shutdown); instance faults delete or
// hold a pod, every other fault is played by the pods' control APIs.
package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/simulator/remote"
	"github.com/tracerig/tracerig/topology"
)

// Options configure a run on Kubernetes.
type Options struct {
	// Kubeconfig is the kubeconfig file; "" takes $KUBECONFIG, the default
	// path, or the in-cluster configuration (Config).
	Kubeconfig string
	// Namespace, when set, is an existing namespace the run's objects go
	// in; otherwise the run creates tracerig-<run ID> and deletes it after.
	Namespace string
	// Plan is the run's objects: image, source, serve settings, backend.
	// Its Namespace, RunID and Annotations are set by Start.
	Plan Plan
	// ReadyTimeout bounds the wait for every pod to be ready (default 3
	// minutes).
	ReadyTimeout time.Duration
	// Log, when set, receives a line per step.
	Log io.Writer
}

// Runtime is a topology running on Kubernetes. Its embedded
// simulator.Runtime (set by Start) drives load, holds the ledger and plays
// faults.
type Runtime struct {
	*simulator.Runtime

	topo  *topology.Topology
	opts  Options
	runID string

	cfg     *rest.Config
	cs      kubernetes.Interface
	ns      string
	ownNS   bool
	backend *forward
	backURL string

	mu     sync.Mutex
	insts  map[string][]*instance
	closed bool

	// Startup is how long Start took, from the first object created to
	// the host ready.
	Startup time.Duration
}

type instance struct {
	service string
	index   int
	pod     string
	fwd     *forward
	svcAddr string // 127.0.0.1:port leading to the pod's service port
	ctlAddr string // 127.0.0.1:port leading to its control port
	// rem takes the pod's records and plants faults on it, through the
	// control port's forward.
	rem *remote.Instance
}

// New returns a Kubernetes runtime for topo with run ID runID; Start brings
// it up.
func New(topo *topology.Topology, runID string, opts Options) *Runtime {
	return &Runtime{topo: topo, opts: opts, runID: runID, insts: map[string][]*instance{}}
}

// RunID is the value of the RunLabel of everything the run makes.
func (r *Runtime) RunID() string { return r.runID }

// Namespace is where the run's objects are.
func (r *Runtime) Namespace() string { return r.ns }

// BackendURL is the backend's query API, through a port-forward on
// 127.0.0.1 ("" with an OTLP endpoint of the user's).
func (r *Runtime) BackendURL() string { return r.backURL }

func (r *Runtime) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, "kubernetes: "+format+"\n", args...)
	}
}

// Start creates the run's objects, waits until every pod is ready, opens
// the port-forwards and starts the host side. On failure (or a cancelled
// ctx) it removes what it made.
func (r *Runtime) Start(ctx context.Context) (err error) {
	start := time.Now()
	if r.cfg, err = Config(r.opts.Kubeconfig); err != nil {
		return err
	}
	if r.cs, err = kubernetes.NewForConfig(r.cfg); err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	defer func() {
		if err != nil {
			r.Close(context.WithoutCancel(ctx))
		}
	}()
	if ids, err := Clean(ctx, r.cs, CleanOptions{Orphans: true}); err == nil && len(ids) > 0 {
		r.logf("swept %d runs left by processes of this host that are gone", len(ids))
	}
	plan := r.opts.Plan
	plan.RunID = r.runID
	plan.Namespace, plan.CreateNamespace = r.opts.Namespace, r.opts.Namespace == ""
	if plan.CreateNamespace {
		plan.Namespace = "tracerig-" + r.runID
	}
	host, _ := os.Hostname()
	plan.Annotations = map[string]string{HostAnnotation: host, PIDAnnotation: strconv.Itoa(os.Getpid())}
	objs, err := plan.Objects(r.topo)
	if err != nil {
		return err
	}
	r.ns, r.ownNS = plan.Namespace, plan.CreateNamespace
	if err := create(ctx, r.cs, objs); err != nil {
		return err
	}
	r.logf("objects of run %s created in namespace %s", r.runID, r.ns)
	timeout := r.opts.ReadyTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	if err := waitReady(ctx, r.cs, r.ns, r.runID, podCount(objs), timeout); err != nil {
		return err
	}
	if err := r.openForwards(plan.Backend); err != nil {
		return err
	}
	if err := r.waitPeers(ctx, timeout); err != nil {
		return err
	}
	if err := r.startHost(ctx); err != nil {
		return err
	}
	r.Startup = time.Since(start)
	r.logf("%d instances ready in %s", len(r.all()), r.Startup.Round(time.Millisecond))
	return nil
}

// openForwards opens a port-forward to every instance's pod (service and
// control ports) and to the backend's query API.
func (r *Runtime) openForwards(b Backend) error {
	ins, err := Instances(r.topo)
	if err != nil {
		return err
	}
	for _, i := range ins {
		in := &instance{service: i.Service, index: i.Index, pod: i.Pod}
		if in.fwd, err = newForward(r.cs, r.cfg, r.ns, i.Pod); err != nil {
			return err
		}
		r.mu.Lock()
		r.insts[i.Service] = append(r.insts[i.Service], in)
		r.mu.Unlock()
		if in.svcAddr, err = in.fwd.listen(ServicePort); err != nil {
			return err
		}
		if in.ctlAddr, err = in.fwd.listen(ControlPort); err != nil {
			return err
		}
		in.rem = &remote.Instance{Name: i.Pod, Control: &control.Client{Addr: in.ctlAddr, HTTP: controlHTTP}}
	}
	name, port := BackendName, QueryPort
	switch b {
	case BackendJaeger:
		name, port = JaegerName, JaegerQueryPort
	case BackendEndpoint:
		return nil
	}
	pod, err := backendPod(context.Background(), r.cs, r.ns, r.runID, name)
	if err != nil {
		return err
	}
	if r.backend, err = newForward(r.cs, r.cfg, r.ns, pod); err != nil {
		return err
	}
	addr, err := r.backend.listen(port)
	r.backURL = "http://" + addr
	return err
}

// waitPeers waits until every pod reaches every instance it calls: a
// pod is ready before the cluster's service proxy sends its Service's
// traffic to it, and a call sent meanwhile would fail as no fault did.
func (r *Runtime) waitPeers(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ins := r.all()
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Go(func() {
			for {
				if errs[i] = in.rem.Control.Peers(ctx); errs[i] == nil {
					return
				}
				select {
				case <-ctx.Done():
					errs[i] = fmt.Errorf("pod %s: %w", in.pod, errs[i])
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("wait for the pods to reach each other: %w", err)
	}
	return nil
}

// startHost starts the host side: a runtime that hosts no instance and
// reaches every one through its port-forward.
func (r *Runtime) startHost(ctx context.Context) error {
	peers := map[string][]string{}
	for _, s := range r.topo.Services {
		for _, in := range r.insts[s.Name] {
			peers[s.Name] = append(peers[s.Name], in.svcAddr)
		}
	}
	r.Runtime = simulator.New(r.topo,
		simulator.WithSeed(r.opts.Plan.Serve.Seed),
		simulator.WithNone(),
		simulator.WithPeers(peers),
		simulator.WithApplier(r.applyFault),
		simulator.WithExporter(func(context.Context) (sdktrace.SpanExporter, error) {
			return nil, errors.New("the host of a kubernetes run exports nothing")
		}),
	)
	return r.Runtime.Start(ctx)
}

func (r *Runtime) all() []*instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*instance
	for _, s := range r.topo.Services {
		out = append(out, r.insts[s.Name]...)
	}
	return out
}

// controlHTTP sends the host's requests to the pods' control APIs.
var controlHTTP = &http.Client{Timeout: 30 * time.Second}

// remotes returns the run's instances as the remote package takes them.
func (r *Runtime) remotes() []*remote.Instance {
	var out []*remote.Instance
	for _, in := range r.all() {
		out = append(out, in.rem)
	}
	return out
}

// Shutdown stops the host side (clearing faults), asks every pod to stop
// serving and flush its spans, and takes what is left of every pod's
// ledger into the host's. The backend stays up for read-back until Close.
func (r *Runtime) Shutdown(ctx context.Context) error {
	if r.Runtime == nil {
		return nil
	}
	err := r.Runtime.Shutdown(ctx)
	return errors.Join(err, remote.Flush(ctx, r.Runtime.Ledger(), r.remotes()))
}

// maxPulls bounds the pods a Pull takes from at once.
const maxPulls = 8

// Pull takes the records every running pod wrote since its last take into
// the host's ledger, a few pods at a time; a pod a fault deleted is
// skipped. It lets a run verify its records as it goes.
func (r *Runtime) Pull(ctx context.Context) error {
	if r.Runtime == nil {
		return nil
	}
	return remote.Pull(ctx, r.Runtime.Ledger(), r.remotes(), maxPulls)
}

// Close closes the port-forwards and removes the run's objects: its
// namespace, or its topology ConfigMap, which owns the rest, and the rest
// by label, without waiting for the garbage collector. It is safe to call
// more than once, and after a failed Start.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed || r.cs == nil {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	for _, in := range r.all() {
		if in.fwd != nil {
			in.fwd.close()
		}
	}
	if r.backend != nil {
		r.backend.close()
	}
	defer CloseIdle(r.cfg)
	if r.ns == "" {
		return nil
	}
	return Delete(ctx, r.cs, r.ns, r.runID, r.ownNS)
}

// Memory returns each instance pod's memory use in bytes, by pod name, from
// the kubelet's summary (through the API server's node proxy).
func (r *Runtime) Memory(ctx context.Context) (map[string]uint64, error) {
	return podMemory(ctx, r.cs, r.ns, r.runID)
}

// errNotFound reports whether err is the API server's not-found.
func errNotFound(err error) bool { return apierrors.IsNotFound(err) }
