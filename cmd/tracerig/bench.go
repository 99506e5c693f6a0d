package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

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
}

// newBenchFlags defines bench's flags and usage on a new flag set.
func newBenchFlags(stderr io.Writer) (*flag.FlagSet, *benchFlags) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	b := &benchFlags{
		blastFlags: addBlastFlags(fs, 10*time.Second),
		sink:       fs.String("sink", "backend", "the child sink without --otlp-endpoint: backend (tracerig backend, stores every span) or count (an OTLP/gRPC and OTLP/HTTP receiver that decodes and counts)"),
		serveCount: fs.Bool("serve-counting-sink", false, "internal: be the counting sink"),
		hops:       fs.Bool("hops", false, "measure real-hop mode instead: run the scenario (default throughput) as `tracerig run` does, exporting to the sink, and report CPU per 1M spans exported"),
		floor:      fs.Duration("floor", 4*time.Second, "with --hops: how long to measure the bare net/http hop floor the run is compared with (half before the run, half after); 0 = not at all"),
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig bench [flags] [SCENARIO.yaml|NAME]   (default scenario: shop)\n\n"+
			"Runs the synthetic generator (tracerig blast) for --duration against a sink in another\n"+
			"process: `tracerig backend` started as a child (its counts are read back and its own\n"+
			"CPU is reported), or --otlp-endpoint. Prints spans/s, CPU-seconds per 1M spans and peak RSS.\n"+
			"Exits 1 when a span was not delivered or --rate was not reached.\n\n"+
			"With --hops it measures real-hop mode instead: the scenario (default throughput) runs as\n"+
			"`tracerig run` runs it, exporting to the sink, for --duration, and compares its CPU per hop\n"+
			"with a bare net/http hop measured in the same process (--floor).\n\nflags:\n")
		fs.PrintDefaults()
	}
	return fs, b
}

// benchCmd measures the synthetic generator: it runs blast against a sink
// in another process — `tracerig backend` started as a child, or any OTLP
// endpoint — so that the CPU and memory figures are the generator's alone.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, b := newBenchFlags(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *b.serveCount {
		return serveCountingSink(ctx, stdout)
	}
	scenario, err := b.scenario(fs)
	if err != nil {
		return err
	}
	if *b.hops {
		return benchHops(ctx, fs, scenario, b.blastFlags, *b.sink, *b.floor, stdout)
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
func (b *benchFlags) scenario(fs *flag.FlagSet) (string, error) {
	if *b.sink != "backend" && *b.sink != "count" {
		return "", usageError("--sink must be backend or count")
	}
	scenario := "shop"
	if *b.hops {
		scenario = "throughput"
	}
	switch fs.NArg() {
	case 0:
	case 1:
		scenario = fs.Arg(0)
	default:
		fs.Usage()
		return "", usageError("want at most one scenario, got %d", fs.NArg())
	}
	if !*b.hops && flagSet(fs, "floor") {
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
	rep.WriteText(stdout)
	return finishBlast(ctx, f, rep)
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
