package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/cmdline"
	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// BlastVersion is the version of blast.json's schema. It changes when a
// field changes meaning or goes away; new fields do not change it.
const BlastVersion = 1

// Blast is one synthetic run of tracerig blast or bench, as written to
// blast.json and summarised as text.
type Blast struct {
	Version int `json:"version"`
	// TracerigVersion is the version of the tracerig that ran, as
	// buildinfo.Version says it; CommandLine the command line of the run,
	// every secret value masked (cmdline.Mask), empty for a run started
	// through the Go API.
	TracerigVersion string   `json:"tracerig_version,omitempty"`
	CommandLine     []string `json:"command_line,omitempty"`
	// Command and Scenario say what ran, Sink where it sent.
	Command   string        `json:"command"` // blast or bench
	Scenario  string        `json:"scenario"`
	Sink      string        `json:"sink"`
	StartedAt time.Time     `json:"started_at"`
	Settings  BlastSettings `json:"settings"`
	Totals    BlastTotals   `json:"totals"`
	// Series has a point per second of the run, the last one covering
	// what remained.
	Series []BlastPoint `json:"series"`
	// Shards are the generators of a sharded run (blast --kubernetes
	// --shards), each with its own totals, whose sums are Totals; absent
	// for a run of one process.
	Shards      []BlastShard  `json:"shards,omitempty"`
	Verdicts    BlastVerdicts `json:"verdicts"`
	Passed      bool          `json:"passed"`
	Interrupted bool          `json:"interrupted"`
}

// BlastSettings are what the run was asked to do.
type BlastSettings struct {
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
	RunID    string        `json:"run_id,omitempty"` // replays the run with --run-id
}

// BlastTotals are what the run did. Sent = Delivered + Failed + Rejected.
type BlastTotals struct {
	// Traces are the requests' traces; LinkedTraces the traces of their
	// own that consumers in mode link started beside them.
	Traces         uint64        `json:"traces"`
	LinkedTraces   uint64        `json:"linked_traces,omitempty"`
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
	// whole life; of a sharded blast, the CPU of the backend's pod in the
	// cluster (its peak RSS unknown: 0).
	SinkCPU     time.Duration `json:"sink_cpu_ns,omitempty"`
	SinkPeakRSS int64         `json:"sink_peak_rss_bytes,omitempty"`
}

