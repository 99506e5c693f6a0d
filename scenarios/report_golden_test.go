package scenarios

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

var update = flag.Bool("update", false, "rewrite the report goldens in testdata/golden")

// goldenDir holds, per run, the evidence a real run left (evidence.json.gz)
// and the outputs the report writers make of it; goldenScenarios holds
// copies of the scenarios those runs ran, so that the goldens do not move
// when the library does.
const (
	goldenDir       = "testdata/golden"
	goldenScenarios = "testdata/golden/scenarios"
)

// goldenRuns are the runs whose evidence the goldens are made of: the
// smallest scenario, the 12-service shop, and a story with faults at a
// fifth of its timeline.
var goldenRuns = []struct {
	name      string
	file      string // in the library, and its copy in goldenScenarios
	duration  time.Duration
	timeScale float64
}{
	{name: "quickstart", file: "quickstart.yaml", duration: time.Second},
	{name: "shop", file: "shop.yaml", duration: 2 * time.Second},
	{name: "payment-brownout", file: "payment-brownout.yaml", timeScale: 0.2},
}

// goldenOutputs are the files a report writes of one run, compared byte for
// byte with the goldens.
var goldenOutputs = []string{"report.json", "junit.xml", "decisions.tsv", "summary.txt", "report.html"}

// capturedRun is the evidence of one run as evidence.json.gz keeps it:
// everything the report is written from, and nothing derived from it.
type capturedRun struct {
	File          string                  `json:"file"`     // the scenario's file as the run named it
	Scenario      string                  `json:"scenario"` // its copy in goldenScenarios
	Seed          uint64                  `json:"seed"`
	TimeScale     float64                 `json:"time_scale"`
	StartedAt     time.Time               `json:"started_at"`
	Duration      time.Duration           `json:"duration_ns"`
	Interrupted   bool                    `json:"interrupted"`
	Settled       bool                    `json:"settled"`
	SettleTime    time.Duration           `json:"settle_ns"`
	Backend       BackendReport           `json:"backend"`
	BackendSpans  int                     `json:"backend_spans"`
	BackendNotes  []string                `json:"backend_notes"`
	Loads         []topology.Load         `json:"loads"` // as run, overrides applied
	LoadResults   []capturedLoad          `json:"load_results"`
	Samples       []capturedSample        `json:"samples"`
	SamplesNote   string                  `json:"samples_note"`
	Ledger        simulator.Totals        `json:"ledger"`
	QueueCapacity int                     `json:"queue_capacity"`
	Retries       []simulator.ExportRetry `json:"retries"`
	TracesStarted int                     `json:"traces_started"`
	TracesSampled int                     `json:"traces_sampled"`
	Input         capturedInput           `json:"input"`
	Errors        []string                `json:"errors"` // the run's own, not the samples note
}

// capturedLoad is the part of a load's vegeta metrics a report reads.
type capturedLoad struct {
	Name          string         `json:"name"`
	RequestedRate float64        `json:"requested_rate"`
	Requests      uint64         `json:"requests"`
	Rate          float64        `json:"rate"`
	Success       float64        `json:"success"`
	StatusCodes   map[string]int `json:"status_codes"`
	Errors        []string       `json:"errors"`
}

// capturedSample is one load result.
type capturedSample struct {
	Load    string        `json:"load"`
	Route   string        `json:"route"`
	At      int64         `json:"at"`
	Latency time.Duration `json:"latency"`
	Code    uint16        `json:"code"`
}

// capturedInput is what the checks saw, but the topology, which the
// scenario's copy gives.
type capturedInput struct {
	Hops        []record.Hop     `json:"hops"`
	Ended       []record.Ended   `json:"ended"`
	Backend     []record.Span    `json:"backend"`
	ReadBack    bool             `json:"read_back"`
	NoReadBack  string           `json:"no_read_back"`
	BackendLoss string           `json:"backend_loss"`
	Faults      []record.Fault   `json:"faults"`
	Planned     []topology.Fault `json:"planned"`
	RunStart    int64            `json:"run_start"`
}

