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
	case otlpFlag == "" && sc.Backend.Type != topology.BackendOTLP:
		s = fmt.Sprintf("%s set but not used: the spans go to the scenario's %s backend (backend: {type: otlp} or --otlp-endpoint exports elsewhere)",
			names, sc.Backend.Type)
	case otlpFlag != "":
		s = names + " set: --otlp-endpoint " + otlpFlag + " takes the endpoint's place; the other settings apply"
	default:
		s = "exporting with " + names
		if c, rerr := sc.Backend.Resolve(getenv); rerr == nil {
			s = "exporting to " + c.String() + " (" + names + ", under the scenario's backend settings)"
		}
	}
	for _, n := range env.Notes {
		s += "; " + n
	}
	if err != nil {
		s += "; malformed: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	return s
}