// BlastPoint is one second of a run.
type BlastPoint struct {
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

// BlastShard is one generator of a sharded run and what it did. A shard
// that died (Error set) counts nothing as sent or delivered: its spans are
// not delivered.
type BlastShard struct {
	Name      string `json:"name"` // its pod
	Index     int    `json:"index"`
	Traces    uint64 `json:"traces"`
	Linked    uint64 `json:"linked_traces,omitempty"` // as BlastTotals.LinkedTraces
	Sent      int64  `json:"sent"`
	Delivered int64  `json:"delivered"`
	Failed    int64  `json:"failed"`
	Rejected  int64  `json:"rejected"`
	// Error says why the shard gave no figures: its pod's termination
	// reason and exit code, or the failed request for them.
	Error string `json:"error,omitempty"`
}

// BlastRun is what a Blast is written from: the run as asked, as measured
// and as judged.
type BlastRun struct {
	Command  string // blast or bench
	Scenario string // as the user named it
	Sink     string // as the summary names it
	// TracerigVersion is the version of the tracerig that ran
	// (buildinfo.Version); CommandLine the command line it ran, masked by
	// NewBlast.
	TracerigVersion string
	CommandLine     []string
	// Options are the run's options as asked (the endpoint the one sent
	// to), Seed the generator's seed.
	Options synthetic.RunOptions
	Seed    uint64
	// RunID is the run's ID, which every resource carried; "" for none.
	RunID       string
	Measurement synthetic.Measurement
	// Verdicts are assert.Blast's; the read-back's observation is also
	// the totals' ReadBack.
	Verdicts []assert.Verdict
}

// NewBlast builds the report of one synthetic run.
func NewBlast(r BlastRun) *Blast {
	st, o := r.Measurement.Stats, r.Options
	b := &Blast{
		Version: BlastVersion, Command: r.Command, Scenario: r.Scenario, Sink: r.Sink, StartedAt: r.Measurement.Started.UTC(),
		Settings: BlastSettings{
			Protocol: string(o.Protocol), Endpoint: o.Endpoint, Duration: o.Duration, Rate: o.Rate,
			Workers: st.Workers, Conns: o.Conns, Batch: o.Batch, Queue: st.QueueCap, Retries: o.Retries, Seed: r.Seed,
			RunID: r.RunID,
		},
		Totals:   blastTotals(st, r.Measurement),
		Series:   make([]BlastPoint, len(st.Samples)),
		Verdicts: r.Verdicts,
		Passed:   true,
	}
	b.TracerigVersion, b.CommandLine = r.TracerigVersion, cmdline.Mask(r.CommandLine)
	for i, s := range st.Samples {
		b.Series[i] = BlastPoint{
			T: s.At, Interval: s.Interval, RequestedRate: o.Rate, AchievedRate: perSecond(s.Delivered, s.Interval),
			Built: s.Built, Delivered: s.Delivered, Failed: s.Failed, Rejected: s.Rejected, Requests: s.Requests,
			Retries: s.Retries, Queued: s.Queued, QueueCap: st.QueueCap, QueueFull: s.QueueFull, Busy: s.Busy,
			ExportLatency: s.ExportLatency,
		}
	}
	for _, v := range r.Verdicts {
		b.Passed = b.Passed && v.Status == assert.StatusPass
		if v.Check == assert.CheckReadBack {
			b.Totals.ReadBack = v.Observed
		}
	}
	return b
}

// blastTotals sums up a measured run.
func blastTotals(st synthetic.Stats, m synthetic.Measurement) BlastTotals {
	return BlastTotals{
		Traces: st.Traces, LinkedTraces: st.Linked, Sent: st.Sent, Delivered: st.Delivered, Failed: st.Failed, Rejected: st.Rejected,
		Requests: st.Requests, FailedRequests: st.FailedReq, Retries: st.Retries, FirstError: st.FirstErr,
		Elapsed: st.Elapsed, AchievedRate: perSecond(st.Delivered, st.Elapsed),
		Queued: st.Queued, QueueFull: st.QueueFull, Busy: st.Busy, ExportLatency: st.ExportLatency,
		CPU: m.CPU, CPUPerMillion: PerMillion(m.CPU, st.Delivered), PeakRSS: m.PeakRSS,
	}
}

// perSecond is n per second of d; 0 for no time.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// PerMillion is CPU-seconds per million spans; 0 for no span.
func PerMillion(d time.Duration, spans int64) float64 {
	if spans == 0 {
		return 0
	}
	return d.Seconds() / float64(spans) * 1e6
}

// BlastVerdicts are a synthetic run's verdicts, which blast.json keeps as
// {check, passed, message}: the verdict's Observed is its message.
type BlastVerdicts []assert.Verdict

// blastVerdict is one verdict as blast.json has it.
type blastVerdict struct {
	Check   string `json:"check"` // delivery, rate, read-back
	Passed  bool   `json:"passed"`
	Message string `json:"message"`
}

// MarshalJSON writes the verdicts in blast.json's shape.
func (vs BlastVerdicts) MarshalJSON() ([]byte, error) {
	out := make([]blastVerdict, len(vs))
	for i, v := range vs {
		out[i] = blastVerdict{Check: v.Check, Passed: v.Status == assert.StatusPass, Message: v.Observed}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads verdicts in blast.json's shape.
func (vs *BlastVerdicts) UnmarshalJSON(data []byte) error {
	var in []blastVerdict
	if err := json.Unmarshal(data, &in); err != nil {
		return fmt.Errorf("decode blast verdicts: %w", err)
	}
	*vs = make(BlastVerdicts, len(in))
	for i, v := range in {
		(*vs)[i] = assert.Verdict{Check: v.Check, Status: assert.StatusFail, Observed: v.Message}
		if v.Passed {
			(*vs)[i].Status = assert.StatusPass
		}
	}
	return nil
}

// WriteJSON writes the report as blast.json to path, creating its folder.
func (b *Blast) WriteJSON(path string) error { return WriteJSONFile(path, b) }

// WriteJSONFile writes v as indented JSON to path, creating its folder.
func WriteJSONFile(path string, v any) error {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteText writes the summary of the run and a line per verdict.
func (b *Blast) WriteText(w io.Writer) error {
	b.writeSummary(w)
	b.writeShards(w)
	b.writeVerdicts(w)
	return nil
}

// writeSummary writes what the run was asked, what it sent and what that
// cost.
func (b *Blast) writeSummary(w io.Writer) {
	s, t := b.Settings, b.Totals
	secs := t.Elapsed.Seconds()
	perTrace := 0.0
	if traces := t.Traces + t.LinkedTraces; traces > 0 {
		perTrace = float64(t.Sent) / float64(traces)
	}
	fmt.Fprintf(w, "%s %s -> %s", b.Command, b.Scenario, b.Sink)
	if s.RunID != "" {
		fmt.Fprintf(w, " (run %s)", s.RunID)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  workers %d, conns %d, batch %d spans, queue %d, retries %d, rate %s\n",
		s.Workers, s.Conns, s.Batch, s.Queue, s.Retries, rateString(s.Rate))
	fmt.Fprintf(w, "  sent       %d spans in %d traces (%.1f spans/trace), %d requests, %.2fs\n", t.Sent, t.Traces+t.LinkedTraces, perTrace, t.Requests, secs)
	if t.LinkedTraces > 0 {
		fmt.Fprintf(w, "             of those traces, %d were started by consumers in mode link and link to the others\n", t.LinkedTraces)
	}
	fmt.Fprintf(w, "  delivered  %d spans = %.0f spans/s\n", t.Delivered, t.AchievedRate)
	fmt.Fprintf(w, "  undelivered %d spans: %d in %d failed requests, %d rejected by the sink; %d retries\n",
		t.Failed+t.Rejected, t.Failed, t.FailedRequests, t.Rejected, t.Retries)
	if t.FirstError != "" {
		fmt.Fprintf(w, "  first error: %s\n", t.FirstError)
	}
	fmt.Fprintf(w, "  queue      %.1f of %d built batches waiting on average, full %.0f%% of the time; %.1f of %d workers busy; %s per request\n",
		t.Queued, s.Queue, 100*t.QueueFull, t.Busy, s.Workers, durfmt.Human(t.ExportLatency))
	fmt.Fprintf(w, "  cpu        %.2f CPU-s (user+sys) = %.3f CPU-s per 1M spans delivered, %.2f cores\n",
		t.CPU.Seconds(), t.CPUPerMillion, t.CPU.Seconds()/secs)
	fmt.Fprintf(w, "  peak RSS   %.1f MiB\n", float64(t.PeakRSS)/(1<<20))
	if t.SinkCPU > 0 {
		fmt.Fprintf(w, "  sink cpu   %.2f CPU-s = %.3f CPU-s per 1M spans ingested (whole life of the sink)",
			t.SinkCPU.Seconds(), PerMillion(t.SinkCPU, t.Delivered))
		if t.SinkPeakRSS > 0 {
			fmt.Fprintf(w, ", peak RSS %.1f MiB", float64(t.SinkPeakRSS)/(1<<20))
		}
		fmt.Fprintln(w)
	}
}

// writeShards writes a line per shard of a sharded run.
func (b *Blast) writeShards(w io.Writer) {
	for _, s := range b.Shards {
		if s.Error != "" {
			fmt.Fprintf(w, "  shard %-4d %s: DIED: %s; its spans counted as not delivered\n", s.Index, s.Name, s.Error)
			continue
		}
		fmt.Fprintf(w, "  shard %-4d %s: sent %d spans in %d traces, delivered %d, failed %d, rejected %d\n",
			s.Index, s.Name, s.Sent, s.Traces+s.Linked, s.Delivered, s.Failed, s.Rejected)
	}
}

// writeVerdicts writes a line per verdict; the read-back keeps its own
// wording.
func (b *Blast) writeVerdicts(w io.Writer) {
	for _, v := range b.Verdicts {
		if v.Check == assert.CheckReadBack {
			status := "OK"
			if v.Status != assert.StatusPass {
				status = "MISMATCH"
			}
			fmt.Fprintf(w, "  read-back  %s: %s\n", status, v.Observed)
			continue
		}
		fmt.Fprintf(w, "  verdict    %s\n", v.Observed)
	}
}

// rateString is a requested rate as the summary shows it.
func rateString(r float64) string {
	if r == 0 {
		return "flat out"
	}
	return fmt.Sprintf("%.0f spans/s", r)
}
