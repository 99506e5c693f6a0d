package scenarios

import (
	"fmt"
	"os"
	"strings"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/launch"
	"github.com/tracerig/tracerig/topology"
)

// HasExternal reports whether the topology has an external service.
func HasExternal(t *topology.Topology) bool {
	for _, s := range t.Services {
		if s.IsExternal() {
			return true
		}
	}
	return false
}

// HasRunningExternal reports whether the topology has an external service
// at a URL: one the user starts and configures, who needs its environment
// (see Options.ExternalEnv), unlike the services tracerig starts.
func HasRunningExternal(t *topology.Topology) bool {
	for _, s := range t.Services {
		if s.IsExternal() && !s.IsLaunched() {
			return true
		}
	}
	return false
}

// AddrVar is the environment variable that gives an external service the
// address of a simulated one: TRACERIG_ADDR_INVENTORY for "inventory"
// (upper case, every character but letters and digits an underscore).
func AddrVar(service string) string { return launch.AddrVar(service) }

// externalEnv returns the NAME=VALUE lines an external service needs: the
// address of every simulated service (its first instance;
// TRACERIG_ADDR_<SERVICE>_<N> for each further one) and, when tracerig
// knows the backend's OTLP endpoint, the OTEL_* variables that export there.
func externalEnv(t *topology.Topology, rt *simulator.Runtime, otlp string) []string {
	var env []string
	for _, s := range t.Services {
		if s.IsExternal() {
			continue
		}
		for i := range rt.Instances(s.Name) {
			name := AddrVar(s.Name)
			if i > 0 {
				name += fmt.Sprintf("_%d", i)
			}
			env = append(env, name+"=http://"+rt.Endpoint(s.Name, i))
		}
	}
	if otlp != "" {
		env = append(env,
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+otlp,
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_EXPORTER_OTLP_INSECURE=true",
			"OTEL_PROPAGATORS=tracecontext,baggage",
		)
	}
	return env
}

// announceExternal writes the external services' environment to
// opts.AddrFile and hands it to opts.ExternalEnv, before any load.
func announceExternal(t *topology.Topology, rt *simulator.Runtime, otlp string, opts Options) error {
	if opts.AddrFile == "" && opts.ExternalEnv == nil {
		return nil
	}
	env := externalEnv(t, rt, otlp)
	if opts.AddrFile != "" {
		if err := os.WriteFile(opts.AddrFile, []byte(strings.Join(env, "\n")+"\n"), 0o644); err != nil {
			return &RuntimeError{fmt.Errorf("write address file: %w", err)}
		}
	}
	if opts.ExternalEnv != nil {
		if err := opts.ExternalEnv(env); err != nil {
			return &RuntimeError{fmt.Errorf("external services: %w", err)}
		}
	}
	return nil
}
