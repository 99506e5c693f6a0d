package main

import (
	"fmt"
	"strings"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/topology"
)

// otlpEnvNote says in one line what the OTEL_EXPORTER_OTLP_* variables set
// in the environment do to a run of sc, so that none is ignored silently;
// "" when none is set. otlpFlag is --otlp-endpoint. Header values never
// appear in it.
func otlpEnvNote(sc *topology.Scenario, otlpFlag string, getenv func(string) string) string {
	env, err := otlpconf.FromEnv(getenv, otlpconf.GRPC)
	if len(env.Set) == 0 {
		return ""
	}
	names := strings.Join(env.Set, ", ")
	var s string
	switch {
	case otlpFlag != "":
		s = names + " set: --otlp-endpoint " + otlpFlag + " takes precedence, and they are not used"
	case sc.Backend.Type != topology.BackendOTLP:
		s = fmt.Sprintf("%s set but not used: the spans go to the scenario's %s backend (backend: {type: otlp} or --otlp-endpoint exports elsewhere)",
			names, sc.Backend.Type)
	case sc.Backend.Endpoint != "":
		s = names + " set: the scenario's backend.endpoint " + sc.Backend.Endpoint + " takes precedence, and they are not used"
	default:
		s = "exporting to " + env.Config.Endpoint + " from " + names + unapplied(env)
	}
	if err != nil {
		s += "; malformed, left out: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return s
}

// unapplied lists what of env the otlp backend's export does not apply: it
// sends plaintext OTLP/gRPC to the endpoint's host and port, without
// headers or compression.
func unapplied(env otlpconf.Env) string {
	c := env.Config
	var not []string
	if c.Protocol != otlpconf.GRPC {
		not = append(not, "protocol "+string(c.Protocol)+" (the export is OTLP/gRPC)")
	}
	if !c.Insecure {
		not = append(not, "TLS (the export is plaintext)")
	}
	if len(c.Headers) > 0 {
		not = append(not, "headers "+strings.Join(c.HeaderKeys(), ","))
	}
	if c.Compression != "" {
		not = append(not, "compression "+c.Compression)
	}
	not = append(not, env.Notes...)
	if len(not) == 0 {
		return ""
	}
	return "; not applied: " + strings.Join(not, "; ")
}
