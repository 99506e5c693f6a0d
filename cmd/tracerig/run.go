package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// runFlags are run's flags.
type runFlags struct {
	out, rate, otlp, cpuprof, control, addrFile *string
	metrics, metricsOTLP                        *string
	saveSpans                                   *string
	ui                                          uiFlags
	runID, runtime                              *string
	kube                                        kubeFlags
	seed                                        *uint64
	duration                                    *time.Duration
	quiet                                       *bool
	output                                      *string
	allowRemote                                 bool
	tscale                                      *float64
	fs                                          *pflag.FlagSet
}

const runLong = `Run a scenario end to end: bring its topology up, drive its load, play its
faults, then check what reached the backend against what was sent, print the
report and write report.json, junit.xml and report.html to --out.

SCENARIO is a scenario file, or the NAME of a library scenario ('tracerig list').
The flags override the scenario for this run. --rate counts requests, in the
scenario's grammar: 200/s, 50/100ms, or 0 for as fast as the workers go.

Exits 0 when every check passed, 1 when one failed, 2 on a usage or config
error, 3 when the run itself failed, 130 when interrupted.`

const runExample = `  tracerig run quickstart
  tracerig run --duration 30s --rate 200/s scenario.yaml
  tracerig run --otlp-endpoint https://ingest.example:4317 --quiet shop
  tracerig run --control 127.0.0.1:7000 payment-brownout   # then: tracerig fault add ...
  tracerig run --metrics 127.0.0.1:9464 soak               # Prometheus scrapes /metrics
  tracerig run --ui 127.0.0.1:8080 --until-stopped shop    # a live demo: open http://127.0.0.1:8080/
  tracerig run --seed 42 --run-id 00f067aa0ba902b7 shop   # replay a run`

