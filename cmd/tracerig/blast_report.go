package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// blastReportVersion is the version of blast.json's schema. It changes when
// a field changes meaning or goes away; new fields do not change it.
const blastReportVersion = 1

// rateReached is the share of the requested rate a run must deliver to
// have reached it: the same bar as a scenario's load verdict.
const rateReached = topology.DefaultLoadMin

// blastReport is one run of blast or bench, as written to blast.json and
// summarised on stdout.
type blastReport struct {
	Version   int           `json:"version"`
	Command   string        `json:"command"` // blast or bench
	Scenario  string        `json:"scenario"`
	Sink      string        `json:"sink"`
	StartedAt time.Time     `json:"started_at"`
	Settings  blastSettings `json:"settings"`
	Totals    blastTotals   `json:"totals"`
	// Series has a point per second of the run, the last one covering
	// what remained.
	Series      []blastPoint   `json:"series"`
	Verdicts    []blastVerdict `json:"verdicts"`
	Passed      bool           `json:"passed"`
	Interrupted bool           `json:"interrupted"`
}

// blastSettings are what the run was asked to do.
type blastSettings struct {
	Protocol string        `json:"protocol"`
	Endpoint string        `json:"endpoint"`
	Duration time.Duration `json:"duration_ns"`
	Rate     float64       `json:"requested_rate"` // spans/s; 0 = flat out
	Workers  int           `json:"workers"`
	Conns    int           `json:"conns"`
	Batch    int           `json:"batch"`
	Queue    int           `json:"queue"` // batches
	Retries  int           `json:"retries"`
	Seed     uint64        `json:"seed"`
}

// blastTotals are what the run did. Sent = Delivered + Failed + Rejected.
type blastTotals struct {
	Traces         uint64        `json:"traces"`
	Sent           int64         `json:"sent"`
	Delivered      int64         `json:"delivered"`
	Failed         int64         `json:"failed"`
	Rejected       int64         `json:"rejected"`
	Requests       int64         `json:"requests"`
	FailedRequests int64         `json:"failed_requests"`
	Retries        int64         `json:"retries"`
	FirstError     string        `json:"first_error,omitempty"`
	Elapsed        time.Duration `json:"elapsed_ns"`
	// AchievedRate is the spans delivered per second over Elapsed.
	AchievedRate float64 `json:"achieved_rate"`
	// Queued is the mean number of built batches waiting for a worker,
	// QueueFull the fraction of the run the queue had no room, Busy the
	// mean number of workers with a batch.
	Queued        float64       `json:"queued_batches"`
	QueueFull     float64       `json:"queue_full"`
	Busy          float64       `json:"workers_busy"`
	ExportLatency time.Duration `json:"export_latency_ns"`
	CPU           time.Duration `json:"cpu_ns"` // this process, user+sys
	// CPUPerMillion is CPU-seconds per million spans delivered.
	CPUPerMillion float64 `json:"cpu_s_per_million"`
	PeakRSS       int64   `json:"peak_rss_bytes"`
	// ReadBack says what the sink holds, when it was read back.
	ReadBack string `json:"read_back,omitempty"`
	// SinkCPU and SinkPeakRSS are those of bench's child sink over its
	// whole life.
	SinkCPU     time.Duration `json:"sink_cpu_ns,omitempty"`
	SinkPeakRSS int64         `json:"sink_peak_rss_bytes,omitempty"`
}

// blastPoint is one second of a run.
type blastPoint struct {
	T             time.Duration `json:"t_ns"` // end of the interval, from the start of the run
	Interval      time.Duration `json:"interval_ns"`
	RequestedRate float64       `json:"requested_rate"` // spans/s; 0 = flat out
	AchievedRate  float64       `json:"achieved_rate"`  // spans delivered per second of the interval
	Built         int64         `json:"built"`
	Delivered     int64         `json:"delivered"`
	Failed        int64         `json:"failed"`
	Rejected      int64         `json:"rejected"`
	Requests      int64         `json:"requests"`
	Retries       int64         `json:"retries"`
	Queued        float64       `json:"queued_batches"`
	QueueCap      int           `json:"queue_capacity"`
	QueueFull     float64       `json:"queue_full"`
	Busy          float64       `json:"workers_busy"`
	ExportLatency time.Duration `json:"export_latency_ns"`
}

// blastVerdict is the outcome of one check of a run.
type blastVerdict struct {
	Check   string `json:"check"` // delivery, rate, read-back
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
}

