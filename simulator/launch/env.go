// Package launch starts the services of the user's that a topology names
// with command: (a program on this machine) and composes the environment
// every started service gets, image or command: where to export its
// spans, who it is, which run it belongs to, and where its callees are.
//
// Images are started by the containers package, which knows the run's
// Docker network; both take their environment from Env.
package launch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Addrs says where a started service reaches what it talks to, as seen
// from where it runs (the host's loopback for a command, the run's Docker
// network for an image).
type Addrs interface {
	// Service returns the host:port of instance i of service name.
	Service(name string, i int) string
	// OTLP returns the host:port of the OTLP/gRPC endpoint the service
	// exports to, or "" when the run has none it can reach.
	OTLP() string
}

// Identity is what a started service is told about the run.
type Identity struct {
	RunID string
	// ResourceAttributes are the run's own extra resource attributes, in
	// OTEL_RESOURCE_ATTRIBUTES form (k=v,k=v), or "".
	ResourceAttributes string
}

// AddrVar is the environment variable that gives a service of the user's
// the address of another service: TRACERIG_ADDR_INVENTORY for
// "inventory" (upper case, every character but letters and digits an
// underscore).
func AddrVar(service string) string {
	var b strings.Builder
	b.WriteString("TRACERIG_ADDR_")
	for _, r := range strings.ToUpper(service) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Env returns the NAME=VALUE environment of the started service s of
// topo, serving on port, in this order (a later value of a name wins):
//
//   - the OpenTelemetry SDK's settings: OTEL_SERVICE_NAME (the node's
//     name), OTEL_RESOURCE_ATTRIBUTES (tracerig.run.id and the run's own),
//     OTEL_TRACES_EXPORTER=otlp with OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL
//     (grpc) and _INSECURE when the run has an endpoint it reaches, and
//     OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER none;
//   - TRACERIG_ADDR_<SERVICE>=http://HOST:PORT for every other service
//     (its first instance; TRACERIG_ADDR_<SERVICE>_<N> for each further
//     one), and each calls-env variable with its callee's address;
//   - the node's own env, with ${VAR} expanded through getenv and {port}
//     replaced by port.
//
// An env value that refers to an unset variable is an error naming the
// field; the value itself appears nowhere.
func Env(topo *topology.Topology, s *topology.Service, port int, id Identity, a Addrs, getenv func(string) string) ([]string, error) {
	l := s.Launch
	if l == nil {
		return nil, fmt.Errorf("launch env: service %q is not one tracerig starts", s.Name)
	}
	attrs := record.RunIDKey + "=" + id.RunID
	if id.ResourceAttributes != "" {
		attrs = id.ResourceAttributes + "," + attrs
	}
	env := []string{
		"OTEL_SERVICE_NAME=" + s.Name,
		"OTEL_RESOURCE_ATTRIBUTES=" + attrs,
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
	}
	if otlp := a.OTLP(); otlp != "" {
		env = append(env,
			"OTEL_TRACES_EXPORTER=otlp",
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+otlp,
			"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
			"OTEL_EXPORTER_OTLP_INSECURE=true",
		)
	}
	for _, o := range topo.Services {
		if o == s {
			continue
		}
		n := instances(o)
		for i := range n {
			name := AddrVar(o.Name)
			if i > 0 {
				name += "_" + strconv.Itoa(i)
			}
			env = append(env, name+"=http://"+a.Service(o.Name, i))
		}
	}
	for _, c := range l.CallsEnv {
		env = append(env, c.Value+"="+"http://"+a.Service(c.Name, 0))
	}
	p := strconv.Itoa(port)
	var errs []error
	for _, e := range l.Env {
		v, err := topology.ExpandEnv(fmt.Sprintf("services.%s.env.%s", s.Name, e.Name), e.Value, getenv)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		env = append(env, e.Name+"="+strings.ReplaceAll(v, topology.PortPlaceholder, p))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("launch %s: %w", s.Name, errors.Join(errs...))
	}
	return env, nil
}

// Args returns the started service's command with {port} replaced.
func Args(l *topology.Launch, port int) []string {
	p := strconv.Itoa(port)
	out := make([]string, len(l.Command))
	for i, a := range l.Command {
		out[i] = strings.ReplaceAll(a, topology.PortPlaceholder, p)
	}
	return out
}

// instances is how many instances a service has an address for: a
// simulated service's instances, one for a service of the user's.
func instances(s *topology.Service) int {
	if s.IsExternal() {
		return 1
	}
	return s.Instances
}
