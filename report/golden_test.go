package report_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

var update = flag.Bool("update", false, "rewrite the report goldens in testdata/golden")

// goldenDir holds, per run, the evidence a real run left (evidence.json.gz)
// and the outputs the report writers make of it; goldenScenarios holds
// copies of the library scenarios those runs ran, so that the goldens do
// not move when the library does.
const (
	goldenDir       = "testdata/golden"
	goldenScenarios = "testdata/golden/scenarios"
)

// goldenRuns are the runs whose evidence the goldens are made of: the
// smallest scenario, the 12-service shop, and a story with faults at a
// fifth of its timeline. Their command lines are the ones the goldens
// record, one with a secret the report must mask.
var goldenRuns = []struct {
	name      string // of the library scenario, and of its golden folder
	duration  time.Duration
	timeScale float64
	args      []string
}{
	{name: "quickstart", duration: time.Second, args: []string{"tracerig", "run", "quickstart", "--duration", "1s"}},
	{name: "shop", duration: 2 * time.Second, args: []string{"tracerig", "run", "shop", "--duration", "2s",
		"--otlp-header", "authorization=Bearer " + goldenSecret, "--out", "out dir"}},
	{name: "payment-brownout", timeScale: 0.2, args: []string{"tracerig", "run", "payment-brownout", "--time-scale", "0.2"}},
}

// goldenVersion is the tracerig version the goldens record, whichever
// tracerig writes them; goldenSecret a secret none may hold.
const (
	goldenVersion = "v0.0.0-golden"
	goldenSecret  = "golden-secret-value"
)

// goldenOutputs are the files a report writes of one run, compared byte for
// byte with the goldens.
var goldenOutputs = []string{"report.json", "junit.xml", "decisions.tsv", "summary.txt", "report.html"}

