// Package containers runs a topology with every service instance in its own
// Docker container (`tracerig serve`, from a FROM-scratch image built here),
// on a Docker network made for the run, started with testcontainers-go.
//
// The host side is a simulator.Runtime that hosts no instance: it drives
// load at the entry instances' ports published on 127.0.0.1, keeps the load
// side of the ledger and plays the fault timeline, applying each fault to
// the containers (kill, restart, pause) or forwarding it to the control API
// of the containers it concerns. The records of every container's ledger
// are taken over its control port into the host's ledger: as the run goes
// (Pull), before a container is killed, and what is left at the end.
package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/tunnel"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/simulator/remote"
	"github.com/tracerig/tracerig/topology"
)

// Ports inside every container.
const (
	servicePort = "8080"
	controlPort = "9090"
	otlpPort    = "4317"
	queryPort   = "4318"
)

// Options configure a container run.
type Options struct {
	// Seed is the seed of every decision, in every container.
	Seed uint64
	// Source is the topology or scenario file, copied into every container
	// (`serve --topology`). Required.
	Source []byte
	// Backend runs tracerig's embedded backend as a container too (alias
	// "backend"); the services export to it and BackendURL reads it back.
	Backend bool
	// Jaeger, when set, is a static Jaeger v2 binary (tools/jaeger/build.sh):
	// it runs in a container of its own (alias "jaeger") with JaegerConfig,
	// which must receive OTLP/gRPC on 0.0.0.0:4317 and serve the query API
	// on 0.0.0.0:16686; the services export to it and BackendURL is its
	// query API. It takes the place of Backend.
	Jaeger       string
	JaegerConfig string
	// HostEndpoint, when set, is an OTLP endpoint on the host's loopback
	// (host:port) the services export to, through a relay container in the
	// run's network that the host dials into (internal/tunnel): a
	// collector, any otlp endpoint, or the export pipe that plays pipeline
	// faults. It takes the place of Backend and Jaeger.
	HostEndpoint string
	// Export, when its Endpoint is set, is how the instances export to the
	// endpoint HostEndpoint reaches (through the pipe, if one is set): its
	// protocol, TLS, headers, compression and timeout. The instances
	// connect through the relay and speak to Export.Endpoint (its host is
	// the TLS server name); its header values reach the containers'
	// environment only, its certificate files are copied in. Without it the
	// instances export plaintext OTLP/gRPC.
	Export otlpconf.Config
	// Pipe, when set, is the export pipe HostEndpoint leads to; the
	// pipeline faults (exporter-outage, slow-backend) act on it.
	Pipe *simulator.Pipe
	// ExportRetry is how long the services retry a failed export before
	// they drop its spans (`serve --export-retry`); 0 leaves serve's default.
	ExportRetry time.Duration
	// RunID, IsolateIDs and ResourceAttributes give every instance the
	// run's identity (`serve --run-id --isolate-ids
	// --resource-attributes`; see control.ServeConfig).
	RunID              string
	IsolateIDs         bool
	ResourceAttributes string
	// Log, when set, receives a line per step.
	Log io.Writer
	// Nodes are the topology's image nodes, one for each service with
	// image:: each runs the user's image on the run's network, reached by
	// the instances at its service name, and by the host at a port
	// published on 127.0.0.1. They start once the instances are up.
	Nodes []NodeSpec
	// HostAddrs gives, by service, the host:port on the host's loopback
	// of services of the user's that run on the host: command nodes, and
	// external services (whose URL, when it came from the environment,
	// may not say). The containers reach them through the relay. An entry
	// wins over the service's URL.
	HostAddrs map[string]string
}

// Runtime is a topology running in containers. Its embedded
// simulator.Runtime (set by Start) drives load, holds the ledger and plays
// faults.
type Runtime struct {
	*simulator.Runtime

	topo  *topology.Topology
	opts  Options
	runID string

	cli     *testcontainers.DockerClient
	net     *testcontainers.DockerNetwork
	image   string
	backURL string
	tunnel  *tunnel.Client // host side of the relay, when one runs

	export instanceExport // the instances' export settings, when Options.Export is set

	mu    sync.Mutex
	insts map[string][]*instance
	nodes []*node // the image nodes, as Options.Nodes
	// brokers are the control APIs of the brokers run in containers, by
	// name.
	brokers map[string]*control.Client

	// Startup is how long Start took, image build included; Image how long
	// building (or finding) the image took.
	Startup, Image time.Duration
	closed         bool
}

