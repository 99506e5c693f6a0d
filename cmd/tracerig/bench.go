package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/scenarios"
)

// benchFlags are bench's flags: blast's, and those choosing the sink and
// real-hop mode.
type benchFlags struct {
	*blastFlags
	sink       *string
	serveCount *bool
	hops       *bool
	floor      *time.Duration
	fs         *pflag.FlagSet
}

const benchLong = `Measure the synthetic generator (tracerig blast): run it for --duration against
a sink in another process, 'tracerig backend' started as a child (its counts are
read back and its own CPU is reported), or --otlp-endpoint. Prints spans/s,
CPU-seconds per 1M spans and peak RSS. --rate counts spans, not requests.
The default SCENARIO is shop (throughput with --hops).

With --hops it measures real-hop mode instead: the scenario runs as
'tracerig run' runs it, exporting to the sink, for --duration, and its CPU per
hop is compared with a bare net/http hop measured in the same process (--floor).

Exits 1 when a span was not delivered or --rate was not reached.`

const benchExample = `  tracerig bench
  tracerig bench --sink count --rate 100000/s --duration 30s shop
  tracerig bench --hops --duration 20s
  tracerig bench --otlp-endpoint 127.0.0.1:4317 quickstart`

// newBenchCmd returns the bench command.
func newBenchCmd() *cobra.Command {
	b := &benchFlags{}
	cmd := &cobra.Command{
		Use:               "bench [flags] [SCENARIO]",
		Short:             "Measure blast against a sink in another process",
		Long:              benchLong,
		Example:           benchExample,
		Args:              args(0, 1, "scenario"),
		ValidArgsFunction: scenarioNames(1),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			b.progressTo(cmd.ErrOrStderr())
			return benchCmd(ctx, b, args, cmd.OutOrStdout())
		}),
	}
	fs := cmd.Flags()
	b.fs = fs
	b.blastFlags = addBlastFlags(fs, 10*time.Second)
	b.addMetrics()
	b.sink = fs.String("sink", "backend", "the child sink without --otlp-endpoint: backend (tracerig backend, stores every span) or count (an OTLP/gRPC and OTLP/HTTP receiver that decodes and counts)")
	b.serveCount = fs.Bool("serve-counting-sink", false, "be the counting sink (bench starts itself with it)")
	b.hops = fs.Bool("hops", false, "measure real-hop mode instead: run the scenario (default throughput) as 'tracerig run' does, exporting to the sink, and report CPU per 1M spans exported")
	b.floor = fs.Duration("floor", 4*time.Second, "with --hops: how long to measure the bare net/http hop floor the run is compared with (half before the run, half after); 0 = not at all")
	fs.MarkHidden("serve-counting-sink")
	cmd.RegisterFlagCompletionFunc("sink", fixedValues("backend", "count"))
	cmd.RegisterFlagCompletionFunc("protocol", fixedValues("grpc", "http"))
	return cmd
}

// benchCmd measures the synthetic generator: it runs blast against a sink
// in another process — `tracerig backend` started as a child, or any OTLP
// endpoint — so that the CPU and memory figures are the generator's alone.
func benchCmd(ctx context.Context, b *benchFlags, args []string, stdout io.Writer) error {
	if *b.serveCount {
		return serveCountingSink(ctx, stdout)
	}
	scenario, err := b.scenario(args)
	if err != nil {
		return err
	}
	if *b.hops {
		return benchHops(ctx, b.fs, scenario, b.blastFlags, *b.sink, *b.floor, stdout)
	}
	x, err := b.resolveExport(os.Getenv)
	if err != nil {
		return err
	}
	if err := b.check(x); err != nil {
		return err
	}
	return benchBlast(ctx, scenario, b.blastFlags, x, *b.sink, stdout)
}

// scenario checks the flags that choose the mode and returns the scenario
// to run: the argument, or the mode's default.
func (b *benchFlags) scenario(args []string) (string, error) {
	if *b.sink != "backend" && *b.sink != "count" {
		return "", usageError("--sink must be backend or count")
	}
	scenario := "shop"
	if *b.hops {
		scenario = "throughput"
	}
	if len(args) == 1 {
		scenario = args[0]
	}
	if !*b.hops && b.fs.Changed("floor") {
		return "", usageError("--floor: only with --hops")
	}
	if *b.hops && *b.floor < 0 {
		return "", usageError("--floor must not be negative, got %s", *b.floor)
	}
	return scenario, nil
}

// benchBlast runs blast against the child sink of kind sinkKind, or the
// endpoint x names.
func benchBlast(ctx context.Context, scenario string, f *blastFlags, x blastExport, sinkKind string, stdout io.Writer) error {
	var sink *scenarios.BlastSink
	if x.endpoint == "" {
		sink = childSink(sinkKind)
	} else if err := preflight(ctx, f.options(x), x); err != nil {
		return err
	}
	rep, err := runBlast(ctx, "bench", scenario, f, f.options(x), sink)
	if err != nil {
		return err
	}
	if err := f.writeSummary(stdout, rep); err != nil {
		return err
	}
	return finishBlast(ctx, f, rep)
}