// capturedRun is the evidence of one run as evidence.json.gz keeps it:
// everything the report is written from, and nothing derived from it.
type capturedRun struct {
	// TracerigVersion and CommandLine are those of the run; the goldens
	// replace them with fixed ones.
	TracerigVersion string                  `json:"tracerig_version,omitempty"`
	CommandLine     []string                `json:"command_line,omitempty"`
	File            string                  `json:"file"`     // the scenario's file as the run named it
	Scenario        string                  `json:"scenario"` // its copy in goldenScenarios
	Seed            uint64                  `json:"seed"`
	TimeScale       float64                 `json:"time_scale"`
	StartedAt       time.Time               `json:"started_at"`
	Duration        time.Duration           `json:"duration_ns"`
	Interrupted     bool                    `json:"interrupted"`
	Settled         bool                    `json:"settled"`
	SettleTime      time.Duration           `json:"settle_ns"`
	Backend         report.BackendReport    `json:"backend"`
	BackendSpans    int                     `json:"backend_spans"`
	BackendNotes    []string                `json:"backend_notes"`
	Loads           []topology.Load         `json:"loads"` // as run, overrides applied
	LoadResults     []capturedLoad          `json:"load_results"`
	Samples         []capturedSample        `json:"samples"`
	SamplesNote     string                  `json:"samples_note"`
	Ledger          simulator.Totals        `json:"ledger"`
	QueueCapacity   int                     `json:"queue_capacity"`
	Retries         []simulator.ExportRetry `json:"retries"`
	Failures        []record.ExportFailure  `json:"export_failures,omitempty"`
	TracesStarted   int                     `json:"traces_started"`
	TracesSampled   int                     `json:"traces_sampled"`
	Input           capturedInput           `json:"input"`
	Errors          []string                `json:"errors"` // the run's own, not the samples note
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

// capture takes the evidence of a run from its report.
func capture(copyName string, rep *report.Report) capturedRun {
	ev := rep.Evidence
	c := capturedRun{
		File: rep.File, Scenario: copyName, Seed: ev.Seed, TimeScale: ev.TimeScale, StartedAt: ev.StartedAt,
		Duration: ev.Duration, Interrupted: ev.Interrupted, Settled: ev.Settled, SettleTime: ev.SettleTime,
		Backend: ev.Backend, BackendSpans: rep.BackendSpans, BackendNotes: ev.BackendNotes, Loads: ev.Loads,
		SamplesNote: ev.SamplesNote, Ledger: ev.Ledger, QueueCapacity: ev.QueueCapacity, Retries: ev.Retries, Failures: ev.ExportFailures,
		TracesStarted: ev.TracesStarted, TracesSampled: ev.TracesSampled, Errors: ev.Errors,
		TracerigVersion: ev.TracerigVersion, CommandLine: ev.CommandLine,
	}
	for _, r := range ev.LoadResults {
		m := r.Metrics
		c.LoadResults = append(c.LoadResults, capturedLoad{Name: r.Name, RequestedRate: r.RequestedRate,
			Requests: m.Requests, Rate: m.Rate, Success: m.Success, StatusCodes: m.StatusCodes, Errors: m.Errors})
	}
	for _, s := range ev.Samples {
		c.Samples = append(c.Samples, capturedSample{Load: s.Load, Route: s.Route, At: s.At, Latency: s.Latency, Code: s.Code})
	}
	in := ev.Input
	c.Input = capturedInput{Hops: in.Hops, Ended: in.Ended, Backend: in.Backend, ReadBack: in.ReadBack,
		NoReadBack: in.NoReadBack, BackendLoss: in.BackendLoss, Faults: in.Faults, Planned: in.Planned, RunStart: in.RunStart}
	return c
}

// evidence is the captured run as the report takes it, with the scenario's
// copy standing in for the scenario the run ran.
func (c capturedRun) evidence(t *testing.T) *report.Evidence {
	t.Helper()
	sc, err := topology.LoadScenario(filepath.Join(goldenScenarios, c.Scenario))
	if err != nil {
		t.Fatal(err)
	}
	sc.File = c.File
	ev := &report.Evidence{
		Scenario: sc, Seed: c.Seed, TimeScale: c.TimeScale, StartedAt: c.StartedAt, Duration: c.Duration,
		Interrupted: c.Interrupted, Settled: c.Settled, SettleTime: c.SettleTime,
		Backend: c.Backend, BackendNotes: c.BackendNotes, Loads: c.Loads, SamplesNote: c.SamplesNote,
		Ledger: c.Ledger, TracesStarted: c.TracesStarted, TracesSampled: c.TracesSampled,
		QueueCapacity: c.QueueCapacity, Retries: c.Retries, ExportFailures: c.Failures, Errors: c.Errors,
		TracerigVersion: c.TracerigVersion, CommandLine: c.CommandLine,
		Input: assert.Input{
			Topology: sc.Topology, Hops: c.Input.Hops, Ended: c.Input.Ended, Backend: c.Input.Backend,
			ReadBack: c.Input.ReadBack, NoReadBack: c.Input.NoReadBack, BackendLoss: c.Input.BackendLoss,
			Faults: c.Input.Faults, Planned: c.Input.Planned, RunStart: c.Input.RunStart,
		},
	}
	for _, l := range c.LoadResults {
		r := simulator.LoadResult{Name: l.Name, RequestedRate: l.RequestedRate}
		r.Metrics.Requests, r.Metrics.Rate, r.Metrics.Success = l.Requests, l.Rate, l.Success
		r.Metrics.StatusCodes, r.Metrics.Errors = l.StatusCodes, l.Errors
		ev.LoadResults = append(ev.LoadResults, r)
	}
	for _, s := range c.Samples {
		ev.Samples = append(ev.Samples, report.LoadSample{Load: s.Load, Route: s.Route, At: s.At, Latency: s.Latency, Code: s.Code})
	}
	return ev
}

// TestCaptureEvidence runs the golden runs for real, from the library, and
// saves their evidence, when TRACERIG_UPDATE_EVIDENCE=1. It then requires
// the report rebuilt from the saved evidence to be the one the run wrote:
// the evidence holds everything a report is written from, and the copies in
// goldenScenarios are the library's.
func TestCaptureEvidence(t *testing.T) {
	if os.Getenv("TRACERIG_UPDATE_EVIDENCE") != "1" {
		t.Skip("set TRACERIG_UPDATE_EVIDENCE=1 to run the golden runs and save their evidence")
	}
	for _, g := range goldenRuns {
		t.Run(g.name, func(t *testing.T) {
			sc, err := scenarios.Open(g.name)
			if err != nil {
				t.Fatal(err)
			}
			opts := scenarios.Options{OutDir: t.TempDir(), TimeScale: g.timeScale, CommandLine: g.args}
			if g.duration > 0 {
				opts.Duration = &g.duration
			}
			rep, err := scenarios.Run(t.Context(), sc, opts)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(goldenDir, g.name, "evidence.json.gz")
			writeEvidence(t, path, capture(g.name+".yaml", rep))
			var text bytes.Buffer
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			want := map[string][]byte{"summary.txt": text.Bytes()}
			for _, f := range goldenOutputs {
				if f != "summary.txt" {
					want[f] = readFile(t, filepath.Join(opts.OutDir, f))
				}
			}
			got := goldenReport(t, readEvidence(t, path))
			for _, f := range goldenOutputs {
				if !bytes.Equal(got[f], want[f]) {
					t.Errorf("%s rebuilt from the saved evidence differs from the run's:\n%s", f, firstDiff(got[f], want[f]))
				}
			}
		})
	}
}

// junitHost is the hostname junit.xml names, which the goldens hold as
// HOST.
var junitHost = regexp.MustCompile(` hostname="[^"]*"`)

// TestReportGolden writes the report of each saved run, with a fixed
// version and command line, and compares every output with its golden;
// -update rewrites the goldens. No output may hold the command line's
// secret.
func TestReportGolden(t *testing.T) {
	for _, g := range goldenRuns {
		t.Run(g.name, func(t *testing.T) {
			dir := filepath.Join(goldenDir, g.name)
			c := readEvidence(t, filepath.Join(dir, "evidence.json.gz"))
			c.TracerigVersion, c.CommandLine = goldenVersion, g.args
			got := goldenReport(t, c)
			for _, f := range goldenOutputs {
				path := filepath.Join(dir, f)
				b := got[f]
				if bytes.Contains(b, []byte(goldenSecret)) {
					t.Errorf("%s holds the command line's secret", f)
				}
				if f == "junit.xml" {
					b = junitHost.ReplaceAll(b, []byte(` hostname="HOST"`))
				}
				if *update {
					if err := os.WriteFile(path, b, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if want := readFile(t, path); !bytes.Equal(b, want) {
					t.Errorf("%s differs from %s (go test -run TestReportGolden -update rewrites it):\n%s", f, path, firstDiff(b, want))
				}
			}
		})
	}
}

// goldenReport judges a saved run as the runner does and writes every
// output of its report, by file name.
func goldenReport(t *testing.T, c capturedRun) map[string][]byte {
	t.Helper()
	ev := c.evidence(t)
	if ev.TimeScale != 0 {
		// The runner scales spans.during with the timeline; no golden run
		// has one to scale.
		for _, e := range ev.Scenario.Expect {
			if e.Kind == topology.ExpectSpans && e.Spans.During != [2]time.Duration{} {
				t.Fatalf("%s: a time-scaled golden run with spans.during", c.Scenario)
			}
		}
	}
	expects := ev.Scenario.Expect
	rep := report.New(ev)
	verdicts := assert.Run(ev.Input, expects)
	rep.SetVerdicts(append(verdicts, assert.Load(ev.Loads, rep.LoadOutcomes(), rep.Interrupted, expects)))
	if rep.BackendSpans != c.BackendSpans {
		t.Errorf("%d spans read back, the run said %d", rep.BackendSpans, c.BackendSpans)
	}
	out := t.TempDir()
	if err := rep.WriteFiles(out); err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"summary.txt": text.Bytes()}
	for _, f := range goldenOutputs {
		if f != "summary.txt" {
			files[f] = readFile(t, filepath.Join(out, f))
		}
	}
	return files
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeEvidence(t *testing.T, path string, c capturedRun) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err := json.NewEncoder(zw).Encode(c); err != nil {
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
