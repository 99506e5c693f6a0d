package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tracerig/tracerig/internal/hopfloor"
	rusage "github.com/tracerig/tracerig/internal/usage"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
)

// benchHopsFlags are the blast flags that mean nothing in real-hop mode:
// the scenario's own loads drive the services.
var benchHopsFlags = []string{"protocol", "rate", "workers", "conns", "batch", "retries", "out"}

// benchHops measures real-hop mode: the scenario runs as `tracerig run`
// runs it (services in this process, real HTTP and gRPC hops, full
// instrumentation, the ledger, the checks), exporting over OTLP/gRPC to the
// sink child or --otlp-endpoint, and reports the spans exported per second
// of load and this process's CPU per 1M of them, checks included.
func benchHops(ctx context.Context, fs *flag.FlagSet, scenario string, f *blastFlags, sinkKind string, floorFor time.Duration, stdout io.Writer) error {
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
	// The floor is measured half before the run and half after it, so
	// that a machine whose speed drifts (other guests on the host) weighs
	// on both sides of the ratio alike, and under the run's GC settings.
	restoreGC, gcSetting := tuneGC()
	defer restoreGC()
	floorWorkers := loadWorkers(sc)
	var floor hopfloor.Result
	if floorFor > 0 {
		if floor, err = measureFloor(ctx, floor, floorFor/2, floorWorkers); err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
	}
	stopProfile, err := startCPUProfile(*f.cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	var loadCPU time.Duration
	var loadWall time.Duration
	cpu0, _ := rusage.Self()
	start := time.Now()
	opts.LoadDone = func() {
		c, _ := rusage.Self()
		loadCPU, loadWall = c-cpu0, time.Since(start)
	}
	rep, err := scenarios.Run(ctx, sc, opts)
	stopProfile()
	if err != nil {
		return err
	}
	wall := time.Since(start)
	cpu1, rss := rusage.Self()
	cpu := cpu1 - cpu0
	if floorFor > 0 && !rep.Interrupted {
		if floor, err = measureFloor(ctx, floor, floorFor-floorFor/2, floorWorkers); err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
	}
	exported := rep.Ledger.SpansExported

	fmt.Fprintf(stdout, "bench real hops: scenario %s, %s of load, exporting to %s\n", sc.Name, *f.duration, endpoint)
	if gcSetting != "" {
		fmt.Fprintf(stdout, "  garbage collector: %s\n", gcSetting)
	}
	fmt.Fprintf(stdout, "  load: %d requests, %d hops; spans: %d ended, %d exported (%.0f spans/s over the load), %d export failures\n",
		rep.Ledger.Requests, rep.Ledger.Hops, rep.Ledger.SpansEnded, exported, float64(exported)/f.duration.Seconds(), rep.Ledger.ExportFailed)
	fmt.Fprintf(stdout, "  this process during the load: %.2f CPU-s in %.1f s = %.1f CPU-s per 1M spans exported\n",
		loadCPU.Seconds(), loadWall.Seconds(), perMillion(loadCPU, int64(exported)))
	fmt.Fprintf(stdout, "  this process in all: %.2f CPU-s in %.1f s = %.1f CPU-s per 1M spans exported (flush, checks and reports included), peak RSS %s\n",
		cpu.Seconds(), wall.Seconds(), perMillion(cpu, int64(exported)), mib(rss))
	if floor.Hops > 0 && exported > 0 && rep.Ledger.Hops > 0 {
		perHop := floor.PerHop()
		hopsPerSpan := float64(rep.Ledger.Hops) / float64(exported)
		floorPerM := perHop.Seconds() * hopsPerSpan * 1e6
		runPerHop := loadCPU / time.Duration(rep.Ledger.Hops)
		fmt.Fprintf(stdout, "  floor, a bare net/http hop on loopback (%s, %d clients, in this process before and after the run): %.1f CPU-µs per hop = %.1f CPU-s per 1M spans at this run's %.2f hops per span\n",
			floor.Wall.Round(100*time.Millisecond), floorWorkers, float64(perHop)/1e3, floorPerM, hopsPerSpan)
		fmt.Fprintf(stdout, "  this run during the load: %.1f CPU-µs per hop = %.2f× the floor\n",
			float64(runPerHop)/1e3, float64(runPerHop)/float64(perHop))
	}
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

// measureFloor measures the bare hop floor for d and adds it to acc.
func measureFloor(ctx context.Context, acc hopfloor.Result, d time.Duration, workers int) (hopfloor.Result, error) {
	r, err := hopfloor.Measure(ctx, d, workers)
	if err != nil {
		return acc, fmt.Errorf("measure the hop floor: %w", err)
	}
	acc.Requests += r.Requests
	acc.Hops += r.Hops
	acc.CPU += r.CPU
	acc.Wall += r.Wall
	return acc, nil
}

// loadWorkers is the most vegeta workers any of the scenario's loads
// starts with: the floor is driven with as many clients.
func loadWorkers(sc *topology.Scenario) int {
	n := 0
	for _, l := range sc.Load {
		n = max(n, l.Workers)
	}
	if n == 0 {
		n = topology.DefaultWorkers
	}
	return n
}
