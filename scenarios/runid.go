package scenarios

import (
	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/topology"
)

// sharedBackend reports whether the run exports to a backend tracerig did
// not start fresh for it, which other runs may share: an otlp backend, or
// --otlp-endpoint (override). There the run's ID goes into its trace and
// span IDs, and only its spans are read back; a backend tracerig starts
// (embedded, jaeger, collector) holds this run's spans alone, and the seed
// alone gives the IDs.
func sharedBackend(b topology.Backend, override string) bool {
	return override != "" || b.Type == topology.BackendOTLP
}

// identity returns the runtime options that give every resource the run's
// ID and resource attributes, and mix the run's ID into the IDs on a shared
// backend.
func identity(sc *topology.Scenario, opts Options) []simulator.Option {
	out := []simulator.Option{simulator.WithRunID(opts.RunID), simulator.WithResourceAttributes(opts.ResourceAttributes...)}
	if sharedBackend(sc.Backend, opts.OTLPEndpoint) {
		out = append(out, simulator.WithIsolatedIDs())
	}
	return out
}

// containerIdentity sets in copts what identity gives an in-process run.
func containerIdentity(sc *topology.Scenario, opts Options, copts *containers.Options) {
	copts.RunID = opts.RunID.String()
	copts.IsolateIDs = sharedBackend(sc.Backend, opts.OTLPEndpoint)
	copts.ResourceAttributes = otlpconf.FormatResourceAttributes(opts.ResourceAttributes)
}

// ofRun returns the spans whose resource carries runID, in place; all of
// them when runID is "". A backend asked for one run's traces returns them
// whole, and one that ignores the filter returns everything: this keeps the
// read-back exact either way.
func ofRun(spans []record.Span, runID string) []record.Span {
	if runID == "" {
		return spans
	}
	out := spans[:0]
	for i := range spans {
		if v, ok := spans[i].ResourceAttr(record.RunIDKey); ok && v == runID {
			out = append(out, spans[i])
		}
	}
	return out
}