// captureRun takes the evidence of a run from its report and the loads it
// ran.
func captureRun(file string, loads []topology.Load, rep *Report) capturedRun {
	c := capturedRun{
		File: rep.File, Scenario: file, Seed: rep.Seed, StartedAt: rep.StartedAt, Duration: rep.Duration,
		Interrupted: rep.Interrupted, Settled: rep.Settled, SettleTime: rep.SettleTime,
		Backend: rep.Backend, BackendSpans: rep.BackendSpans, BackendNotes: rep.BackendNotes,
		SamplesNote: rep.samplesNote, Ledger: rep.Ledger, QueueCapacity: rep.Export.QueueCapacity,
		Retries: rep.retries, TracesStarted: rep.TracesStarted, TracesSampled: rep.TracesSampled,
		Errors: rep.Errors, Loads: loads,
	}
	if rep.TimeScale != 1 {
		c.TimeScale = rep.TimeScale
	}
	if c.SamplesNote != "" {
		c.Errors = c.Errors[:len(c.Errors)-1]
	}
	for _, l := range rep.Load {
		c.LoadResults = append(c.LoadResults, capturedLoad{Name: l.Target, RequestedRate: l.RequestedRate,
			Requests: l.Requests, Rate: l.AchievedRate, Success: l.Success, StatusCodes: l.StatusCodes, Errors: l.Errors})
	}
	for _, s := range rep.samples {
		c.Samples = append(c.Samples, capturedSample{Load: s.load, Route: s.route, At: s.at, Latency: s.latency, Code: s.code})
	}
	in := rep.input
	c.Input = capturedInput{Hops: in.Hops, Ended: in.Ended, Backend: in.Backend, ReadBack: in.ReadBack,
		NoReadBack: in.NoReadBack, BackendLoss: in.BackendLoss, Faults: in.Faults, Planned: in.Planned, RunStart: in.RunStart}
	return c
}

