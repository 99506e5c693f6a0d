package assert

import (
	"fmt"
	"time"

	"github.com/tracerig/tracerig/internal/durfmt"
	"github.com/tracerig/tracerig/topology"
)

// The checks of a synthetic run (tracerig blast and bench), as
// Verdict.Check names them.
const (
	CheckDelivery = "delivery"
	CheckRate     = "rate"
	CheckReadBack = "read-back"
)

// rateReached is the share of the requested rate a synthetic run must
// deliver to have reached it: the same bar as a scenario's load verdict.
const rateReached = topology.DefaultLoadMin

// BlastOutcome is what a synthetic run did, as its checks read it. Sent =
// Delivered + Failed + Rejected.
type BlastOutcome struct {
	// Traces are the requests' traces; Linked the traces of their own that
	// consumers in mode link started beside them. The run sent Traces +
	// Linked traces.
	Traces, Linked                                    uint64
	Sent, Delivered, Failed, Rejected, FailedRequests int64
	Elapsed                                           time.Duration
	// Workers is the number of workers exporting, Busy the mean number
	// with a batch, QueueFull the fraction of the run the queue of built
	// batches had no room, ExportLatency the mean export attempt.
	Workers       int
	Busy          float64
	QueueFull     float64
	ExportLatency time.Duration
	// CPU is the generating process's CPU time during the run, Cores the
	// cores it could use (GOMAXPROCS).
	CPU   time.Duration
	Cores int
}

// sentTraces returns the traces the run sent.
func (o BlastOutcome) sentTraces() uint64 { return o.Traces + o.Linked }

// undelivered returns the spans that did not reach the sink.
func (o BlastOutcome) undelivered() int64 { return o.Failed + o.Rejected }

// achieved returns the spans delivered per second of the run.
func (o BlastOutcome) achieved() float64 {
	if o.Elapsed <= 0 {
		return 0
	}
	return float64(o.Delivered) / o.Elapsed.Seconds()
}

// SinkHeld is what the sink of a synthetic run holds, read back after it.
type SinkHeld struct {
	// Holder names the sink in the verdict: "backend", "sink".
	Holder                  string
	Spans, Traces, Rejected int64
	// Sample is the traces recomputed from their sequence numbers and
	// looked up in the sink; nil when the sink only counts, and then the
	// trace count is not checked either.
	Sample *TraceSample
	// Err says why the sink could not be read; the counts are then zero.
	Err error
}

// TraceSample counts the sampled traces of a read-back and those the sink
// holds every span of: requests' traces, and the traces of their own that
// consumers started for them.
type TraceSample struct{ Checked, Complete int }

// Blast judges a synthetic run: every span delivered; the requested rate
// (spans/s) reached, when one was given (rate > 0); what the sink holds
// matching what was sent, when it was read back (held not nil).
func Blast(o BlastOutcome, rate float64, held *SinkHeld) []Verdict {
	vs := []Verdict{Delivery(o)}
	if rate > 0 {
		vs = append(vs, Rate(o, rate))
	}
	if held != nil {
		vs = append(vs, ReadBack(o, *held))
	}
	return vs
}

// Delivery passes when the run sent spans and the sink accepted every one.
func Delivery(o BlastOutcome) Verdict {
	v := Verdict{
		Check: CheckDelivery, Status: StatusPass, Measured: "spans the sink accepted of the spans sent",
		Expected: "every span delivered", Observed: "delivered every span",
		Stats: map[string]float64{"sent": float64(o.Sent), "delivered": float64(o.Delivered), "failed": float64(o.Failed), "rejected": float64(o.Rejected)},
	}
	switch {
	case o.Sent == 0:
		v.Status, v.Observed = StatusFail, "nothing was sent"
	case o.undelivered() > 0:
		v.Status = StatusFail
		v.Observed = fmt.Sprintf("%d of %d spans not delivered: %d in %d failed requests, %d rejected by the sink",
			o.undelivered(), o.Sent, o.Failed, o.FailedRequests, o.Rejected)
	}
	return v
}

