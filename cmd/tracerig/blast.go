package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"time"

	"github.com/tracerig/tracerig/fixtures"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// blastFlags are the flags blast and bench share.
type blastFlags struct {
	endpoint   *string
	duration   *time.Duration
	rate       *float64
	workers    *int
	conns      *int
	batch      *int
	seed       *uint64
	cpuprofile *string
}

func addBlastFlags(fs *flag.FlagSet, duration time.Duration) *blastFlags {
	return &blastFlags{
		endpoint:   fs.String("otlp-endpoint", "", "export over OTLP/gRPC to `HOST:PORT`"),
		duration:   fs.Duration("duration", duration, "how long to send"),
		rate:       fs.Float64("rate", 0, "target `SPANS/s`; 0 = flat out"),
		workers:    fs.Int("workers", 4, "goroutines building and exporting batches (requests in flight)"),
		conns:      fs.Int("conns", 2, "gRPC connections"),
		batch:      fs.Int("batch", 2048, "spans per export request (whole traces)"),
		seed:       fs.Uint64("seed", 0, "seed of the trace and span IDs (default: the scenario's)"),
		cpuprofile: fs.String("cpuprofile", "", "write a CPU profile of the run to `FILE`"),
	}
}

// blastResult is one run of the generator with its process cost.
type blastResult struct {
	st       synthetic.Stats
	gen      *synthetic.Generator
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
			"Sends synthetic traces shaped by the scenario's topology straight over OTLP/gRPC.\n"+
			"Without --otlp-endpoint the embedded backend runs in this process as the sink\n"+
			"(its cost is then included in the CPU figures) and the counts are read back.\n\nflags:\n")
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
	var backend *fixtures.Backend
	endpoint := *f.endpoint
	if endpoint == "" {
		backend = fixtures.NewBackend()
		if err := backend.Start(ctx); err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			backend.Shutdown(stopCtx)
		}()
		endpoint = backend.GRPCAddr()
	}
	res, err := runBlast(ctx, g, endpoint, f)
	if err != nil {
		return err
	}
	if backend != nil {
		res.readBack, res.readOK = readBack(g, res.st, backend)
	}
	sink := "OTLP/gRPC " + endpoint
	if backend != nil {
		sink = "the embedded backend in this process (its ingest cost is included below)"
	}
	printBlast(stdout, fs.Arg(0), sink, f, res)
	return blastVerdict(ctx, res)
}

func (f *blastFlags) check() error {
	switch {
	case *f.duration <= 0:
		return usageError("--duration must be positive")
	case *f.rate < 0:
		return usageError("--rate must be 0 (flat out) or positive")
	case *f.workers < 1 || *f.conns < 1 || *f.batch < 1:
		return usageError("--workers, --conns and --batch must be at least 1")
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
	if *f.cpuprofile != "" {
		pf, err := os.Create(*f.cpuprofile)
		if err != nil {
			return blastResult{}, &exitError{code: exitRuntime, err: err}
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return blastResult{}, &exitError{code: exitRuntime, err: err}
		}
		defer pprof.StopCPUProfile()
	}
	cpu0, _ := processUsage()
	st, err := g.Run(ctx, synthetic.RunOptions{
		Endpoint: endpoint, Duration: *f.duration, Rate: *f.rate,
		Workers: *f.workers, Conns: *f.conns, Batch: *f.batch,
	}, nil)
	if err != nil {
		return blastResult{}, &exitError{code: exitRuntime, err: err}
	}
	cpu1, rss := processUsage()
	return blastResult{st: st, gen: g, cpu: cpu1 - cpu0, maxRSS: rss}, nil
}

// readBack compares what the embedded backend holds with what was sent:
// the span and trace counts, and a sample of traces recomputed from their
// sequence numbers (Generator.Expect).
func readBack(g *synthetic.Generator, st synthetic.Stats, b *fixtures.Backend) (string, bool) {
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

func printBlast(w io.Writer, scenario, sink string, f *blastFlags, r blastResult) {
	st := r.st
	secs := st.Elapsed.Seconds()
	perTrace := 0.0
	if st.Traces > 0 {
		perTrace = float64(st.Sent) / float64(st.Traces)
	}
	fmt.Fprintf(w, "blast %s -> %s\n", scenario, sink)
	fmt.Fprintf(w, "  workers %d, conns %d, batch %d spans, rate %s\n", *f.workers, *f.conns, *f.batch, rateString(*f.rate))
	fmt.Fprintf(w, "  sent       %d spans in %d traces (%.1f spans/trace), %d requests, %.2fs\n", st.Sent, st.Traces, perTrace, st.Requests, secs)
	fmt.Fprintf(w, "  delivered  %d spans = %.0f spans/s\n", st.Delivered, float64(st.Delivered)/secs)
	fmt.Fprintf(w, "  undelivered %d spans: %d in %d failed requests, %d rejected by the sink\n", st.Undelivered(), st.Failed, st.FailedReq, st.Rejected)
	if st.FirstErr != "" {
		fmt.Fprintf(w, "  first error: %s\n", st.FirstErr)
	}
	fmt.Fprintf(w, "  cpu        %.2f CPU-s (user+sys) = %.3f CPU-s per 1M spans delivered, %.2f cores\n",
		r.cpu.Seconds(), perMillion(r.cpu, st.Delivered), r.cpu.Seconds()/secs)
	fmt.Fprintf(w, "  peak RSS   %.1f MiB\n", float64(r.maxRSS)/(1<<20))
	if r.readBack != "" {
		verdict := "OK"
		if !r.readOK {
			verdict = "MISMATCH"
		}
		fmt.Fprintf(w, "  read-back  %s: %s\n", verdict, r.readBack)
	}
}

func rateString(r float64) string {
	if r == 0 {
		return "flat out"
	}
	return fmt.Sprintf("%.0f spans/s", r)
}

func perMillion(d time.Duration, spans int64) float64 {
	if spans == 0 {
		return 0
	}
	return d.Seconds() / float64(spans) * 1e6
}

func blastVerdict(ctx context.Context, r blastResult) error {
	if ctx.Err() != nil {
		return &exitError{code: exitInterrupted}
	}
	if r.st.Undelivered() > 0 {
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("%d of %d spans not delivered", r.st.Undelivered(), r.st.Sent)}
	}
	if r.readBack != "" && !r.readOK {
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("read-back does not match what was sent")}
	}
	if r.st.Sent == 0 {
		return &exitError{code: exitRuntime, err: fmt.Errorf("nothing was sent")}
	}
	return nil
}
