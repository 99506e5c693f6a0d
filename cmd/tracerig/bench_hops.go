package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tracerig/tracerig/scenarios"
)

// benchHopsFlags are the blast flags that mean nothing in real-hop mode:
// the scenario's own loads drive the services.
var benchHopsFlags = []string{"protocol", "rate", "workers", "conns", "batch", "retries", "out"}

// benchHops measures real-hop mode: the scenario runs as `tracerig run`
// runs it (services in this process, real HTTP and gRPC hops, full
// instrumentation, the ledger, the checks), exporting over OTLP/gRPC to the
// sink child or --otlp-endpoint, and reports the spans exported per second
// of load and this process's CPU per 1M of them, checks included.
func benchHops(ctx context.Context, fs *flag.FlagSet, scenario string, f *blastFlags, sinkKind string, stdout io.Writer) error {
	var bad []string
	fs.Visit(func(fl *flag.Flag) {
		for _, name := range benchHopsFlags {
			if fl.Name == name {
				bad = append(bad, "--"+name)
			}
		}
	})
	if len(bad) > 0 {
		return usageError("%v: not with --hops (the scenario's loads drive the services)", bad)
	}
	sc, err := loadScenario(scenario)
	if err != nil {
		return &exitError{code: exitUsage, err: configError(err)}
	}
	endpoint := *f.endpoint
	var child *sinkProcess
	if endpoint == "" {
		if child, err = startSinkProcess(ctx, sinkKind); err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
		defer child.stop()
		endpoint = child.grpcAddr
	}
	opts := scenarios.Options{OTLPEndpoint: endpoint, Duration: f.duration}
	if *f.seed != 0 {
		opts.Seed = f.seed
	}
	var loadCPU time.Duration
	var loadWall time.Duration
	cpu0, _ := processUsage()
	start := time.Now()
	opts.LoadDone = func() {
		c, _ := processUsage()
		loadCPU, loadWall = c-cpu0, time.Since(start)
	}
	rep, err := scenarios.Run(ctx, sc, opts)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	cpu1, rss := processUsage()
	cpu := cpu1 - cpu0
	exported := rep.Ledger.SpansExported

	fmt.Fprintf(stdout, "bench real hops: scenario %s, %s of load, exporting to %s\n", sc.Name, *f.duration, endpoint)
	fmt.Fprintf(stdout, "  load: %d requests, %d hops; spans: %d ended, %d exported (%.0f spans/s over the load), %d export failures\n",
		rep.Ledger.Requests, rep.Ledger.Hops, rep.Ledger.SpansEnded, exported, float64(exported)/f.duration.Seconds(), rep.Ledger.ExportFailed)
	fmt.Fprintf(stdout, "  this process during the load: %.2f CPU-s in %.1f s = %.1f CPU-s per 1M spans exported\n",
		loadCPU.Seconds(), loadWall.Seconds(), perMillion(loadCPU, int64(exported)))
	fmt.Fprintf(stdout, "  this process in all: %.2f CPU-s in %.1f s = %.1f CPU-s per 1M spans exported (flush, checks and reports included), peak RSS %s\n",
		cpu.Seconds(), wall.Seconds(), perMillion(cpu, int64(exported)), mib(rss))
	delivered := true
	if child != nil {
		stats, serr := child.stats()
		scpu, srss, _ := child.stop()
		if serr != nil {
			return &exitError{code: exitRuntime, err: fmt.Errorf("read the sink's stats: %w", serr)}
		}
		delivered = stats.Spans == int64(exported)
		fmt.Fprintf(stdout, "  sink (tracerig %s): holds %d spans; %.2f CPU-s = %.2f CPU-s per 1M spans, peak RSS %s\n",
			sinkKind, stats.Spans, scpu.Seconds(), perMillion(scpu, stats.Spans), mib(srss))
	}
	for _, l := range rep.Load {
		fmt.Fprintf(stdout, "  load %s: %.1f requests/s, p50 %s, p99 %s\n", l.Target, l.AchievedRate, l.LatencyP50.Round(time.Microsecond), l.LatencyP99.Round(time.Microsecond))
	}
	switch {
	case rep.Interrupted:
		return &exitError{code: exitInterrupted}
	case !delivered:
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("the sink does not hold every exported span")}
	case rep.Ledger.ExportFailed > 0:
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("%d spans failed to export", rep.Ledger.ExportFailed)}
	}
	return nil
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
