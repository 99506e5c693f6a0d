package scenarios

import (
	"context"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/topology"
)

// startContainers brings the scenario up with `runtime: containers`: every
// instance in its own container. The services export to tracerig's embedded
// backend or to Jaeger, in a container of its own and read back through its
// query API on 127.0.0.1; or, when the run needs the host's export path (a
// collector or otlp backend, --otlp-endpoint, a pipeline fault, live
// faults, an embedded backend verified as it goes), through a relay
// container to the backend opened on the host as in runtime inprocess,
// behind the export pipe when faults may act on it.
// External services stay on the host: the containers reach them through
// the relay too.
func startContainers(ctx context.Context, sc *topology.Scenario, seed uint64, loads []topology.Load, faults []topology.Fault, opts Options) (*containers.Runtime, *sink, error) {
	src, err := scenarioSource(sc)
	if err != nil {
		return nil, nil, &RuntimeError{fmt.Errorf("runtime containers: %w", err)}
	}
	copts := containers.Options{Seed: seed, Source: src, Log: opts.Progress, ExportRetry: exportRetryFor(opts).MaxElapsedTime,
		Nodes: opts.plan.imageSpecs(), HostAddrs: hostAddrs(sc.Topology, opts.plan)}
	containerIdentity(sc, opts, &copts)
	var (
		snk       *sink
		maxTraces int // of the Jaeger container's store
	)
	switch {
	case hostExport(sc, faults, opts):
		if snk, err = openSink(ctx, sizeBackend(sc.Backend, loads), sc.File, opts.OTLPEndpoint, opts.RunID, opts.getenv()); err != nil {
			return nil, nil, err
		}
		copts.HostEndpoint = snk.Endpoint()
		if sharedBackend(sc.Backend, opts.OTLPEndpoint) {
			if err := snk.preflight(ctx); err != nil {
				snk.close(context.Background())
				return nil, nil, err
			}
			copts.Export = snk.export
		}
		if needsPipe(faults) || opts.faultsLive() {
			if snk.pipe, err = simulator.NewPipe(snk.Endpoint()); err != nil {
				snk.close(context.Background())
				return nil, nil, &RuntimeError{err}
			}
			copts.HostEndpoint, copts.Pipe = snk.pipe.Addr(), snk.pipe
		}
	case sc.Backend.Type == topology.BackendJaeger:
		dir := "."
		if sc.File != "" {
			dir = path.Dir(sc.File)
		}
		bin, err := jaeger.Find(dir)
		if err != nil {
			return nil, nil, &RuntimeError{fmt.Errorf("backend jaeger: %w", err)}
		}
		maxTraces = sizeBackend(sc.Backend, loads).MaxTraces
		copts.Jaeger = bin
		copts.JaegerConfig = jaeger.Config("0.0.0.0:4317", "0.0.0.0:16686", "0.0.0.0:16685", maxTraces)
	default:
		copts.Backend = true
	}
	crt := containers.New(sc.Topology, copts)
	if err := crt.Start(ctx); err != nil {
		if snk != nil {
			snk.close(context.Background())
		}
		return nil, nil, &RuntimeError{fmt.Errorf("start topology %s in containers: %w", sc.Topology.Name, err)}
	}
	switch {
	case snk != nil:
		snk.opened = time.Now()
	case copts.Jaeger != "":
		snk = &sink{backend: jaeger.New("jaeger:4317 (container)", crt.BackendURL(), jaeger.WithMaxTraces(maxTraces)), opened: time.Now()}
	default:
		snk = &sink{backend: embedded.NewRemote("backend:4317 (container)", crt.BackendURL()), opened: time.Now()}
	}
	return crt, snk, nil
}

// hostExport reports whether a container run exports through the host: its
// backend is a collector or an otlp endpoint, --otlp-endpoint overrides it,
// faults act on the export pipeline (planned, or possibly added live),
// external services, which run on the host, must export to the same
// backend as the containers, or the run is verified as it goes, which
// takes spans from the embedded backend (verifiedInContainers).
func hostExport(sc *topology.Scenario, faults []topology.Fault, opts Options) bool {
	b := sc.Backend
	return opts.OTLPEndpoint != "" || b.Type == topology.BackendCollector || b.Type == topology.BackendOTLP ||
		needsPipe(faults) || opts.faultsLive() || HasExternal(sc.Topology) || verifiedInContainers(sc, opts)
}

// scenarioSource returns the file the containers read their topology from:
// the scenario's topology file, or the scenario file itself when the
// topology is inline; from disk, or from the built-in library.
func scenarioSource(sc *topology.Scenario) ([]byte, error) {
	name := sc.TopologyFile
	if name == "" {
		name = sc.File
	}
	if name == "" {
		return nil, fmt.Errorf("scenario %s has no file to give the containers", sc.Name)
	}
	if b, err := os.ReadFile(name); err == nil {
		return b, nil
	}
	b, err := files.ReadFile(path.Clean(name))
	if err != nil {
		return nil, fmt.Errorf("read %s for the containers: %w", name, err)
	}
	return b, nil
}

// hostAddrs returns where the containers reach the services of the
// user's that run on this machine: the command nodes, and external
// services (their URLs expanded).
func hostAddrs(t *topology.Topology, plan *nodePlan) map[string]string {
	out := plan.hostAddrs()
	for _, s := range t.Services {
		if s.IsExternal() && !s.IsLaunched() {
			if out == nil {
				out = map[string]string{}
			}
			out[s.Name] = s.ExternalAddr()
		}
	}
	return out
}
