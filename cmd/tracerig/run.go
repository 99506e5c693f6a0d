package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

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
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig run [flags] SCENARIO.yaml\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("want exactly one scenario file, got %d", fs.NArg())
	}
	sc, err := topology.LoadScenario(fs.Arg(0))
	if err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	opts := scenarios.Options{OutDir: *out, OTLPEndpoint: *otlp}
	if !*quiet {
		opts.Progress = stderr
	}
	var set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
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
		fmt.Fprintf(stderr, "report written to %s/report.json\n", *out)
	}
	switch {
	case rep.Interrupted:
		return &exitError{code: exitInterrupted}
	case rep.Failed():
		return &exitError{code: exitCheckFailed}
	}
	return nil
}