type instance struct {
	service string
	index   int
	alias   string
	c       testcontainers.Container
	svcAddr string // 127.0.0.1:port published for the service port
	ctlAddr string // 127.0.0.1:port published for the control port
	// rem takes the container's records and plants faults on it, through
	// its control port.
	rem *remote.Instance
}

// New returns a container runtime for topo; Start brings it up.
func New(topo *topology.Topology, opts Options) *Runtime {
	b := make([]byte, 4)
	rand.Read(b)
	return &Runtime{topo: topo, opts: opts, runID: hex.EncodeToString(b), insts: map[string][]*instance{}, brokers: map[string]*control.Client{}}
}

// RunID is the value of the tracerig.run label of everything the run makes.
func (r *Runtime) RunID() string { return r.runID }

// BackendURL is the query API of the backend container, on 127.0.0.1.
func (r *Runtime) BackendURL() string { return r.backURL }

func (r *Runtime) logf(format string, args ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, "containers: "+format+"\n", args...)
	}
}

func (r *Runtime) labels() map[string]string {
	return map[string]string{LabelKey: "1", RunLabel: r.runID, PIDLabel: strconv.Itoa(os.Getpid())}
}

// Start sweeps leftovers of dead runs, builds the image, creates the run's
// network and starts the backend and every instance, waiting for each to
// answer. On failure (or a cancelled ctx) it removes what it made.
func (r *Runtime) Start(ctx context.Context) (err error) {
	start := time.Now()
	if len(r.opts.Source) == 0 {
		return errors.New("start containers: no topology source to give the containers")
	}
	if r.cli, err = Docker(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			r.removeFailedStart(ctx)
		}
	}()
	if err := r.prepareImage(ctx); err != nil {
		return err
	}
	r.Image = time.Since(start)
	r.logf("image %s ready in %s", r.image, r.Image.Round(time.Millisecond))
	if err := r.planNodes(ctx); err != nil {
		return err
	}
	ports, externalIn, err := r.relayPorts()
	if err != nil {
		return err
	}
	if r.net, err = tcnetwork.New(ctx, tcnetwork.WithLabels(r.labels())); err != nil {
		return fmt.Errorf("create the run's network: %w", err)
	}
	if len(ports) > 0 {
		if err := r.startRelay(ctx, ports); err != nil {
			return err
		}
	}
	endpoint, err := r.startExportTarget(ctx)
	if err != nil {
		return err
	}
	brokers, err := r.startBrokers(ctx)
	if err != nil {
		return err
	}
	serve, err := r.planInstances(externalIn, endpoint)
	if err != nil {
		return err
	}
	serve.Brokers = brokers
	if r.opts.HostEndpoint != "" && r.opts.Export.Endpoint != "" {
		if r.export, err = r.exportTo(&serve, endpoint); err != nil {
			return err
		}
	}
	if err := r.startInstances(ctx, serve); err != nil {
		return err
	}
	if err := r.startImageNodes(ctx, externalIn, endpoint); err != nil {
		return err
	}
	if err := r.startHost(ctx); err != nil {
		return err
	}
	r.Startup = time.Since(start)
	r.logf("%d instances up in %s (run %s)", len(r.all()), r.Startup.Round(time.Millisecond), r.runID)
	return nil
}

// removeFailedStart removes what a failed Start made.
func (r *Runtime) removeFailedStart(ctx context.Context) {
	r.Close(context.WithoutCancel(ctx))
	if ctx.Err() != nil {
		// The daemon may still finish a create the cancelled start gave
		// up on: sweep the run once more after it.
		time.Sleep(time.Second)
		Clean(context.WithoutCancel(ctx), CleanOptions{Run: r.runID})
	}
}

// prepareImage sweeps what dead runs left and makes the run's image.
func (r *Runtime) prepareImage(ctx context.Context) error {
	if n, err := clean(ctx, r.cli, CleanOptions{Orphans: true}); err == nil && n.Containers+n.Networks > 0 {
		r.logf("swept %d containers and %d networks left by earlier runs", n.Containers, n.Networks)
	}
	base, err := EnsureImage(ctx, r.cli)
	if err != nil {
		return err
	}
	r.image, err = runImage(ctx, r.cli, base, r.runID)
	return err
}