// Rate passes when the run delivered at least rateReached of rate spans/s;
// a shortfall says what held the run back.
func Rate(o BlastOutcome, rate float64) Verdict {
	achieved := o.achieved()
	msg := fmt.Sprintf("asked %.0f spans/s, achieved %.0f spans/s (%s)", rate, achieved, ratePercent(achieved/rate))
	v := Verdict{
		Check: CheckRate, Status: StatusPass, Measured: "spans delivered per second",
		Expected: fmt.Sprintf("at least %s of %.0f spans/s", percent(rateReached), rate), Observed: "rate reached: " + msg,
		Stats: map[string]float64{"requested": rate, "achieved": achieved},
	}
	if achieved < rateReached*rate {
		v.Status, v.Observed = StatusFail, "rate not reached: "+msg+", limited by "+blastLimit(o)
	}
	return v
}

// blastLimit says what held a synthetic run below its rate, from where the batches
// waited: workers always busy, or built batches waiting for a worker (the
// queue full), point at the export; workers waiting for a batch at the
// generator.
func blastLimit(o BlastOutcome) string {
	busy := 0.0
	if o.Workers > 0 {
		busy = o.Busy / float64(o.Workers)
	}
	switch {
	case o.Sent > 0 && float64(o.undelivered()) > (1-rateReached)*float64(o.Sent):
		return fmt.Sprintf("failed exports: %d of %d spans not delivered", o.undelivered(), o.Sent)
	case o.QueueFull >= 0.5 || busy >= 0.9:
		return fmt.Sprintf("the export: %d %s busy %.0f%% of the time at %s per request, the queue of built batches full %.0f%% of the time "+
			"(the sink answers slowly, or --workers/--conns are too few)",
			o.Workers, plural(o.Workers, "worker", "workers"), 100*busy, durfmt.Human(o.ExportLatency), 100*o.QueueFull)
	case busy < 0.5:
		return fmt.Sprintf("the generator's CPU: the workers had no batch to send %.0f%% of the time (%.2f cores used of %d)",
			100*(1-busy), o.CPU.Seconds()/o.Elapsed.Seconds(), o.Cores)
	}
	return fmt.Sprintf("neither side alone: the queue was full %.0f%% of the time, the workers busy %.0f%%",
		100*o.QueueFull, 100*busy)
}

// ratePercent formats a share as a percentage, with two significant
// digits below 1%.
func ratePercent(x float64) string {
	if p := 100 * x; p < 1 {
		return fmt.Sprintf("%.2g%%", p)
	}
	return fmt.Sprintf("%.1f%%", 100*x)
}

// ReadBack passes when the sink holds every span delivered and rejected
// none; with a sample, and when every span was delivered, also when it
// holds as many traces as were sent (the requests' and the consumers'
// own) and every sampled trace whole.
func ReadBack(o BlastOutcome, h SinkHeld) Verdict {
	v := Verdict{
		Check: CheckReadBack, Status: StatusPass, Measured: "spans and traces the " + h.Holder + " holds",
		Expected: "every span delivered, none rejected",
		Stats:    map[string]float64{"spans": float64(h.Spans), "traces": float64(h.Traces), "rejected": float64(h.Rejected)},
	}
	if h.Err != nil {
		v.Status, v.Observed = StatusFail, "cannot read the "+h.Holder+"'s stats: "+h.Err.Error()
		return v
	}
	ok := h.Spans == o.Delivered && h.Rejected == 0
	v.Observed = fmt.Sprintf("%s holds %d spans in %d traces (sent %d spans in %d traces", h.Holder, h.Spans, h.Traces, o.Sent, o.sentTraces())
	if o.Linked > 0 {
		v.Observed += fmt.Sprintf(": %d requests', %d that consumers started", o.Traces, o.Linked)
	}
	v.Observed += ")"
	if s := h.Sample; s != nil {
		v.Expected += "; every trace sent, each sampled one complete"
		if o.undelivered() == 0 && (uint64(h.Traces) != o.sentTraces() || s.Complete < s.Checked) {
			ok = false
		}
		v.Observed += fmt.Sprintf("; %d of %d sampled traces complete", s.Complete, s.Checked)
	}
	if !ok {
		v.Status = StatusFail
	}
	return v
}
