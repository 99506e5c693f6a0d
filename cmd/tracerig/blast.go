package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// blastFlags are the flags blast and bench share.
type blastFlags struct {
	protocol   *string
	endpoint   *string
	duration   *time.Duration
	rate       *spanRate
	workers    *int
	conns      *int
	batch      *int
	retries    *int
	seed       *uint64
	runID      *string
	out        *string
	cpuprofile *string
	quiet      *bool
	output     *string
	metrics    *string
	otlpPush   *string // --metrics-otlp-endpoint
	// allowRemote lets --metrics listen elsewhere than on loopback.
	allowRemote *bool
	fs          *pflag.FlagSet
	progress    io.Writer // where the progress lines go; nil for none
	stderr      io.Writer // where notes go
	// metricsAt is where the metrics are served, metricsOTLPAt where they
	// are pushed, as check found them; "" for nowhere.
	metricsAt, metricsOTLPAt string
}

// progressTo sends the progress lines to w, unless --quiet, and notes to
// w in any case.
func (f *blastFlags) progressTo(w io.Writer) {
	f.stderr = w
	if !*f.quiet {
		f.progress = w
	}
}

// addMetrics defines --metrics, --allow-remote and --metrics-otlp-endpoint
// on f's flags: blast's and bench's, not a shard's.
func (f *blastFlags) addMetrics() {
	f.metrics = addMetricsFlag(f.fs, "the generator's", "")
	f.allowRemote = f.fs.Bool("allow-remote", false, "let --metrics listen on an address other than loopback")
	f.otlpPush = addMetricsOTLPFlag(f.fs, "the generator's")
}

// checkMetrics checks --metrics, --allow-remote and
// --metrics-otlp-endpoint, and sets where the metrics are served and
// pushed; nowhere without the flags.
func (f *blastFlags) checkMetrics() error {
	if f.metrics == nil {
		return nil
	}
	if *f.allowRemote && !f.fs.Changed("metrics") {
		return usageError("--allow-remote needs --metrics")
	}
	var err error
	if f.metricsAt, err = metricsListenAddr(f.fs, *f.metrics, *f.allowRemote); err != nil {
		return err
	}
	f.metricsOTLPAt, err = metricsOTLPEndpoint(*f.otlpPush)
	return err
}

