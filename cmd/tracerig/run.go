package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
)

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out      = fs.String("out", "tracerig-out", "folder for report.json and the load results")
		seed     = fs.Uint64("seed", 0, "seed for every decision of the run (default: the scenario's)")
		duration = fs.Duration("duration", 0, "load duration for every load entry (default: the scenario's)")
		rate     = fs.String("rate", "", "request rate for every load entry, e.g. 200/s; 0 = as fast as the workers go")
		otlp     = fs.String("otlp-endpoint", "", "export over OTLP gRPC to HOST:PORT instead of the scenario's backend")
		quiet    = fs.Bool("quiet", false, "no progress line")
		cpuprof  = fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE` (pprof)")
		tscale   = fs.Float64("time-scale", 1, "play the scenario's timeline (load durations, fault windows, expectation times such as spans.during) at this fraction of its length, in (0, 1]")
		control  = fs.String("control", "", "serve the live fault API on `HOST:PORT` while load runs (see 'tracerig fault'); loopback only without --control-any")
		addrFile = fs.String("addr-file", "", "write the simulated services' addresses (TRACERIG_ADDR_<SERVICE>=http://HOST:PORT) and the backend's OTEL_* variables to `PATH` before load, for external services")
		ctlAny   = fs.Bool("control-any", false, "let --control listen on an address other than loopback: anyone who reaches it can inject faults")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig run [flags] SCENARIO.yaml|NAME\n\nNAME: a scenario of the library (tracerig list)\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("want exactly one scenario file, got %d", fs.NArg())
	}
	var set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var controlAddr string
	if set["control"] {
		a, err := controlListenAddr(*control, *ctlAny)
		if err != nil {
			return &exitError{code: exitUsage, err: err}
		}
		controlAddr = a
	} else if *ctlAny {
		return usageError("--control-any needs --control")
	}
	sc, err := loadScenario(fs.Arg(0))
	if err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	opts := scenarios.Options{OutDir: *out, OTLPEndpoint: *otlp, Control: controlAddr, AddrFile: *addrFile}
	if scenarios.HasExternal(sc.Topology) {
		opts.ExternalEnv = func(env []string) error {
			fmt.Fprintf(stderr, "external services: give them this environment%s:\n", map[bool]string{true: " (also in " + *addrFile + ")"}[*addrFile != ""])
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
	if !*quiet {
		opts.Progress = stderr
	}
	if set["seed"] {
		opts.Seed = seed
	}
	if set["duration"] {
		if *duration <= 0 {
			return usageError("--duration must be positive, got %s", *duration)
		}
		opts.Duration = duration
	}
	if set["rate"] {
		r, err := topology.ParseRate(*rate)
		if err != nil {
			return usageError("--rate: %v", err)
		}
		if r.Freq < 0 {
			// ParseRate leaves the sign to its callers; a negative pacer
			// would send nothing and fail the checks instead.
			return usageError("--rate must not be negative, got %s", *rate)
		}
		opts.Rate = &r
	}
	if set["time-scale"] {
		if *tscale <= 0 || *tscale > 1 {
			return usageError("--time-scale must be in (0, 1], got %g", *tscale)
		}
		opts.TimeScale = *tscale
	}
	restoreGC, _ := tuneGC()
	defer restoreGC()
	stopProfile, err := startCPUProfile(*cpuprof)
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
	if *out != "" {
		fmt.Fprintf(stderr, "report written to %s/report.json (also junit.xml, report.html, results.bin, decisions.tsv)\n", *out)
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