// TestCaptureEvidence runs the golden runs for real and saves their
// evidence, when TRACERIG_UPDATE_EVIDENCE=1. It then requires the report
// rebuilt from the saved evidence to be the one the run wrote, so that the
// evidence holds everything a report is written from.
func TestCaptureEvidence(t *testing.T) {
	if os.Getenv("TRACERIG_UPDATE_EVIDENCE") != "1" {
		t.Skip("set TRACERIG_UPDATE_EVIDENCE=1 to run the golden runs and save their evidence")
	}
	for _, g := range goldenRuns {
		t.Run(g.name, func(t *testing.T) {
			opts := Options{OutDir: t.TempDir(), TimeScale: g.timeScale}
			if g.duration > 0 {
				opts.Duration = &g.duration
			}
			sc := load(t, g.file)
			rep, err := Run(t.Context(), sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			c := captureRun(g.file, overrideLoads(sc.Load, opts), rep)
			path := filepath.Join(goldenDir, g.name, "evidence.json.gz")
			writeEvidence(t, path, c)
			got := goldenReport(t, readEvidence(t, path))
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{"summary.txt": text.Bytes()}
			for _, f := range []string{"report.json", "junit.xml", "decisions.tsv", "report.html"} {
				b, err := os.ReadFile(filepath.Join(opts.OutDir, f))
				if err != nil {
					t.Fatal(err)
				}
				want[f] = b
			}
			for _, f := range goldenOutputs {
				if !bytes.Equal(got[f], want[f]) {
					t.Errorf("%s rebuilt from the saved evidence differs from the run's:\n%s", f, firstDiff(got[f], want[f]))
				}
			}
		})
	}
}

// TestReportGolden writes the report of each saved run and compares every
// output with its golden; -update rewrites the goldens.
func TestReportGolden(t *testing.T) {
	for _, g := range goldenRuns {
		t.Run(g.name, func(t *testing.T) {
			dir := filepath.Join(goldenDir, g.name)
			got := goldenReport(t, readEvidence(t, filepath.Join(dir, "evidence.json.gz")))
			for _, f := range goldenOutputs {
				path := filepath.Join(dir, f)
				b := got[f]
				if f == "junit.xml" {
					b = bytes.Replace(b, []byte(` hostname="`+hostname()+`"`), []byte(` hostname="HOST"`), 1)
				}
				if *update {
					if err := os.WriteFile(path, b, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, want) {
					t.Errorf("%s differs from %s (go test -run TestReportGolden -update rewrites it):\n%s", f, path, firstDiff(b, want))
				}
			}
		})
	}
}

// goldenReport builds the report of a saved run and writes every output,
// by file name.
func goldenReport(t *testing.T, c capturedRun) map[string][]byte {
	t.Helper()
	sc := load(t, filepath.Join(goldenScenarios, c.Scenario))
	rep := newReport(sc)
	rep.File = c.File
	rep.Seed = c.Seed
	if c.TimeScale != 0 {
		rep.TimeScale = c.TimeScale
	}
	rep.Interrupted = c.Interrupted
	rep.Backend = c.Backend
	rep.StartedAt = c.StartedAt
	rep.Faults = c.Input.Faults
	for _, s := range c.Samples {
		rep.samples = append(rep.samples, loadSample{load: s.Load, route: s.Route, at: s.At, latency: s.Latency, code: s.Code})
	}
	rep.samplesNote = c.SamplesNote
	var results []simulator.LoadResult
	for _, l := range c.LoadResults {
		r := simulator.LoadResult{Name: l.Name, RequestedRate: l.RequestedRate}
		r.Metrics.Requests, r.Metrics.Rate, r.Metrics.Success = l.Requests, l.Rate, l.Success
		r.Metrics.StatusCodes, r.Metrics.Errors = l.StatusCodes, l.Errors
		results = append(results, r)
	}
	rep.Load = loadReports(c.Loads, results, rep.samples)
	rep.Settled, rep.SettleTime = c.Settled, c.SettleTime
	rep.Duration = c.Duration
	rep.Ledger = c.Ledger
	rep.Export = exportReport(c.Input.Ended, c.QueueCapacity)
	rep.retries = c.Retries
	rep.TracesStarted, rep.TracesSampled = c.TracesStarted, c.TracesSampled
	in := assert.Input{
		Faults: c.Input.Faults, Planned: c.Input.Planned, RunStart: c.Input.RunStart, Topology: sc.Topology,
		Hops: c.Input.Hops, Ended: c.Input.Ended, Backend: c.Input.Backend,
		ReadBack: c.Input.ReadBack, NoReadBack: c.Input.NoReadBack, BackendLoss: c.Input.BackendLoss,
	}
	rep.BackendSpans = c.BackendSpans
	rep.BackendNotes = c.BackendNotes
	expects := scaleExpect(sc.Expect, c.TimeScale)
	rep.Verdicts = assert.Run(in, expects)
	rep.Verdicts = append(rep.Verdicts, loadVerdict(c.Loads, rep.Load, rep.Interrupted, expects))
	rep.input = in
	rep.finish()
	rep.Errors = append(rep.Errors, c.Errors...)
	if rep.samplesNote != "" {
		rep.Errors = append(rep.Errors, fmt.Sprintf("the load's latencies cover only the first %d results: %s", len(rep.samples), rep.samplesNote))
	}

	out := t.TempDir()
	if err := rep.WriteJSON(filepath.Join(out, "report.json")); err != nil {
		t.Fatal(err)
	}
	if err := writeDecisions(filepath.Join(out, "decisions.tsv"), in.Hops); err != nil {
		t.Fatal(err)
	}
	if err := rep.writeOutputs(out); err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"summary.txt": text.Bytes()}
	for _, f := range []string{"report.json", "junit.xml", "decisions.tsv", "report.html"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	return files
}

func writeEvidence(t *testing.T, path string, c capturedRun) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(c); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readEvidence(t *testing.T, path string) capturedRun {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (TRACERIG_UPDATE_EVIDENCE=1 go test -run TestCaptureEvidence captures it)", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var c capturedRun
	if err := json.NewDecoder(zr).Decode(&c); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return c
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, clip(gl), clip(wl))
		}
	}
	return "(same lines, different bytes)"
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
