package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/otlpexport"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// newServeCmd returns the serve command, which each container of the
// container runtime runs; help does not list it.
func newServeCmd() *cobra.Command {
	cfg := &serveFlags{ServeConfig: control.DefaultServeConfig()}
	cmd := &cobra.Command{
		Use:   "serve --topology FILE --service S [flags]",
		Short: "Run one service instance with a control API (containers)",
		Long: `Run one instance of one service of a topology, knowing every other instance by
address, with its control API (/healthz, /ledger, /shutdown, /faults): what
each container of 'runtime: containers' runs, with the command line the
container runtime writes. It exports to --otlp-endpoint with the rest of the
export settings from the OTEL_EXPORTER_OTLP_* variables.

With --conformance ADDR it serves only the W3C Trace Context participant, as
'tracerig conformance --listen ADDR' does.`,
		Example: `  tracerig serve --topology shop.yaml --service cart --listen :8080 --control :9090 \
    --peers 'inventory=10.0.0.5:8080' --otlp-endpoint 10.0.0.2:4317
  tracerig serve --conformance 0.0.0.0:5000`,
		Hidden: true,
		Args:   args(0, 0, ""),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, _ []string) error {
			return serveCmd(ctx, cfg, cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	addGoFlags(cmd, func(fs *flag.FlagSet) { cfg.peers = cfg.Flags(fs) })
	return cmd
}

// serveCmd runs one instance of one service of a topology, knowing every
// other instance by address, plus its control API (package control): the
// building block of the container runtime (one container per instance runs
// `tracerig serve`, with the command line control.ServeConfig writes).
func serveCmd(ctx context.Context, cfg *serveFlags, stdout, stderr io.Writer) error {
	if cfg.Conformance != "" {
		f := conformanceDefaults()
		f.listen = cfg.Conformance
		return conformanceCmd(ctx, f, stdout)
	}
	if err := cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	topo, err := serveTopology(cfg)
	if err != nil {
		return err
	}
	ident, err := serveIdentity(cfg.ServeConfig)
	if err != nil {
		return usageError("%v", err)
	}
	conn, err := otlpConn(cfg.ServeConfig, os.Getenv)
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := serveRuntime(cfg, topo, conn, ident...)
	if err := rt.Start(ctx); err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	srv := control.NewInstanceServer(rt, topo)
	addr, err := srv.Listen(cfg.Control)
	if err != nil {
		rt.Shutdown(context.WithoutCancel(ctx))
		return &exitError{code: exitRuntime, err: err}
	}
	fmt.Fprintf(stdout, "tracerig serve: %s-%d on %s, control on %s, exporting to %s\n", cfg.Service, cfg.Instance, cfg.Listen, addr, conn.Config())
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(stopCtx)
	srv.Close(stopCtx)
	if err != nil {
		fmt.Fprintf(stderr, "tracerig serve: %v\n", err)
	}
	return nil
}

// serveFlags is serve's configuration as parsed, with the step that
// completes it: --peers is decoded by serveTopology, once the topology is
// known to hold the instance.
type serveFlags struct {
	control.ServeConfig
	peers func() error // decodes --peers
}

// serveTopology loads the topology and checks that it has the instance to
// serve, then decodes --peers.
func serveTopology(cfg *serveFlags) (*topology.Topology, error) {
	topo, err := loadServeTopology(cfg.Topology)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	svc := topo.Service(cfg.Service)
	if svc == nil {
		return nil, usageError("topology %s has no service %q", topo.Name, cfg.Service)
	}
	if cfg.Instance < 0 || cfg.Instance >= svc.Instances {
		return nil, usageError("service %s has %d instances, no instance %d", cfg.Service, svc.Instances, cfg.Instance)
	}
	if err := cfg.peers(); err != nil {
		return nil, usageError("%v", err)
	}
	return topo, nil
}

// loadServeTopology reads a topology file, or the topology of a scenario
// file.
func loadServeTopology(file string) (*topology.Topology, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	topo, terr := topology.ParseTopology(file, data)
	if terr == nil {
		return topo, nil
	}
	sc, serr := topology.ParseScenario(file, data, nil)
	if serr != nil {
		return nil, fmt.Errorf("%s is neither a topology (%v) nor a scenario (%v)", file, terr, serr)
	}
	return sc.Topology, nil
}

// serveExportTimeout bounds each export of a served instance.
const serveExportTimeout = 5 * time.Second

// otlpConn opens the transport the instance exports over: to
// --otlp-endpoint (through --otlp-dial when set), with the other settings
// of the OTEL_EXPORTER_OTLP_* variables getenv reads. It redials quickly:
// the backend may come up after the instance.
func otlpConn(cfg control.ServeConfig, getenv func(string) string) (*otlpexport.Client, error) {
	env, err := otlpconf.FromEnv(getenv, otlpconf.GRPC)
	if err != nil {
		return nil, usageError("OTEL_EXPORTER_OTLP_*: %w", err)
	}
	if !slices.ContainsFunc(env.Set, func(name string) bool { return strings.HasSuffix(name, "_TIMEOUT") }) {
		env.Config.Timeout = serveExportTimeout
	}
	c, err := env.Config.WithEndpoint(cfg.OTLPEndpoint)
	if err != nil {
		return nil, usageError("--otlp-endpoint: %w", err)
	}
	var opts []otlpexport.ClientOption
	if cfg.OTLPDial != "" {
		opts = append(opts, otlpexport.WithDialAddr(cfg.OTLPDial))
	}
	conn, err := otlpexport.Open(c, opts...)
	if err != nil {
		return nil, &exitError{code: exitRuntime, err: fmt.Errorf("connect to %s: %w", c, err)}
	}
	return conn, nil
}

// serveIdentity returns the options that give the instance's resource the
// run's ID and resource attributes, and derive its IDs as the run does.
func serveIdentity(cfg control.ServeConfig) ([]simulator.Option, error) {
	var opts []simulator.Option
	if cfg.RunID != "" {
		id, err := simulator.ParseRunID(cfg.RunID)
		if err != nil {
			return nil, fmt.Errorf("--run-id: %w", err)
		}
		opts = append(opts, simulator.WithRunID(id))
	}
	if cfg.IsolateIDs {
		if cfg.RunID == "" {
			return nil, errors.New("--isolate-ids needs --run-id")
		}
		opts = append(opts, simulator.WithIsolatedIDs())
	}
	attrs, err := otlpconf.ParseResourceAttributes(cfg.ResourceAttributes)
	if err != nil {
		return nil, fmt.Errorf("--resource-attributes: %w", err)
	}
	return append(opts, simulator.WithResourceAttributes(attrs...)), nil
}

// serveRuntime returns the runtime of the one instance cfg names, exporting
// over conn and counting retried exports in its ledger; extra adds to its
// options.
func serveRuntime(cfg *serveFlags, topo *topology.Topology, conn *otlpexport.Client, extra ...simulator.Option) *simulator.Runtime {
	var rt *simulator.Runtime
	retried := otlpexport.WithRetryHook(func(spans int, _ error) { rt.Ledger().ExportRetried(spans) })
	retry := otlptracegrpc.RetryConfig{Enabled: cfg.ExportRetry > 0, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: cfg.ExportRetry}
	rt = simulator.New(topo, append([]simulator.Option{
		simulator.WithSeed(cfg.Seed),
		simulator.WithOnly(cfg.Service, cfg.Instance),
		simulator.WithPeers(cfg.Peers),
		simulator.WithBrokers(cfg.Brokers),
		simulator.WithListen(cfg.Listen),
		simulator.WithExporter(func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlpexport.New(conn, otlpexport.WithTimeout(conn.Config().Timeout), otlpexport.WithRetry(retry), retried), nil
		}),
	}, extra...)...)
	return rt
}