// newRunCmd returns the run command.
func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:               "run [flags] SCENARIO",
		Short:             "Run a scenario and check what reached the backend",
		Long:              runLong,
		Example:           runExample,
		Args:              args(1, 1, "scenario file"),
		ValidArgsFunction: scenarioNames(1),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			return runCmd(ctx, f, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		}),
	}
	fs := cmd.Flags()
	f.fs = fs
	f.out = fs.String("out", "tracerig-out", "folder for report.json and the load results")
	f.seed = fs.Uint64("seed", 0, "seed for every decision of the run (default: the scenario's)")
	f.runID = fs.String("run-id", "", "the run's ID, `HEX` (16 digits), instead of a random one: with --seed, replays a run on a shared backend exactly (its report gives both)")
	f.duration = fs.Duration("duration", 0, "load duration for every load entry, e.g. 30s or 2m (default: the scenario's)")
	f.rate = fs.String("rate", "", "`REQUESTS/s` for every load entry, e.g. 200/s or 50/100ms; 0 = as fast as the workers go (default: the scenario's)")
	f.otlp = fs.String("otlp-endpoint", "", "export to `ENDPOINT` instead of the scenario's backend: HOST:PORT, or an http:// or https:// URL, with the other settings of the OTEL_EXPORTER_OTLP_* variables")
	f.quiet = fs.BoolP("quiet", "q", false, "no progress line")
	f.runtime = fs.String("runtime", "", "run the services `inprocess`, in containers or on kubernetes (default: the scenario's)")
	f.kube.add(fs)
	f.output = addOutputFlag(cmd, "the report (json: report.json's content)")
	f.cpuprof = fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE` (pprof)")
	f.tscale = fs.Float64("time-scale", 1, "play the scenario's timeline (load durations, fault windows, expectation times such as spans.during) at this fraction of its length, in (0, 1]")
	f.control = fs.String("control", "", "serve the live fault API on `HOST:PORT` while load runs (see 'tracerig fault'); loopback only without --allow-remote")
	f.addrFile = fs.String("addr-file", "", "write the simulated services' addresses (TRACERIG_ADDR_<SERVICE>=http://HOST:PORT) and the backend's OTEL_* variables to `PATH` before load, for external services")
	f.metrics = addMetricsFlag(fs, "the run's", "; --control's address serves both")
	f.metricsOTLP = addMetricsOTLPFlag(fs, "the run's")
	f.ui.add(fs)
	f.saveSpans = fs.String("save-spans", "", "write the spans that reached the backend to `FILE` as OTLP protobuf as the run goes (input for 'tracerig infer')")
	fs.BoolVar(&f.allowRemote, "allow-remote", false, "let --control, --metrics and --ui listen on an address other than loopback: anyone who reaches the control API or the live page can inject faults")
	fs.BoolVar(&f.allowRemote, "control-any", false, "the former name of --allow-remote")
	deprecate(fs, "control-any", "use --allow-remote")
	return cmd
}

// runCmd runs one scenario end to end and prints its report.
func runCmd(ctx context.Context, f *runFlags, arg string, stdout, stderr io.Writer) error {
	if err := checkOutputFormat(*f.output); err != nil {
		return err
	}
	controlAddr, err := f.controlAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := metricsListenAddr(f.fs, *f.metrics, f.allowRemote)
	if err != nil {
		return err
	}
	metricsOTLP, err := metricsOTLPEndpoint(*f.metricsOTLP)
	if err != nil {
		return err
	}
	uiAddr, err := uiListenAddr(f.fs, *f.ui.addr, f.allowRemote)
	if err != nil {
		return err
	}
	sc, err := loadScenario(arg)
	if err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	if note := otlpEnvNote(sc, *f.otlp, os.Getenv); note != "" {
		fmt.Fprintln(stderr, "note: "+note)
	}
	if f.fs.Changed("runtime") {
		if sc.Runtime, err = parseRuntime(*f.runtime); err != nil {
			return err
		}
		if err := sc.Validate(); err != nil {
			return &exitError{code: exitUsage, err: configError(err)}
		}
	}
	opts := f.wire(sc, controlAddr, stderr)
	opts.Metrics, opts.MetricsOTLP = metricsAddr, metricsOTLP
	if metricsAddr != "" {
		opts.MetricsReady = metricsReady(stderr)
	}
	if opts.Kubernetes, err = f.kube.options(); err != nil {
		return err
	}
	opts.CommandLine = commandLine(ctx)
	if err := f.overrides(&opts); err != nil {
		return err
	}
	if opts.ResourceAttributes, err = otlpconf.ParseResourceAttributes(os.Getenv("OTEL_RESOURCE_ATTRIBUTES")); err != nil {
		return usageError("OTEL_RESOURCE_ATTRIBUTES: %v", err)
	}
	p := &reportPrinter{output: *f.output, outDir: opts.OutDir, stdout: stdout, stderr: stderr}
	ctx, release := wireUI(ctx, &opts, uiAddr, *f.ui.untilStopped, stderr, p.print)
	defer release()
	return runScenario(ctx, sc, opts, *f.cpuprof, p)
}

// controlAddr checks --control and --allow-remote and returns the address
// the control API listens on; "" without --control.
func (f *runFlags) controlAddr() (string, error) {
	if !f.fs.Changed("control") {
		if f.allowRemote && !f.fs.Changed("metrics") && !f.fs.Changed("ui") {
			return "", usageError("--allow-remote needs --control, --metrics or --ui")
		}
		return "", nil
	}
	a, err := controlListenAddr(*f.control, f.allowRemote)
	if err != nil {
		return "", &exitError{code: exitUsage, err: err}
	}
	return a, nil
}

// wire returns the run's options for the outputs and the control API:
// where the report goes, what external services and the user are told.
func (f *runFlags) wire(sc *topology.Scenario, controlAddr string, stderr io.Writer) scenarios.Options {
	addrFile := *f.addrFile
	opts := scenarios.Options{OutDir: *f.out, OTLPEndpoint: *f.otlp, Control: controlAddr, AddrFile: addrFile, SaveSpans: *f.saveSpans}
	if scenarios.HasRunningExternal(sc.Topology) {
		opts.ExternalEnv = func(env []string) error {
			fmt.Fprintf(stderr, "external services: give them this environment%s:\n", map[bool]string{true: " (also in " + addrFile + ")"}[addrFile != ""])
			for _, line := range env {
				fmt.Fprintln(stderr, "  "+line)
			}
			return nil
		}
	}
	if controlAddr != "" {
		opts.ControlReady = func(addr string) {
			fmt.Fprintf(stderr, "control API on http://%s (tracerig fault --control %s ...)\n", addr, clientAddr(addr))
		}
	}
	if !*f.quiet {
		opts.Progress = stderr
		opts.ProgressPlain = !isTerminal(stderr)
	}
	return opts
}

// overrides checks the flags that override the scenario's seed, load and
// timeline, and sets those given in opts.
func (f *runFlags) overrides(opts *scenarios.Options) error {
	set := func(name string) bool { return f.fs.Changed(name) }
	if set("seed") {
		opts.Seed = f.seed
	}
	if set("run-id") {
		id, err := simulator.ParseRunID(*f.runID)
		if err != nil {
			return usageError("--run-id: %v", err)
		}
		opts.RunID = id
	}
	if set("duration") {
		if *f.duration <= 0 {
			return usageError("--duration must be positive, got %s", *f.duration)
		}
		opts.Duration = f.duration
	}
	if set("rate") {
		r, err := topology.ParseRate(*f.rate)
		if err != nil {
			return usageError("--rate: %v", err)
		}
		if r.Freq < 0 {
			// ParseRate leaves the sign to its callers; a negative pacer
			// would send nothing and fail the checks instead.
			return usageError("--rate must not be negative, got %s", *f.rate)
		}
		opts.Rate = &r
	}
	if set("time-scale") {
		if *f.tscale <= 0 || *f.tscale > 1 {
			return usageError("--time-scale must be in (0, 1], got %g", *f.tscale)
		}
		opts.TimeScale = *f.tscale
	}
	return nil
}

// runScenario runs sc with opts under the CPU profile, prints its report
// with p (unless the live page's wait printed it) and turns its outcome
// into the exit code.
func runScenario(ctx context.Context, sc *topology.Scenario, opts scenarios.Options, cpuprof string, p *reportPrinter) error {
	restoreGC, _ := tuneGC()
	defer restoreGC()
	stopProfile, err := startCPUProfile(cpuprof)
	if err != nil {
		return err
	}
	defer stopProfile()
	rep, err := scenarios.Run(ctx, sc, opts)
	if err != nil {
		if ctx.Err() != nil {
			// Interrupted before load started: the start failed because
			// of the interrupt (a cancelled dial reads "unreachable").
			return &exitError{code: exitInterrupted, err: errors.New("interrupted while starting the run")}
		}
		var rerr *scenarios.RuntimeError
		if errors.As(err, &rerr) {
			return &exitError{code: exitRuntime, err: err}
		}
		// Not a failure of the run itself: a bad file or setting.
		return &exitError{code: exitUsage, err: err}
	}
	if err := p.print(rep); err != nil {
		return err
	}
	switch {
	case rep.Interrupted:
		return &exitError{code: exitInterrupted}
	case rep.Failed():
		return &exitError{code: exitCheckFailed}
	}
	return nil
}

// controlListenAddr checks the --control address (see listenAddr).
func controlListenAddr(addr string, allowAny bool) (string, error) {
	return listenAddr("control", addr, allowAny, "the control API lets anyone who reaches it inject faults")
}

// listenAddr checks the address of the listen flag --name. A host left out
// (":7000") means loopback; a host that is not a loopback address (or
// localhost) needs --allow-remote, with which an empty host listens on
// every interface. risk says what a listener elsewhere exposes.
func listenAddr(name, addr string, allowAny bool, risk string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--%s: %q is not HOST:PORT (e.g. 127.0.0.1:7000, or 127.0.0.1:0 for a free port)", name, addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return "", fmt.Errorf("--%s: bad port in %q", name, addr)
	}
	switch {
	case host == "" && !allowAny:
		return net.JoinHostPort("127.0.0.1", port), nil
	case host == "", allowAny, isLoopback(host):
		return addr, nil
	}
	return "", fmt.Errorf("--%s: %s is not a loopback address; %s, so pass --allow-remote to listen there", name, host, risk)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// clientAddr is the address a client on this machine dials to reach a
// listener on addr: an unspecified host (0.0.0.0, ::) becomes loopback.
func clientAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr
}

// reportPrinter prints a run's report once: as text or JSON on stdout,
// and where its files went on stderr.
type reportPrinter struct {
	output, outDir string
	stdout, stderr io.Writer
	printed        bool
}

func (p *reportPrinter) print(rep *report.Report) error {
	if p.printed {
		return nil
	}
	p.printed = true
	write := rep.WriteText
	if p.output == outputJSON {
		write = func(w io.Writer) error { return writeJSON(w, rep) }
	}
	if err := write(p.stdout); err != nil {
		return err
	}
	if p.outDir != "" {
		fmt.Fprintf(p.stderr, "report written to %s/report.json (also junit.xml, report.html, results.bin, decisions.tsv)\n", p.outDir)
	}
	return nil
}
