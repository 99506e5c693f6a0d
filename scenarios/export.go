package scenarios

import (
	"errors"
	"fmt"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/topology"
)

// exportConfig is how the run's services export, given getenv (the
// OTEL_EXPORTER_OTLP_* variables):
//   - with override (--otlp-endpoint: host:port, http:// or https://), to
//     it, with the variables' other settings (protocol, headers,
//     certificates, compression, timeout);
//   - to an otlp backend, as the scenario's backend settings say, each one
//     it leaves out taken from the variables (topology.Backend.Resolve);
//   - to a backend tracerig starts (embedded, jaeger, collector), plaintext
//     OTLP/gRPC to its endpoint: the variables do not apply.
func exportConfig(b topology.Backend, endpoint, override string, getenv func(string) string) (otlpconf.Config, error) {
	switch {
	case override != "":
		env, err := otlpconf.FromEnv(getenv, otlpconf.GRPC)
		if err != nil {
			return otlpconf.Config{}, fmt.Errorf("OTEL_EXPORTER_OTLP_*: %w", err)
		}
		c, err := env.Config.WithEndpoint(override)
		if err != nil {
			return otlpconf.Config{}, fmt.Errorf("--otlp-endpoint: %w", err)
		}
		return c, nil
	case b.Type == topology.BackendOTLP:
		if env, _ := otlpconf.FromEnv(getenv, otlpconf.GRPC); b.Endpoint == "" && !env.EndpointSet() {
			return otlpconf.Config{}, errors.New("backend otlp has no endpoint: set backend.endpoint, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT")
		}
		return b.Resolve(getenv)
	}
	return otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: endpoint, Insecure: true, Timeout: exportTimeout}, nil
}
