package assert

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBlast judges made-up synthetic runs: delivery, the rate and what
// held it back.
func TestBlast(t *testing.T) {
	base := BlastOutcome{Traces: 1000, Sent: 10000, Delivered: 10000, Elapsed: time.Second, Workers: 4, CPU: 500 * time.Millisecond, Cores: 2}
	with := func(f func(*BlastOutcome)) BlastOutcome {
		o := base
		f(&o)
		return o
	}
	for _, tc := range []struct {
		name string
		rate float64
		o    BlastOutcome
		want []string
	}{
		{"flat out", 0, base, []string{"delivered every span"}},
		{"nothing sent", 0, BlastOutcome{}, []string{"nothing was sent"}},
		{"lost spans", 0, with(func(o *BlastOutcome) { o.Delivered, o.Failed, o.FailedRequests, o.Rejected = 9000, 900, 1, 100 }),
			[]string{"1000 of 10000 spans not delivered: 900 in 1 failed requests, 100 rejected by the sink"}},
		{"rate reached", 10000, base, []string{"delivered every span", "rate reached: asked 10000 spans/s, achieved 10000 spans/s (100.0%)"}},
		{"rate just reached", 10300, base, []string{"delivered every span", "rate reached: asked 10300 spans/s, achieved 10000 spans/s (97.1%)"}},
		{"export failures", 20000, with(func(o *BlastOutcome) { o.Delivered, o.Failed, o.FailedRequests = 5000, 5000, 5 }),
			[]string{"5000 of 10000 spans not delivered", "rate not reached: asked 20000 spans/s, achieved 5000 spans/s (25.0%), limited by failed exports: 5000 of 10000 spans not delivered"}},
		{"slow sink", 20000, with(func(o *BlastOutcome) { o.QueueFull, o.Busy, o.ExportLatency = 0.9, 4, 41234*time.Microsecond }),
			[]string{"delivered every span", "rate not reached: asked 20000 spans/s, achieved 10000 spans/s (50.0%), limited by the export: " +
				"4 workers busy 100% of the time at 41.2ms per request, the queue of built batches full 90% of the time"}},
		{"one worker always busy", 20000, with(func(o *BlastOutcome) {
			o.Workers, o.QueueFull, o.Busy, o.ExportLatency = 1, 0.2, 0.95, 5*time.Millisecond
		}),
			[]string{"delivered every span", "rate not reached: asked 20000 spans/s, achieved 10000 spans/s (50.0%), limited by the export: " +
				"1 worker busy 95% of the time at 5ms per request, the queue of built batches full 20% of the time"}},
		{"generator", 20000, with(func(o *BlastOutcome) { o.QueueFull, o.Busy = 0.01, 1 }),
			[]string{"delivered every span", "rate not reached: asked 20000 spans/s, achieved 10000 spans/s (50.0%), limited by the generator's CPU: " +
				"the workers had no batch to send 75% of the time (0.50 cores used of 2)"}},
		{"unclear", 1e9, with(func(o *BlastOutcome) { o.QueueFull, o.Busy = 0.3, 3 }),
			[]string{"delivered every span", "rate not reached: asked 1000000000 spans/s, achieved 10000 spans/s (0.001%), " +
				"limited by neither side alone: the queue was full 30% of the time, the workers busy 75%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vs := Blast(tc.o, tc.rate, nil)
			if len(vs) != len(tc.want) {
				t.Fatalf("verdicts %+v, want %q", vs, tc.want)
			}
			for i, v := range vs {
				if !strings.HasPrefix(v.Observed, tc.want[i]) {
					t.Errorf("verdict %d: %q, want it to start with %q", i, v.Observed, tc.want[i])
				}
				pass := strings.HasPrefix(tc.want[i], "delivered every span") || strings.HasPrefix(tc.want[i], "rate reached")
				if (v.Status == StatusPass) != pass {
					t.Errorf("verdict %q: %s", v.Observed, v.Status)
				}
			}
		})
	}
}

// TestReadBack compares what a sink holds with what a run sent: a counting
// sink by its spans, the embedded backend also by its traces and a sample
// of whole traces, the latter only when every span was delivered.
func TestReadBack(t *testing.T) {
	sent := BlastOutcome{Traces: 100, Sent: 500, Delivered: 500}
	lost := BlastOutcome{Traces: 100, Sent: 500, Delivered: 450, Failed: 50}
	linked := BlastOutcome{Traces: 100, Linked: 25, Sent: 600, Delivered: 600}
	for _, tc := range []struct {
		name string
		o    BlastOutcome
		held SinkHeld
		pass bool
		want string
	}{
		{"sink holds all", sent, SinkHeld{Holder: "sink", Spans: 500}, true,
			"sink holds 500 spans in 0 traces (sent 500 spans in 100 traces)"},
		{"sink short", sent, SinkHeld{Holder: "sink", Spans: 499}, false, "sink holds 499 spans"},
		{"sink rejected", sent, SinkHeld{Holder: "sink", Spans: 500, Rejected: 1}, false, "sink holds 500 spans"},
		{"sink unreadable", sent, SinkHeld{Holder: "sink", Err: errors.New("connection refused")}, false,
			"cannot read the sink's stats: connection refused"},
		{"backend whole", sent, SinkHeld{Holder: "backend", Spans: 500, Traces: 100, Sample: &TraceSample{100, 100}}, true,
			"backend holds 500 spans in 100 traces (sent 500 spans in 100 traces); 100 of 100 sampled traces complete"},
		{"backend trace missing", sent, SinkHeld{Holder: "backend", Spans: 500, Traces: 99, Sample: &TraceSample{100, 100}}, false,
			"backend holds 500 spans in 99 traces"},
		{"backend partial trace", sent, SinkHeld{Holder: "backend", Spans: 500, Traces: 100, Sample: &TraceSample{100, 99}}, false,
			"; 99 of 100 sampled traces complete"},
		{"consumers' traces held", linked, SinkHeld{Holder: "backend", Spans: 600, Traces: 125, Sample: &TraceSample{125, 125}}, true,
			"backend holds 600 spans in 125 traces (sent 600 spans in 125 traces: 100 requests', 25 that consumers started); 125 of 125 sampled traces complete"},
		{"consumers' traces missing", linked, SinkHeld{Holder: "backend", Spans: 600, Traces: 100, Sample: &TraceSample{125, 125}}, false,
			"backend holds 600 spans in 100 traces (sent 600 spans in 125 traces"},
		{"consumers' traces counted twice", linked, SinkHeld{Holder: "backend", Spans: 600, Traces: 150, Sample: &TraceSample{125, 125}}, false,
			"backend holds 600 spans in 150 traces"},
		{"backend after loss", lost, SinkHeld{Holder: "backend", Spans: 450, Traces: 95, Sample: &TraceSample{100, 90}}, true,
			"backend holds 450 spans in 95 traces (sent 500 spans in 100 traces); 90 of 100 sampled traces complete"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ReadBack(tc.o, tc.held)
			if v.Check != CheckReadBack || (v.Status == StatusPass) != tc.pass || !strings.Contains(v.Observed, tc.want) {
				t.Errorf("got %s %q, want pass %v, %q", v.Status, v.Observed, tc.pass, tc.want)
			}
		})
	}
}