// startHost starts the host side: a runtime that hosts no instance and
// reaches every one at the ports published for it.
func (r *Runtime) startHost(ctx context.Context) error {
	// A retried start may have moved an instance to other host ports.
	peersHost := map[string][]string{}
	for _, s := range r.topo.Services {
		for _, in := range r.insts[s.Name] {
			peersHost[s.Name] = append(peersHost[s.Name], in.svcAddr)
		}
		if a, ok := r.opts.HostAddrs[s.Name]; ok && s.IsExternal() {
			peersHost[s.Name] = []string{a}
		}
	}
	for _, n := range r.nodes {
		peersHost[n.name] = []string{n.addr}
	}
	r.Runtime = simulator.New(r.topo,
		simulator.WithSeed(r.opts.Seed),
		simulator.WithNone(),
		simulator.WithPeers(peersHost),
		simulator.WithApplier(r.applyFault),
		simulator.WithPipe(r.opts.Pipe),
		simulator.WithExporter(func(context.Context) (sdktrace.SpanExporter, error) {
			return nil, errors.New("the host of a container run exports nothing")
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

// controlHTTP sends the host's requests to the containers' control APIs.
var controlHTTP = &http.Client{Timeout: 30 * time.Second}

// remotes returns the run's instances as the remote package takes them.
func (r *Runtime) remotes() []*remote.Instance {
	var out []*remote.Instance
	for _, in := range r.all() {
		out = append(out, in.rem)
	}
	return out
}

// Shutdown stops the host side (clearing faults: crashed containers come
// back), asks every container to stop serving and flush its spans, and
// takes what is left of every container's ledger into the host's. The
// backend and the network stay up for read-back until Close.
func (r *Runtime) Shutdown(ctx context.Context) error {
	if r.Runtime == nil {
		return nil
	}
	err := r.Runtime.Shutdown(ctx)
	return errors.Join(err, remote.Flush(ctx, r.Runtime.Ledger(), r.remotes()))
}

// maxPulls bounds the instances a Pull takes from at once.
const maxPulls = 8

// Pull takes the records every running container wrote since its last take
// into the host's ledger, a few containers at a time; a killed or paused
// container is skipped, its records taken when it was stopped and when it
// runs again. It lets a run verify its records as it goes
// (simulator.Ledger.Drain), with what each container holds bounded by what
// it wrote since the last Pull.
func (r *Runtime) Pull(ctx context.Context) error {
	if r.Runtime == nil {
		return nil
	}
	return remote.Pull(ctx, r.Runtime.Ledger(), r.remotes(), maxPulls)
}

// Close removes every container and the network of the run. It is safe to
// call more than once, and after a failed Start.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed || r.cli == nil {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	if r.tunnel != nil {
		r.tunnel.Close()
	}
	_, err := clean(ctx, r.cli, CleanOptions{Run: r.runID})
	// A create the daemon was still finishing when a cancelled start gave
	// up can land after that sweep: look again once it has had time to.
	if left, lerr := ListRun(ctx, r.runID); lerr == nil && len(left) > 0 || err != nil {
		time.Sleep(500 * time.Millisecond)
		_, err = clean(ctx, r.cli, CleanOptions{Run: r.runID})
	}
	r.cli.Close()
	return errors.Join(err, closeLogs(slices.Values(r.nodes)))
}

// Containers lists the IDs of the run's containers still present.
func (r *Runtime) Containers(ctx context.Context) ([]string, error) {
	return ListRun(ctx, r.runID)
}

// ListRun lists the containers, networks and images labelled with run ID id.
func ListRun(ctx context.Context, id string) ([]string, error) {
	return list(ctx, RunLabel+"="+id)
}

func list(ctx context.Context, label string) ([]string, error) {
	cli, err := Docker(ctx)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	f := client.Filters{}.Add("label", label)
	var out []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	for _, c := range cs.Items {
		out = append(out, "container "+strings.Join(c.Names, ","))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.Name)
	}
	is, err := cli.ImageList(ctx, client.ImageListOptions{Filters: f})
	if err != nil {
		return nil, err
	}
	for _, im := range is.Items {
		out = append(out, "image "+strings.Join(im.RepoTags, ","))
	}
	return out, nil
}

// Memory returns each service container's memory use (docker stats,
// one-shot), in bytes, by alias.
func (r *Runtime) Memory(ctx context.Context) (map[string]uint64, error) {
	out := map[string]uint64{}
	for _, in := range r.all() {
		res, err := r.cli.ContainerStats(ctx, in.c.GetContainerID(), client.ContainerStatsOptions{})
		if err != nil {
			return nil, err
		}
		var st container.StatsResponse
		err = json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		use := st.MemoryStats.Usage
		if c := st.MemoryStats.Stats["cache"]; c < use { // cgroup v1 counts page cache
			use -= c
		}
		out[in.alias] = use
	}
	return out, nil
}

// ListOwned lists the containers and networks this process made that are
// still present (label tracerig.pid): what tests assert is empty after a run.
func ListOwned(ctx context.Context) ([]string, error) {
	return list(ctx, PIDLabel+"="+strconv.Itoa(os.Getpid()))
}
