package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/internal/hopfloor"
	rusage "github.com/tracerig/tracerig/internal/usage"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
)

// benchHopsFlags are the blast flags that mean nothing in real-hop mode:
// the scenario's own loads drive the services.
var benchHopsFlags = []string{"protocol", "rate", "workers", "conns", "batch", "retries"}

// benchHops measures real-hop mode: the scenario runs as `tracerig run`
// runs it (services in this process, real HTTP and gRPC hops, full
// instrumentation, the ledger, the checks), exporting over OTLP/gRPC to the
// sink child or --otlp-endpoint, and reports the spans exported per second
// of load and this process's CPU per 1M of them, checks included.
func benchHops(ctx context.Context, fs *pflag.FlagSet, scenario string, f *blastFlags, sinkKind string, floorFor time.Duration, stdout io.Writer) error {
	if err := checkHopsFlags(fs); err != nil {
		return err
	}
	if err := f.checkMetrics(); err != nil {
		return err
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
	opts := scenarios.Options{OTLPEndpoint: endpoint, Duration: f.duration, Metrics: f.metricsAt, MetricsOTLP: f.metricsOTLPAt}
	if f.metricsAt != "" && f.stderr != nil {
		opts.MetricsReady = metricsReady(f.stderr)
	}
	if *f.seed != 0 {
		opts.Seed = f.seed
	}
	m, err := measureHops(ctx, sc, opts, *f.cpuprofile, floorFor)
	if err != nil {
		return err
	}
	hr := newHopsReport(sc.Name, endpoint, *f.duration, m)
	if child != nil {
		stats, serr := child.stats()
		scpu, srss, _ := child.stop()
		if serr != nil {
			return &exitError{code: exitRuntime, err: fmt.Errorf("read the sink's stats: %w", serr)}
		}
		hr.Sink = &hopsSink{Kind: "tracerig " + sinkKind, Spans: stats.Spans, CPU: scpu, PeakRSS: srss}
	}
	return finishHops(hr, m.run.Load, *f.out, stdout)
}

// checkHopsFlags refuses the blast flags that mean nothing with --hops.
func checkHopsFlags(fs *pflag.FlagSet) error {
	var bad []string
	for _, name := range benchHopsFlags {
		if fs.Changed(name) {
			bad = append(bad, "--"+name)
		}
	}
	if len(bad) > 0 {
		return usageError("%v: not with --hops (the scenario's loads drive the services)", bad)
	}
	return nil
}

// hopsMeasurement is one real-hop run with this process's cost and the
// hop floor measured beside it.
type hopsMeasurement struct {
	run               *report.Report
	start             time.Time
	gc                string // what tracerig set the garbage collector to
	loadCPU, loadWall time.Duration
	cpu, wall         time.Duration
	peakRSS           int64
	floorWorkers      int
	before, after     hopfloor.Result
}

// measureHops runs sc with opts under the CPU profile, measuring this
// process during the load and in all. The floor is measured half before
// the run and half after it, so that a machine whose speed drifts (other
// guests on the host) weighs on both sides of the ratio alike, and under
// the run's GC settings.
func measureHops(ctx context.Context, sc *topology.Scenario, opts scenarios.Options, cpuprofile string, floorFor time.Duration) (hopsMeasurement, error) {
	restoreGC, gcSetting := tuneGC()
	defer restoreGC()
	m := hopsMeasurement{gc: gcSetting, floorWorkers: loadWorkers(sc)}
	var err error
	if floorFor > 0 {
		if m.before, err = measureFloor(ctx, floorFor/2, m.floorWorkers); err != nil {
			return m, err
		}
	}
	stopProfile, err := startCPUProfile(cpuprofile)
	if err != nil {
		return m, err
	}
	defer stopProfile()
	cpu0, _ := rusage.Self()
	m.start = time.Now()
	opts.LoadDone = func() {
		c, _ := rusage.Self()
		m.loadCPU, m.loadWall = c-cpu0, time.Since(m.start)
	}
	m.run, err = scenarios.Run(ctx, sc, opts)
	stopProfile()
	if err != nil {
		return m, err
	}
	m.wall = time.Since(m.start)
	cpu1, rss := rusage.Self()
	m.cpu, m.peakRSS = cpu1-cpu0, rss
	if floorFor > 0 && !m.run.Interrupted {
		if m.after, err = measureFloor(ctx, floorFor-floorFor/2, m.floorWorkers); err != nil {
			return m, err
		}
	}
	return m, nil
}

// newHopsReport sums up a real-hop run of load duration load, exporting to
// endpoint, and compares its CPU per hop with the floor.
func newHopsReport(scenario, endpoint string, load time.Duration, m hopsMeasurement) hopsReport {
	l := m.run.Ledger
	hr := hopsReport{
		Version: 1, Scenario: scenario, Endpoint: endpoint, StartedAt: m.start, LoadDuration: load, GC: m.gc,
		Requests: l.Requests, Hops: l.Hops, SpansEnded: l.SpansEnded, SpansExported: l.SpansExported, ExportFailed: l.ExportFailed,
		LoadCPU: m.loadCPU, LoadWall: m.loadWall, CPU: m.cpu, Wall: m.wall, PeakRSS: m.peakRSS,
		Interrupted: m.run.Interrupted,
	}
	exported := int64(hr.SpansExported)
	hr.SpansPerSecond = float64(exported) / load.Seconds()
	hr.LoadCPUPerMillion = report.PerMillion(m.loadCPU, exported)
	hr.CPUPerMillion = report.PerMillion(m.cpu, exported)
	if floor := m.before.Add(m.after); floor.PerHop() > 0 && exported > 0 && hr.Hops > 0 {
		hr.Floor = &hopsFloor{Clients: m.floorWorkers, Requests: floor.Requests, Hops: floor.Hops, CPU: floor.CPU, Wall: floor.Wall, PerHop: floor.PerHop(),
			Before: m.before.PerHop(), After: m.after.PerHop()}
		hr.Floor.PerMillion = floor.PerHop().Seconds() * float64(hr.Hops) / float64(exported) * 1e6
		hr.RunPerHop = m.loadCPU / time.Duration(hr.Hops)
		hr.FloorRatio = float64(hr.RunPerHop) / float64(hr.Floor.PerHop)
	}
	return hr
}

// finishHops judges the run (every exported span in the sink, no export
// failure), prints it with its loads, writes DIR/hops.json when out is
// set, and returns the exit code's error.
func finishHops(hr hopsReport, loads []report.LoadReport, out string, stdout io.Writer) error {
	var failed error
	switch {
	case hr.Sink != nil && hr.Sink.Spans != int64(hr.SpansExported):
		failed = fmt.Errorf("the sink does not hold every exported span")
	case hr.ExportFailed > 0:
		failed = fmt.Errorf("%d spans failed to export", hr.ExportFailed)
	}
	hr.Passed = !hr.Interrupted && failed == nil
	hr.print(stdout)
	for _, l := range loads {
		fmt.Fprintf(stdout, "  load %s: %.1f requests/s, p50 %s, p99 %s\n", l.Target, l.AchievedRate, l.LatencyP50.Round(time.Microsecond), l.LatencyP99.Round(time.Microsecond))
	}
	if out != "" {
		if err := report.WriteJSONFile(filepath.Join(out, "hops.json"), &hr); err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
	}
	switch {
	case hr.Interrupted:
		return &exitError{code: exitInterrupted}
	case failed != nil:
		return &exitError{code: exitCheckFailed, err: failed}
	}
	return nil
}

// hopsReport is what bench --hops measured, as printed and as written to
// DIR/hops.json with --out. Durations are in nanoseconds.
type hopsReport struct {
	Version       int           `json:"version"`
	Scenario      string        `json:"scenario"`
	Endpoint      string        `json:"endpoint"`
	StartedAt     time.Time     `json:"started_at"`
	LoadDuration  time.Duration `json:"load_duration_ns"`
	GC            string        `json:"gc,omitempty"` // what tracerig set; empty when GOGC or GOMEMLIMIT was
	Requests      int           `json:"requests"`
	Hops          int           `json:"hops"`
	SpansEnded    int           `json:"spans_ended"`
	SpansExported int           `json:"spans_exported"`
	ExportFailed  int           `json:"export_failed"`
	// SpansPerSecond is the spans exported per second of load.
	SpansPerSecond float64 `json:"spans_per_second"`
	// LoadCPU is this process's CPU during the load; CPU in all (the
	// flush, the checks and the reports included).
	LoadCPU           time.Duration `json:"load_cpu_ns"`
	LoadWall          time.Duration `json:"load_wall_ns"`
	LoadCPUPerMillion float64       `json:"load_cpu_s_per_million_spans"`
	CPU               time.Duration `json:"cpu_ns"`
	Wall              time.Duration `json:"wall_ns"`
	CPUPerMillion     float64       `json:"cpu_s_per_million_spans"`
	PeakRSS           int64         `json:"peak_rss_bytes"`
	// Floor is the bare net/http hop measured beside the run; RunPerHop
	// the run's CPU per hop during the load, FloorRatio the two's ratio.
	Floor       *hopsFloor    `json:"floor,omitempty"`
	RunPerHop   time.Duration `json:"run_cpu_ns_per_hop,omitempty"`
	FloorRatio  float64       `json:"floor_ratio,omitempty"`
	Sink        *hopsSink     `json:"sink,omitempty"` // the child sink; nil with --otlp-endpoint
	Interrupted bool          `json:"interrupted"`
	Passed      bool          `json:"passed"` // every exported span in the sink, no export failure
}

type hopsFloor struct {
	Clients  int           `json:"clients"`
	Requests int64         `json:"requests"`
	Hops     int64         `json:"hops"`
	CPU      time.Duration `json:"cpu_ns"`
	Wall     time.Duration `json:"wall_ns"`
	PerHop   time.Duration `json:"cpu_ns_per_hop"`
	// PerMillion is what the floor alone comes to per 1M spans at the
	// run's hops per span.
	PerMillion float64 `json:"cpu_s_per_million_spans"`
	// Before and After are the floor per hop measured before and after
	// the run: far apart, the machine's speed changed meanwhile.
	Before time.Duration `json:"before_cpu_ns_per_hop"`
	After  time.Duration `json:"after_cpu_ns_per_hop"`
}

// drift is the larger of the floor before and after the run over the
// smaller; 1 when either is missing.
func (f *hopsFloor) drift() float64 {
	lo, hi := min(f.Before, f.After), max(f.Before, f.After)
	if lo <= 0 {
		return 1
	}
	return float64(hi) / float64(lo)
}

type hopsSink struct {
	Kind    string        `json:"kind"`
	Spans   int64         `json:"spans"`
	CPU     time.Duration `json:"cpu_ns"`
	PeakRSS int64         `json:"peak_rss_bytes"`
}

func (hr *hopsReport) print(w io.Writer) {
	fmt.Fprintf(w, "bench real hops: scenario %s, %s of load, exporting to %s\n", hr.Scenario, hr.LoadDuration, hr.Endpoint)
	if hr.GC != "" {
		fmt.Fprintf(w, "  garbage collector: %s\n", hr.GC)
	}
	fmt.Fprintf(w, "  load: %d requests, %d hops; spans: %d ended, %d exported (%.0f spans/s over the load), %d export failures\n",
		hr.Requests, hr.Hops, hr.SpansEnded, hr.SpansExported, hr.SpansPerSecond, hr.ExportFailed)
	fmt.Fprintf(w, "  this process during the load: %.2f CPU-s in %.1f s = %.1f CPU-s per 1M spans exported\n",
		hr.LoadCPU.Seconds(), hr.LoadWall.Seconds(), hr.LoadCPUPerMillion)
	fmt.Fprintf(w, "  this process in all: %.2f CPU-s in %.1f s = %.1f CPU-s per 1M spans exported (flush, checks and reports included), peak RSS %s\n",
		hr.CPU.Seconds(), hr.Wall.Seconds(), hr.CPUPerMillion, mib(hr.PeakRSS))
	if fl := hr.Floor; fl != nil {
		fmt.Fprintf(w, "  floor, a bare net/http hop on loopback (%s, %d clients, in this process before and after the run): %.1f CPU-µs per hop (%.1f before, %.1f after) = %.1f CPU-s per 1M spans at this run's %.2f hops per span\n",
			fl.Wall.Round(100*time.Millisecond), fl.Clients, float64(fl.PerHop)/1e3, float64(fl.Before)/1e3, float64(fl.After)/1e3, fl.PerMillion, float64(hr.Hops)/float64(hr.SpansExported))
		fmt.Fprintf(w, "  this run during the load: %.1f CPU-µs per hop = %.2f× the floor\n", float64(hr.RunPerHop)/1e3, hr.FloorRatio)
		if d := fl.drift(); d > floorDrift {
			fmt.Fprintf(w, "  note: the floor moved by %.0f%% between before and after the run: the machine's speed changed while it ran (other work on it, or on its host); repeat for a steadier figure\n", 100*(d-1))
		}
	}
	if s := hr.Sink; s != nil {
		fmt.Fprintf(w, "  sink (%s): holds %d spans; %.2f CPU-s = %.2f CPU-s per 1M spans, peak RSS %s\n",
			s.Kind, s.Spans, s.CPU.Seconds(), report.PerMillion(s.CPU, s.Spans), mib(s.PeakRSS))
	}
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// measureFloor measures the bare hop floor for d. An interrupt during it
// exits as an interrupt, not as a failure of the measurement.
func measureFloor(ctx context.Context, d time.Duration, workers int) (hopfloor.Result, error) {
	r, err := hopfloor.Measure(ctx, d, workers)
	switch {
	case ctx.Err() != nil:
		return r, &exitError{code: exitInterrupted}
	case err != nil:
		return r, &exitError{code: exitRuntime, err: fmt.Errorf("measure the hop floor: %w", err)}
	}
	return r, nil
}

// floorDrift is how far apart the floor before and after the run may be
// (the larger over the smaller) before the summary says the machine's
// speed changed during the measurement.
const floorDrift = 1.25

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
