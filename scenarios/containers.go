package scenarios

import (
	"context"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/tracerig/tracerig/fixtures"
	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/topology"
)

// startContainers brings the scenario up with `runtime: containers`: every
// instance in its own container, exporting to tracerig's embedded backend
// (or Jaeger) in a container of its own, read back through its query API on
// 127.0.0.1.
func startContainers(ctx context.Context, sc *topology.Scenario, seed uint64, faults []topology.Fault, opts Options) (*containers.Runtime, *sink, error) {
	if opts.OTLPEndpoint != "" {
		return nil, nil, &RuntimeError{fmt.Errorf("runtime containers: --otlp-endpoint is not supported yet (the containers export to a backend container); use runtime inprocess")}
	}
	if t := sc.Backend.Type; t != topology.BackendEmbedded && t != topology.BackendJaeger {
		return nil, nil, &RuntimeError{fmt.Errorf("runtime containers supports backends embedded and jaeger so far, not %s; use runtime inprocess", t)}
	}
	for _, f := range faults {
		if f.Kind == topology.FaultExporterOutage || f.Kind == topology.FaultSlowBackend {
			return nil, nil, &RuntimeError{fmt.Errorf("runtime containers: fault %s is not supported yet; use runtime inprocess", f.Kind)}
		}
	}
	src, err := scenarioSource(sc)
	if err != nil {
		return nil, nil, &RuntimeError{fmt.Errorf("runtime containers: %w", err)}
	}
	copts := containers.Options{Seed: seed, Source: src, Backend: true, Log: opts.Progress}
	maxTraces := 0
	if sc.Backend.Type == topology.BackendJaeger {
		dir := "."
		if sc.File != "" {
			dir = path.Dir(sc.File)
		}
		bin, err := fixtures.FindJaeger(dir)
		if err != nil {
			return nil, nil, &RuntimeError{fmt.Errorf("backend jaeger: %w", err)}
		}
		maxTraces = sizeBackend(sc.Backend, sc.Load).MaxTraces
		copts.Backend, copts.Jaeger = false, bin
		copts.JaegerConfig = fixtures.JaegerConfig("0.0.0.0:4317", "0.0.0.0:16686", "0.0.0.0:16685", maxTraces)
	}
	crt := containers.New(sc.Topology, copts)
	if err := crt.Start(ctx); err != nil {
		return nil, nil, &RuntimeError{fmt.Errorf("start topology %s in containers: %w", sc.Topology.Name, err)}
	}
	if copts.Jaeger != "" {
		return crt, &sink{opened: time.Now(), jq: fixtures.NewJaegerQuery(crt.BackendURL()), jaegerMax: maxTraces, endpoint: "jaeger:4317 (container)"}, nil
	}
	return crt, &sink{opened: time.Now(), query: fixtures.NewQueryClient(crt.BackendURL()), endpoint: "backend:4317 (container)"}, nil
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
