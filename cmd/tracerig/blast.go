package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/tracerig/tracerig/fixtures/embedded"
	rusage "github.com/tracerig/tracerig/internal/usage"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// blastFlags are the flags blast and bench share.
type blastFlags struct {
	protocol   *string
	endpoint   *string
	duration   *time.Duration
	rate       *float64
	workers    *int
	conns      *int
	batch      *int
	retries    *int
	seed       *uint64
	out        *string
	cpuprofile *string
}

func addBlastFlags(fs *flag.FlagSet, duration time.Duration) *blastFlags {
	return &blastFlags{
		protocol: fs.String("protocol", "grpc", "OTLP transport: grpc or http (protobuf over HTTP/1.1)"),
		endpoint: fs.String("otlp-endpoint", "", "export to `ENDPOINT`: HOST:PORT, or for http also an http:// URL (default path /v1/traces)"),
		duration: fs.Duration("duration", duration, "how long to send"),
		rate:     fs.Float64("rate", 0, "target `SPANS/s`; 0 = flat out"),
		workers:  fs.Int("workers", 4, "goroutines exporting batches (requests in flight)"),
		conns: fs.Int("conns", 2, "connections; gRPC multiplexes the workers' requests over them, "+
			"HTTP/1.1 carries one request at a time on each"),
		batch:      fs.Int("batch", 2048, "spans per export request (whole traces)"),
		retries:    fs.Int("retries", 3, "times a batch is sent again after a transient export failure (OTLP: gRPC UNAVAILABLE, HTTP 429/502/503/504, ...)"),
		seed:       fs.Uint64("seed", 0, "seed of the trace and span IDs (default: the scenario's)"),
		out:        fs.String("out", "", "write the run's report to `DIR`/blast.json: settings, totals, per-second series, verdicts (bench --hops: DIR/hops.json, its figures)"),
		cpuprofile: fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE`"),
	}
}

// blastResult is one run of the generator with its process cost.
type blastResult struct {
	st       synthetic.Stats
	gen      *synthetic.Generator
	started  time.Time
	cpu      time.Duration // user+sys of this process during the run
	maxRSS   int64         // bytes, peak of this process
	readBack string        // "" when not checked
	readOK   bool
}

// blastCmd sends synthetic traces shaped by a scenario's topology.
func blastCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("blast", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := addBlastFlags(fs, 10*time.Second)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig blast [flags] SCENARIO.yaml|NAME\n\n"+
			"Sends synthetic traces shaped by the scenario's topology straight over OTLP/gRPC or OTLP/HTTP.\n"+
			"Without --otlp-endpoint the embedded backend runs in this process as the sink\n"+
			"(its cost is then included in the CPU figures) and the counts are read back.\n"+
			"Exits 1 when a span was not delivered or --rate was not reached.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError("want exactly one scenario, got %d", fs.NArg())
	}
	if err := f.check(); err != nil {
		return err
	}
	g, err := blastGenerator(fs.Arg(0), f)
	if err != nil {
		return err
	}
	var backend *embedded.Backend
	endpoint := *f.endpoint
	if endpoint == "" {
		backend = embedded.New()
		if err := backend.Start(ctx); err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			backend.Shutdown(stopCtx)
		}()
		endpoint = backend.GRPCAddr()
		if f.proto() == synthetic.ProtocolHTTP {
			endpoint = backend.HTTPAddr()
		}
	}
	res, err := runBlast(ctx, g, endpoint, f)
	if err != nil {
		return err
	}
	sink := sinkName(f.proto(), endpoint)
	if backend != nil {
		res.readBack, res.readOK = readBack(g, res.st, backend)
		sink = "the embedded backend in this process over " + sink + " (its ingest cost is included below)"
	}
	rep := newBlastReport("blast", fs.Arg(0), sink, endpoint, f, res)
	printBlast(stdout, rep)
	printVerdicts(stdout, rep)
	return finishBlast(ctx, f, rep)
}

// sinkName names an endpoint with its protocol, as the summary shows it.
func sinkName(p synthetic.Protocol, endpoint string) string {
	if p == synthetic.ProtocolHTTP {
		u, _ := synthetic.HTTPTracesURL(endpoint) // checked with the flags
		return "OTLP/HTTP " + u
	}
	return "OTLP/gRPC " + endpoint
}

func (f *blastFlags) proto() synthetic.Protocol { return synthetic.Protocol(*f.protocol) }

func (f *blastFlags) check() error {
	switch {
	case *f.duration <= 0:
		return usageError("--duration must be positive")
	case *f.rate < 0:
		return usageError("--rate must be 0 (flat out) or positive")
	case *f.workers < 1 || *f.conns < 1 || *f.batch < 1:
		return usageError("--workers, --conns and --batch must be at least 1")
	case *f.retries < 0:
		return usageError("--retries must be 0 or more")
	}
	switch f.proto() {
	case synthetic.ProtocolGRPC:
	case synthetic.ProtocolHTTP:
		if *f.endpoint != "" {
			if _, err := synthetic.HTTPTracesURL(*f.endpoint); err != nil {
				return &exitError{code: exitUsage, err: err}
			}
		}
	default:
		return usageError("--protocol must be grpc or http, not %q", *f.protocol)
	}
	return nil
}

func blastGenerator(arg string, f *blastFlags) (*synthetic.Generator, error) {
	sc, err := loadScenario(arg)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: configError(err)}
	}
	if *f.seed != 0 {
		sc.Seed = *f.seed
	}
	g, err := synthetic.ForScenario(sc)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return g, nil
}

func runBlast(ctx context.Context, g *synthetic.Generator, endpoint string, f *blastFlags) (blastResult, error) {
	stop, err := startCPUProfile(*f.cpuprofile)
	if err != nil {
		return blastResult{}, err
	}
	defer stop()
	started := time.Now()
	cpu0, _ := rusage.Self()
	st, err := g.Run(ctx, synthetic.RunOptions{
		Protocol: f.proto(), Endpoint: endpoint, Duration: *f.duration, Rate: *f.rate,
		Workers: *f.workers, Conns: *f.conns, Batch: *f.batch, Retries: *f.retries,
	})
	if err != nil {
		return blastResult{}, &exitError{code: exitRuntime, err: err}
	}
	cpu1, rss := rusage.Self()
	return blastResult{st: st, gen: g, started: started, cpu: cpu1 - cpu0, maxRSS: rss}, nil
}

// readBack compares what the embedded backend holds with what was sent:
// the span and trace counts, and a sample of traces recomputed from their
// sequence numbers (Generator.Expect).
func readBack(g *synthetic.Generator, st synthetic.Stats, b *embedded.Backend) (string, bool) {
	bs := b.Stats()
	ok := bs.Spans == st.Delivered && bs.Rejected == 0
	if st.Undelivered() == 0 && uint64(bs.Traces) != st.Traces {
		ok = false
	}
	sampled, bad := 0, 0
	if st.Traces > 0 {
		step := max(st.Traces/1000, 1)
		for seq := uint64(0); seq < st.Traces; seq += step {
			id, n := g.Expect(seq)
			sampled++
			if len(b.Trace(id)) != n {
				bad++
			}
		}
	}
	if st.Undelivered() == 0 && bad > 0 {
		ok = false
	}
	return fmt.Sprintf("backend holds %d spans in %d traces (sent %d spans in %d traces); %d of %d sampled traces complete",
		bs.Spans, bs.Traces, st.Sent, st.Traces, sampled-bad, sampled), ok
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