func newBlastReport(command, scenario, sink, endpoint string, f *blastFlags, r blastResult) *blastReport {
	st := r.st
	rep := &blastReport{
		Version: blastReportVersion, Command: command, Scenario: scenario, Sink: sink, StartedAt: r.started.UTC(),
		Settings: blastSettings{
			Protocol: *f.protocol, Endpoint: endpoint, Duration: *f.duration, Rate: *f.rate,
			Workers: st.Workers, Conns: *f.conns, Batch: *f.batch, Queue: st.QueueCap, Retries: *f.retries,
			Seed: r.gen.Seed(),
		},
		Totals: blastTotals{
			Traces: st.Traces, Sent: st.Sent, Delivered: st.Delivered, Failed: st.Failed, Rejected: st.Rejected,
			Requests: st.Requests, FailedRequests: st.FailedReq, Retries: st.Retries, FirstError: st.FirstErr,
			Elapsed: st.Elapsed, AchievedRate: perSecond(st.Delivered, st.Elapsed),
			Queued: st.Queued, QueueFull: st.QueueFull, Busy: st.Busy, ExportLatency: st.ExportLatency,
			CPU: r.cpu, CPUPerMillion: perMillion(r.cpu, st.Delivered), PeakRSS: r.maxRSS, ReadBack: r.readBack,
		},
		Series: make([]blastPoint, len(st.Samples)),
	}
	for i, s := range st.Samples {
		rep.Series[i] = blastPoint{
			T: s.At, Interval: s.Interval, RequestedRate: *f.rate, AchievedRate: perSecond(s.Delivered, s.Interval),
			Built: s.Built, Delivered: s.Delivered, Failed: s.Failed, Rejected: s.Rejected, Requests: s.Requests,
			Retries: s.Retries, Queued: s.Queued, QueueCap: st.QueueCap, QueueFull: s.QueueFull, Busy: s.Busy,
			ExportLatency: s.ExportLatency,
		}
	}
	rep.Verdicts = blastVerdicts(*f.rate, r)
	rep.Passed = true
	for _, v := range rep.Verdicts {
		rep.Passed = rep.Passed && v.Passed
	}
	return rep
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// blastVerdicts judges a run: every span delivered; the requested rate
// reached, when one was given; the read-back, when there was one.
func blastVerdicts(rate float64, r blastResult) []blastVerdict {
	st := r.st
	var vs []blastVerdict
	switch {
	case st.Sent == 0:
		vs = append(vs, blastVerdict{"delivery", false, "nothing was sent"})
	case st.Undelivered() == 0:
		vs = append(vs, blastVerdict{"delivery", true, "delivered every span"})
	default:
		vs = append(vs, blastVerdict{"delivery", false, fmt.Sprintf("%d of %d spans not delivered: %d in %d failed requests, %d rejected by the sink",
			st.Undelivered(), st.Sent, st.Failed, st.FailedReq, st.Rejected)})
	}
	if rate > 0 {
		achieved := perSecond(st.Delivered, st.Elapsed)
		msg := fmt.Sprintf("asked %.0f spans/s, achieved %.0f spans/s (%s)", rate, achieved, percent(achieved/rate))
		if achieved >= rateReached*rate {
			vs = append(vs, blastVerdict{"rate", true, "rate reached: " + msg})
		} else {
			vs = append(vs, blastVerdict{"rate", false, "rate not reached: " + msg + ", limited by " + rateLimit(r)})
		}
	}
	if r.readBack != "" {
		vs = append(vs, blastVerdict{"read-back", r.readOK, r.readBack})
	}
	return vs
}

// rateLimit says what held a run below its rate, from where the batches
// waited: workers always busy, or built batches waiting for a worker (the
// queue full), point at the export; workers waiting for a batch at the
// generator.
func rateLimit(r blastResult) string {
	st := r.st
	busy := 0.0
	if st.Workers > 0 {
		busy = st.Busy / float64(st.Workers)
	}
	switch {
	case st.Sent > 0 && float64(st.Undelivered()) > (1-rateReached)*float64(st.Sent):
		return fmt.Sprintf("failed exports: %d of %d spans not delivered", st.Undelivered(), st.Sent)
	case st.QueueFull >= 0.5 || busy >= 0.9:
		return fmt.Sprintf("the export: %s busy %.0f%% of the time at %s per request, the queue of built batches full %.0f%% of the time "+
			"(the sink answers slowly, or --workers/--conns are too few)",
			plural(st.Workers, "worker"), 100*busy, roundLatency(st.ExportLatency), 100*st.QueueFull)
	case busy < 0.5:
		return fmt.Sprintf("the generator's CPU: the workers had no batch to send %.0f%% of the time (%.2f cores used of %d)",
			100*(1-busy), r.cpu.Seconds()/st.Elapsed.Seconds(), runtime.GOMAXPROCS(0))
	}
	return fmt.Sprintf("neither side alone: the queue was full %.0f%% of the time, the workers busy %.0f%%",
		100*st.QueueFull, 100*busy)
}

// percent formats a share as a percentage, with two significant digits
// below 1%.
func percent(x float64) string {
	if p := 100 * x; p < 1 {
		return fmt.Sprintf("%.2g%%", p)
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 100*time.Microsecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// printBlast writes the summary of a run.
func printBlast(w io.Writer, rep *blastReport) {
	s, t := rep.Settings, rep.Totals
	secs := t.Elapsed.Seconds()
	perTrace := 0.0
	if t.Traces > 0 {
		perTrace = float64(t.Sent) / float64(t.Traces)
	}
	fmt.Fprintf(w, "%s %s -> %s\n", rep.Command, rep.Scenario, rep.Sink)
	fmt.Fprintf(w, "  workers %d, conns %d, batch %d spans, queue %d, retries %d, rate %s\n",
		s.Workers, s.Conns, s.Batch, s.Queue, s.Retries, rateString(s.Rate))
	fmt.Fprintf(w, "  sent       %d spans in %d traces (%.1f spans/trace), %d requests, %.2fs\n", t.Sent, t.Traces, perTrace, t.Requests, secs)
	fmt.Fprintf(w, "  delivered  %d spans = %.0f spans/s\n", t.Delivered, t.AchievedRate)
	fmt.Fprintf(w, "  undelivered %d spans: %d in %d failed requests, %d rejected by the sink; %d retries\n",
		t.Failed+t.Rejected, t.Failed, t.FailedRequests, t.Rejected, t.Retries)
	if t.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", t.FirstError)
	}
	fmt.Fprintf(w, "  queue      %.1f of %d built batches waiting on average, full %.0f%% of the time; %.1f of %d workers busy; %s per request\n",
		t.Queued, s.Queue, 100*t.QueueFull, t.Busy, s.Workers, roundLatency(t.ExportLatency))
	fmt.Fprintf(w, "  cpu        %.2f CPU-s (user+sys) = %.3f CPU-s per 1M spans delivered, %.2f cores\n",
		t.CPU.Seconds(), t.CPUPerMillion, t.CPU.Seconds()/secs)
	fmt.Fprintf(w, "  peak RSS   %.1f MiB\n", float64(t.PeakRSS)/(1<<20))
	if t.SinkCPU > 0 {
		fmt.Fprintf(w, "  sink cpu   %.2f CPU-s = %.3f CPU-s per 1M spans ingested (whole life of the sink), peak RSS %.1f MiB\n",
			t.SinkCPU.Seconds(), perMillion(t.SinkCPU, t.Delivered), float64(t.SinkPeakRSS)/(1<<20))
	}
}

// printVerdicts writes a line per verdict; the read-back keeps its own
// wording.
func printVerdicts(w io.Writer, rep *blastReport) {
	for _, v := range rep.Verdicts {
		if v.Check == "read-back" {
			status := "OK"
			if !v.Passed {
				status = "MISMATCH"
			}
			fmt.Fprintf(w, "  read-back  %s: %s\n", status, v.Message)
			continue
		}
		fmt.Fprintf(w, "  verdict    %s\n", v.Message)
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

// finishBlast writes blast.json when --out is set and turns the verdicts
// into the exit code: 130 when interrupted, 3 when nothing was sent, 1
// when a verdict failed.
func finishBlast(ctx context.Context, f *blastFlags, rep *blastReport) error {
	rep.Interrupted = ctx.Err() != nil
	if *f.out != "" {
		if err := rep.write(filepath.Join(*f.out, "blast.json")); err != nil {
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
		if !v.Passed {
			msg := v.Message
			if v.Check == "read-back" {
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

// write writes the report as JSON to path, creating its folder.
func (rep *blastReport) write(path string) error { return writeJSON(path, rep) }

// writeJSON writes v as indented JSON to path, creating its folder.
func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
