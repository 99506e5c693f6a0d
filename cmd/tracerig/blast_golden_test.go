package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/spf13/pflag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// goldenStart is the start of every golden run.
var goldenStart = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// goldenStats returns the figures of a run of st.Sent spans in st.Traces
// traces as a run would give them, with fixed timings: four workers, a
// queue of four, three points of a second and a half.
func goldenStats(st synthetic.Stats) synthetic.Stats {
	st.Requests, st.Elapsed, st.Workers, st.QueueCap = 12, 2500*time.Millisecond, 4, 4
	st.Queued, st.QueueFull, st.Busy, st.ExportLatency = 1.25, 0.125, 2.5, 1234567*time.Nanosecond
	st.Samples = nil
	part := func(n int64, i int64) int64 { return n*i/3 - n*(i-1)/3 }
	for i := int64(1); i <= 3; i++ {
		iv := time.Second
		if i == 3 {
			iv = 500 * time.Millisecond
		}
		st.Samples = append(st.Samples, synthetic.Sample{
			At: time.Duration(i-1)*time.Second + iv, Interval: iv,
			Built: part(st.Sent, i), Delivered: part(st.Delivered, i), Failed: part(st.Failed, i), Rejected: part(st.Rejected, i),
			Requests: 4, Retries: part(st.Retries, i), Queued: 0.5 * float64(i), QueueFull: 0.1 * float64(i), Busy: float64(i),
			ExportLatency: time.Duration(i) * 1100 * time.Microsecond,
		})
	}
	return st
}

// goldenSent runs g into an embedded backend for a fixed number of traces
// and returns the backend with what the run sent.
func goldenSent(t *testing.T, g *synthetic.Generator) (*embedded.Backend, synthetic.Stats) {
	t.Helper()
	b := embedded.New()
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	st, err := g.Run(context.Background(), synthetic.RunOptions{Endpoint: b.GRPCAddr(), MaxTraces: 300, Workers: 1, Conns: 1, Batch: 256})
	if err != nil || st.Undelivered() != 0 {
		t.Fatalf("run: %v, %+v", err, st)
	}
	return b, st
}

// TestBlastGolden writes blast.json and the summary of made-up runs, with
// the figures a run would give, and compares them with the goldens in
// testdata/blast: a blast read back from the embedded backend, one whose
// read-back and rate fell short, and a bench against a child sink.
func TestBlastGolden(t *testing.T) {
	sc, err := loadScenario("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	g, err := synthetic.ForScenario(sc)
	if err != nil {
		t.Fatal(err)
	}
	b, sent := goldenSent(t, g)
	for _, tc := range []struct {
		name, command, sink string
		endpoint            string
		args                []string
		st                  func(synthetic.Stats) synthetic.Stats
		readBack            func(o assert.BlastOutcome) assert.Verdict
		sinkCPU             time.Duration
		sinkRSS             int64
	}{
		{name: "blast-ok", command: "blast", sink: "the embedded backend in this process over OTLP/gRPC 127.0.0.1:4317 (its ingest cost is included below)",
			endpoint: "127.0.0.1:4317", args: []string{"--rate", "200", "--workers", "4"},
			st: func(st synthetic.Stats) synthetic.Stats { return st },
			readBack: func(o assert.BlastOutcome) assert.Verdict {
				return assert.ReadBack(o, scenarios.EmbeddedHeld(g, b, o.Traces))
			}},
		{name: "blast-short", command: "blast", sink: "the embedded backend in this process over OTLP/HTTP http://127.0.0.1:4318/v1/traces (its ingest cost is included below)",
			endpoint: "127.0.0.1:4318", args: []string{"--protocol", "http", "--rate", "50000", "--retries", "1"},
			st: func(st synthetic.Stats) synthetic.Stats {
				st.Sent += 600
				st.Failed, st.FailedReq, st.Retries, st.Rejected = 512, 2, 3, 88
				st.FirstErr = "export to 127.0.0.1:4318: 503 Service Unavailable"
				st.QueueFull, st.Busy = 0.75, 3.9
				return st
			},
			readBack: func(o assert.BlastOutcome) assert.Verdict {
				o.Delivered += 7 // the backend holds fewer than were delivered
				return assert.ReadBack(o, scenarios.EmbeddedHeld(g, b, o.Traces))
			}},
		{name: "bench", command: "bench", sink: "tracerig count sink (pid 4242) on OTLP/gRPC 127.0.0.1:4317",
			endpoint: "127.0.0.1:4317", args: []string{"--rate", "100000", "--workers", "2", "--conns", "1", "--batch", "512"},
			st: func(st synthetic.Stats) synthetic.Stats {
				st.QueueFull = 0.6
				return st
			},
			readBack: func(o assert.BlastOutcome) assert.Verdict {
				return assert.ReadBack(o, assert.SinkHeld{Holder: "sink", Spans: o.Delivered})
			},
			sinkCPU: 1700 * time.Millisecond, sinkRSS: 45 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("blast", pflag.ContinueOnError)
			f := addBlastFlags(fs, 10*time.Second)
			dir := t.TempDir()
			if err := fs.Parse(append(tc.args, "--out", dir)); err != nil {
				t.Fatal(err)
			}
			m := synthetic.Measurement{Stats: tc.st(goldenStats(sent)), Started: goldenStart, CPU: 1500 * time.Millisecond, PeakRSS: 60 << 20}
			o := scenarios.BlastOutcome(m)
			x, err := f.resolveExport(func(string) string { return "" })
			if err != nil {
				t.Fatal(err)
			}
			x.endpoint = tc.endpoint
			run := f.options(x)
			rep := report.NewBlast(report.BlastRun{
				Command: tc.command, Scenario: "quickstart", Sink: tc.sink, Options: run, Seed: g.Seed(), Measurement: m,
				Verdicts: append(assert.Blast(o, run.Rate, nil), tc.readBack(o)),
			})
			rep.Totals.SinkCPU, rep.Totals.SinkPeakRSS = tc.sinkCPU, tc.sinkRSS
			var out strings.Builder
			rep.WriteText(&out)
			err = finishBlast(context.Background(), f, rep)
			var ee *exitError
			switch {
			case err == nil:
				out.WriteString("exit 0\n")
			case errors.As(err, &ee):
				fmt.Fprintf(&out, "exit %d: %v\n", ee.code, ee.err)
			default:
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("blast", tc.name+".txt"), []byte(out.String()))
			js, err := os.ReadFile(filepath.Join(dir, "blast.json"))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("blast", tc.name+".json"), js)
		})
	}
}