// addBlastFlags defines blast's flags on fs, --duration defaulting to
// duration.
func addBlastFlags(fs *pflag.FlagSet, duration time.Duration) *blastFlags {
	f := &blastFlags{
		protocol: fs.String("protocol", "", "OTLP transport: grpc or http (protobuf over HTTP/1.1) (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)"),
		endpoint: fs.String("otlp-endpoint", "", "export to `ENDPOINT`: HOST:PORT, or an http:// or https:// URL (https: TLS; for http the path defaults to /v1/traces) (default: OTEL_EXPORTER_OTLP_ENDPOINT, else tracerig's own sink)"),
		duration: fs.Duration("duration", duration, "how long to send, e.g. 30s or 2m"),
		rate:     new(spanRate),
		workers:  fs.Int("workers", 4, "goroutines exporting batches (requests in flight)"),
		conns: fs.Int("conns", 2, "connections; gRPC multiplexes the workers' requests over them, "+
			"HTTP/1.1 carries one request at a time on each"),
		batch:      fs.Int("batch", 2048, "spans per export request (whole traces)"),
		retries:    fs.Int("retries", 3, "times a batch is sent again after a transient export failure (OTLP: gRPC UNAVAILABLE, HTTP 429/502/503/504, ...)"),
		seed:       fs.Uint64("seed", 0, "seed of the trace and span IDs (default: the scenario's)"),
		runID:      fs.String("run-id", "", "the run's ID, `HEX` (16 digits), instead of a random one: with --seed, replays the IDs of a run sent with --otlp-endpoint (its blast.json gives both)"),
		out:        fs.String("out", "", "write the run's report to `DIR`/blast.json: settings, totals, per-second series, verdicts (bench --hops: DIR/hops.json, its figures)"),
		cpuprofile: fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE`"),
		quiet:      fs.BoolP("quiet", "q", false, "no progress line on stderr"),
	}
	f.output = fs.StringP("output", "o", outputText, "`FORMAT` of the summary on stdout: text or json (json: blast.json's content)")
	f.fs = fs
	fs.Var(f.rate, "rate", "target `SPANS/s`, e.g. 50000/s, 3000/100ms or a bare 50000 (spans per second, not requests); 0 = flat out")
	return f
}

const blastLong = `Send synthetic traces shaped by the scenario's topology straight over
OTLP/gRPC or OTLP/HTTP, built as OTLP protobuf without the SDK.

Without --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) the embedded backend
runs in this process as the sink (its cost is then included in the CPU
figures) and the counts are read back. --rate counts spans, not requests.

With --kubernetes, --shards generator pods (an Indexed Job of tracerig's
--kube-image) start together and each sends its share of --rate and its
own slice of the traces, to the embedded backend run in the cluster (or
to --otlp-endpoint); one report sums them up, with each shard's figures,
and everything of the run is deleted after it.

Exits 1 when a span was not delivered, --rate was not reached or a shard
died, 3 when nothing could be sent.`

const blastExample = `  tracerig blast quickstart
  tracerig blast --rate 50000/s --duration 30s shop
  tracerig blast --protocol http --otlp-endpoint https://ingest.example/v1/traces shop
  tracerig blast --out results shop   # results/blast.json
  tracerig blast --kubernetes --shards 4 --kube-image tracerig:dev --kube-pull-policy Never --rate 200000/s shop`

// newBlastCmd returns the blast command.
func newBlastCmd() *cobra.Command {
	var f *blastFlags
	var k *blastKubeFlags
	cmd := &cobra.Command{
		Use:               "blast [flags] SCENARIO",
		Short:             "Send synthetic traces shaped by the topology over OTLP",
		Long:              blastLong,
		Example:           blastExample,
		Args:              args(1, 1, "scenario"),
		ValidArgsFunction: scenarioNames(1),
		RunE: action(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			f.progressTo(cmd.ErrOrStderr())
			if err := k.check(cmd.Flags(), f); err != nil {
				return err
			}
			if *k.on {
				return blastKubeCmd(ctx, f, k, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			return blastCmd(ctx, f, args[0], cmd.OutOrStdout())
		}),
	}
	f = addBlastFlags(cmd.Flags(), 10*time.Second)
	f.addMetrics()
	k = addBlastKubeFlags(cmd.Flags())
	cmd.RegisterFlagCompletionFunc("protocol", fixedValues("grpc", "http"))
	return cmd
}

// blastCmd sends synthetic traces shaped by a scenario's topology.
func blastCmd(ctx context.Context, f *blastFlags, scenario string, stdout io.Writer) error {
	x, err := f.resolveExport(os.Getenv)
	if err != nil {
		return err
	}
	if err := f.check(x); err != nil {
		return err
	}
	if err := preflight(ctx, f.options(x), x); err != nil {
		return err
	}
	rep, err := runBlast(ctx, "blast", scenario, f, f.options(x), nil)
	if err != nil {
		return err
	}
	if err := f.writeSummary(stdout, rep); err != nil {
		return err
	}
	return finishBlast(ctx, f, rep)
}

// check refuses flags out of range, an unknown protocol, and an HTTP
// endpoint that is not one.
func (f *blastFlags) check(x blastExport) error {
	if err := checkOutputFormat(*f.output); err != nil {
		return err
	}
	if err := f.checkMetrics(); err != nil {
		return err
	}
	switch {
	case *f.duration <= 0:
		return usageError("--duration must be positive")
	case float64(*f.rate) < 0:
		return usageError("--rate must be 0 (flat out) or positive")
	case *f.workers < 1 || *f.conns < 1 || *f.batch < 1:
		return usageError("--workers, --conns and --batch must be at least 1")
	case *f.retries < 0:
		return usageError("--retries must be 0 or more")
	}
	switch x.protocol {
	case synthetic.ProtocolGRPC:
	case synthetic.ProtocolHTTP:
		if x.endpoint != "" {
			if _, err := synthetic.HTTPTracesURL(x.endpoint); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
		}
	default:
		return usageError("--protocol must be grpc or http, not %q", x.protocol)
	}
	return nil
}

// options are the generator's options the flags ask for, sending as x
// says (x.endpoint "" = tracerig's own sink).
func (f *blastFlags) options(x blastExport) synthetic.RunOptions {
	o := synthetic.RunOptions{
		Protocol: x.protocol, Endpoint: x.endpoint, TLS: x.tls, Headers: x.headers, Gzip: x.gzip,
		Duration: *f.duration, Rate: float64(*f.rate),
		Workers: *f.workers, Conns: *f.conns, Batch: *f.batch, Retries: *f.retries,
	}
	if f.progress != nil {
		o.OnSample = blastProgress(f.progress, *f.duration)
	}
	return o
}

// writeSummary writes the run's summary as --output asks.
func (f *blastFlags) writeSummary(w io.Writer, rep *report.Blast) error {
	if *f.output == outputJSON {
		return writeJSON(w, rep)
	}
	return rep.WriteText(w)
}

// runBlast loads the scenario arg and runs it as blast or bench
// (command) with the flags' seed and profile, sending as run says, to
// sink when not nil.
func runBlast(ctx context.Context, command, arg string, f *blastFlags, run synthetic.RunOptions, sink *scenarios.BlastSink) (*report.Blast, error) {
	sc, err := loadScenario(arg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: configError(err)}
	}
	var runID simulator.RunID
	if *f.runID != "" {
		if runID, err = simulator.ParseRunID(*f.runID); err != nil {
			return nil, usageError("--run-id: %v", err)
		}
	}
	opts := scenarios.BlastOptions{
		Command: command, Scenario: arg, Seed: *f.seed, RunID: runID, Run: run, Sink: sink, CommandLine: commandLine(ctx),
		Profile: func() (func(), error) { return startCPUProfile(*f.cpuprofile) },
		Metrics: f.metricsAt, MetricsOTLP: f.metricsOTLPAt,
	}
	if f.metricsAt != "" && f.stderr != nil {
		opts.MetricsReady = metricsReady(f.stderr)
	}
	rep, err := scenarios.Blast(ctx, sc, opts)
	var ee *exitError
	var rerr *scenarios.RuntimeError
	switch {
	case err == nil:
		return rep, nil
	case errors.As(err, &ee):
		return nil, err
	case errors.As(err, &rerr):
		return nil, &exitError{code: exitRuntime, err: rerr.Err}
	}
	return nil, &exitError{code: exitUsage, err: err}
}

// finishBlast writes blast.json when --out is set and turns the verdicts
// into the exit code: 130 when interrupted, 3 when nothing was sent, 1
// when a verdict failed.
func finishBlast(ctx context.Context, f *blastFlags, rep *report.Blast) error {
	rep.Interrupted = ctx.Err() != nil
	if *f.out != "" {
		if err := rep.WriteJSON(filepath.Join(*f.out, "blast.json")); err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
	}
	if rep.Interrupted {
		return &exitError{code: exitInterrupted}
	}
	if rep.Totals.Sent == 0 {
		return &exitError{code: exitRuntime, err: errors.New("nothing was sent")}
	}
	var failed []string
	for _, v := range rep.Verdicts {
		if v.Status != assert.StatusPass {
			msg := v.Observed
			if v.Check == assert.CheckReadBack {
				msg = "read-back does not match what was sent"
			}
			failed = append(failed, msg)
		}
	}
	if len(failed) > 0 {
		return &exitError{code: exitCheckFailed, err: errors.New(strings.Join(failed, "; "))}
	}
	return nil
}

// startCPUProfile starts a CPU profile into path ("" = none); the returned
// func stops it and closes the file; calling it again does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	pf, err := os.Create(path)
	if err != nil {
		return nil, &exitError{code: exitRuntime, err: fmt.Errorf("cpu profile: %w", err)}
	}
	if err := pprof.StartCPUProfile(pf); err != nil {
		pf.Close()
		return nil, &exitError{code: exitRuntime, err: fmt.Errorf("cpu profile %s: %w", path, err)}
	}
	return sync.OnceFunc(func() {
		pprof.StopCPUProfile()
		pf.Close()
	}), nil
}
