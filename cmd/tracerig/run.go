package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// runFlags are run's flags.
type runFlags struct {
	out, rate, otlp, cpuprof, control, addrFile *string
	runID                                       *string
	seed                                        *uint64
	duration                                    *time.Duration
	quiet, ctlAny                               *bool
	tscale                                      *float64
}

// newRunFlags defines run's flags and usage on a new flag set.
func newRunFlags(stderr io.Writer) (*flag.FlagSet, *runFlags) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &runFlags{
		out:      fs.String("out", "tracerig-out", "folder for report.json and the load results"),
		seed:     fs.Uint64("seed", 0, "seed for every decision of the run (default: the scenario's)"),
		runID:    fs.String("run-id", "", "the run's ID, `HEX` (16 digits), instead of a random one: with --seed, replays a run on a shared backend exactly (its report gives both)"),
		duration: fs.Duration("duration", 0, "load duration for every load entry (default: the scenario's)"),
		rate:     fs.String("rate", "", "request rate for every load entry, e.g. 200/s; 0 = as fast as the workers go"),
		otlp:     fs.String("otlp-endpoint", "", "export over OTLP gRPC to HOST:PORT instead of the scenario's backend"),
		quiet:    fs.Bool("quiet", false, "no progress line"),
		cpuprof:  fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE` (pprof)"),
		tscale:   fs.Float64("time-scale", 1, "play the scenario's timeline (load durations, fault windows, expectation times such as spans.during) at this fraction of its length, in (0, 1]"),
		control:  fs.String("control", "", "serve the live fault API on `HOST:PORT` while load runs (see 'tracerig fault'); loopback only without --control-any"),
		addrFile: fs.String("addr-file", "", "write the simulated services' addresses (TRACERIG_ADDR_<SERVICE>=http://HOST:PORT) and the backend's OTEL_* variables to `PATH` before load, for external services"),
		ctlAny:   fs.Bool("control-any", false, "let --control listen on an address other than loopback: anyone who reaches it can inject faults"),
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig run [flags] SCENARIO.yaml|NAME\n\nNAME: a scenario of the library (tracerig list)\n\nflags:\n")
		fs.PrintDefaults()
	}
	return fs, f
}

// runCmd runs one scenario end to end and prints its report.
func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newRunFlags(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("want exactly one scenario file, got %d", fs.NArg())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	controlAddr, err := f.controlAddr(set)
	if err != nil {
		return err
	}
	sc, err := loadScenario(fs.Arg(0))
	if err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	if note := otlpEnvNote(sc, *f.otlp, os.Getenv); note != "" {
		fmt.Fprintln(stderr, "note: "+note)
	}
	opts := f.wire(sc, controlAddr, stderr)
	if err := f.overrides(set, &opts); err != nil {
		return err
	}
	if opts.ResourceAttributes, err = otlpconf.ParseResourceAttributes(os.Getenv("OTEL_RESOURCE_ATTRIBUTES")); err != nil {
		return usageError("OTEL_RESOURCE_ATTRIBUTES: %v", err)
	}
	return runScenario(ctx, sc, opts, *f.cpuprof, stdout, stderr)
}

// controlAddr checks --control and --control-any and returns the address
// the control API listens on; "" without --control.
func (f *runFlags) controlAddr(set map[string]bool) (string, error) {
	if !set["control"] {
		if *f.ctlAny {
			return "", usageError("--control-any needs --control")
		}
		return "", nil
	}
	a, err := controlListenAddr(*f.control, *f.ctlAny)
	if err != nil {
		return "", &exitError{code: exitUsage, err: err}
	}
	return a, nil
}

// wire returns the run's options for the outputs and the control API:
// where the report goes, what external services and the user are told.
func (f *runFlags) wire(sc *topology.Scenario, controlAddr string, stderr io.Writer) scenarios.Options {
	addrFile := *f.addrFile
	opts := scenarios.Options{OutDir: *f.out, OTLPEndpoint: *f.otlp, Control: controlAddr, AddrFile: addrFile}
	if scenarios.HasExternal(sc.Topology) {
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
	}
	return opts
}

// overrides checks the flags that override the scenario's seed, load and
// timeline, and sets those given in opts.
func (f *runFlags) overrides(set map[string]bool, opts *scenarios.Options) error {
	if set["seed"] {
		opts.Seed = f.seed
	}
	if set["run-id"] {
		id, err := simulator.ParseRunID(*f.runID)
		if err != nil {
			return usageError("--run-id: %v", err)
		}
		opts.RunID = id
	}
	if set["duration"] {
		if *f.duration <= 0 {
			return usageError("--duration must be positive, got %s", *f.duration)
		}
		opts.Duration = f.duration
	}
	if set["rate"] {
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
	if set["time-scale"] {
		if *f.tscale <= 0 || *f.tscale > 1 {
			return usageError("--time-scale must be in (0, 1], got %g", *f.tscale)
		}
		opts.TimeScale = *f.tscale
	}
	return nil
}

// runScenario runs sc with opts under the CPU profile, prints its report
// and turns its outcome into the exit code.
func runScenario(ctx context.Context, sc *topology.Scenario, opts scenarios.Options, cpuprof string, stdout, stderr io.Writer) error {
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
		return err
	}
	if err := rep.WriteText(stdout); err != nil {
		return err
	}
	if opts.OutDir != "" {
		fmt.Fprintf(stderr, "report written to %s/report.json (also junit.xml, report.html, results.bin, decisions.tsv)\n", opts.OutDir)
	}
	switch {
	case rep.Interrupted:
		return &exitError{code: exitInterrupted}
	case rep.Failed():
		return &exitError{code: exitCheckFailed}
	}
	return nil
}

// controlListenAddr checks the --control address. A host left out (":7000")
// means loopback; a host that is not a loopback address (or localhost) needs
// --control-any, with which an empty host listens on every interface.
func controlListenAddr(addr string, allowAny bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--control: %q is not HOST:PORT (e.g. 127.0.0.1:7000, or 127.0.0.1:0 for a free port)", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return "", fmt.Errorf("--control: bad port in %q", addr)
	}
	switch {
	case host == "" && !allowAny:
		return net.JoinHostPort("127.0.0.1", port), nil
	case host == "", allowAny, isLoopback(host):
		return addr, nil
	}
	return "", fmt.Errorf("--control: %s is not a loopback address; the control API lets anyone who reaches it inject faults, so pass --control-any to listen there", host)
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
