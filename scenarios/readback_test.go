package scenarios

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
)

// heldTraces is a query backend that holds the spans put in it, or fails
// every look-up while err is set.
type heldTraces struct {
	spans   map[record.TraceID][]record.Span
	err     error
	lookups int
}

func (h *heldTraces) Traces(_ context.Context, ids []record.TraceID) ([]record.Span, error) {
	h.lookups++
	if h.err != nil {
		return nil, h.err
	}
	var out []record.Span
	for _, id := range ids {
		out = append(out, h.spans[id]...)
	}
	return out, nil
}

// request is a settled group of one trace with n spans acknowledged, and the
// backend's copy of its first have spans.
func request(trace byte, n, have int) (simulator.Settled, []record.Span) {
	var s simulator.Settled
	var back []record.Span
	for i := range n {
		e := record.Ended{Span: record.Span{Trace: record.TraceID{trace}, ID: record.SpanID{trace, byte(i + 1)}}, Export: record.ExportOK}
		s.Ended = append(s.Ended, e)
		if i < have {
			back = append(back, record.Span{Trace: e.Trace, ID: e.ID})
		}
	}
	return s, back
}

// TestReadBackRules drives a readBack on a clock of its own through the
// ways a group leaves it: whole, at its deadline, past the queue's bound,
// with nothing acknowledged, and through failed look-ups.
func TestReadBackRules(t *testing.T) {
	t0 := time.Unix(1000, 0)
	type step struct {
		at      time.Duration       // since t0
		add     []simulator.Settled // settled at that tick, quiet for 0
		err     error               // of the look-ups from this step on
		judged  int                 // groups ready after the step
		waiting int
	}
	whole, wholeBack := request(1, 3, 3)
	partial, partialBack := request(2, 3, 1)
	none := simulator.Settled{Ended: []record.Ended{{Span: record.Span{Trace: record.TraceID{3}, ID: record.SpanID{3, 1}}, Export: record.ExportFailed}}}
	third, thirdBack := request(4, 2, 0)
	for _, tc := range []struct {
		name  string
		bound int
		steps []step
		want  func(t *testing.T, r *readBack)
	}{{
		name:  "whole at the first look-up after the arrival delay",
		bound: 10,
		steps: []step{{at: 0, add: []simulator.Settled{whole}, waiting: 1}, {at: time.Second, judged: 1}},
		want: func(t *testing.T, r *readBack) {
			if r.whole != 1 || r.late != (loss{}) || r.lookups != 1 {
				t.Errorf("whole %d, late %+v, lookups %d", r.whole, r.late, r.lookups)
			}
		},
	}, {
		name:  "missing spans wait until the deadline, then count",
		bound: 10,
		steps: []step{{at: 0, add: []simulator.Settled{partial}, waiting: 1}, {at: time.Second, waiting: 1}, {at: 4 * time.Second, waiting: 1}, {at: 5 * time.Second, judged: 1}},
		want: func(t *testing.T, r *readBack) {
			if r.late != (loss{groups: 1, traces: 1, spans: 2}) || r.lookups != 3 {
				t.Errorf("late %+v after %d look-ups, want 1 group, 1 trace, 2 spans after 3", r.late, r.lookups)
			}
		},
	}, {
		name:  "nothing acknowledged is judged at once",
		bound: 10,
		steps: []step{{at: 0, add: []simulator.Settled{none}, judged: 1}},
		want: func(t *testing.T, r *readBack) {
			if r.lookups != 0 {
				t.Errorf("%d look-ups for a group with nothing to look up", r.lookups)
			}
		},
	}, {
		name:  "over the bound the oldest is judged at once",
		bound: 1,
		steps: []step{{at: 0, add: []simulator.Settled{partial, third}, judged: 1, waiting: 1}},
		want: func(t *testing.T, r *readBack) {
			if r.over != (loss{groups: 1, traces: 1, spans: 3}) || r.lookups != 0 {
				t.Errorf("over %+v after %d look-ups, want the oldest group, before any look-up: 1 trace, 3 spans", r.over, r.lookups)
			}
			if _, errs := r.report(2); len(errs) != 1 {
				t.Errorf("errors %q, want one saying the backend could not keep up", errs)
			}
		},
	}, {
		name:  "failed look-ups leave groups to their deadline and are reported",
		bound: 10,
		steps: []step{{at: 0, add: []simulator.Settled{whole}, err: errors.New("503"), waiting: 1}, {at: time.Second, waiting: 1}, {at: 5 * time.Second, judged: 1}},
		want: func(t *testing.T, r *readBack) {
			_, errs := r.report(1)
			if r.failed != 2 || r.late.traces != 1 || len(errs) != 1 {
				t.Errorf("failed %d, late %+v, errors %q", r.failed, r.late, errs)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := &heldTraces{spans: map[record.TraceID][]record.Span{{1}: wholeBack, {2}: partialBack, {4}: thirdBack}}
			now := t0
			r := newReadBack(h, "jaeger", 5*time.Second, tc.bound, 0)
			r.clock = func() time.Time { return now }
			// The arrival probe followed trace 1 alone.
			probeAt := t0.Add(100 * time.Millisecond).UnixNano()
			r.arrivals = func(ids []record.TraceID) map[record.TraceID]map[record.SpanID]int64 {
				seen := map[record.TraceID]map[record.SpanID]int64{}
				for _, id := range ids {
					if id == (record.TraceID{1}) {
						seen[id] = map[record.SpanID]int64{}
						for _, sp := range wholeBack {
							seen[id][sp.ID] = probeAt
						}
					}
				}
				return seen
			}
			for i, st := range tc.steps {
				now = t0.Add(st.at)
				if st.err != nil {
					h.err = st.err
				}
				got := r.collect(now, st.add, 0)
				if len(got) != st.judged || r.waiting() != st.waiting {
					t.Fatalf("step %d: %d judged, %d waiting; want %d, %d", i, len(got), r.waiting(), st.judged, st.waiting)
				}
				for _, g := range got {
					for _, sp := range g.Backend {
						want := int64(0)
						if sp.Trace == (record.TraceID{1}) {
							want = probeAt
						}
						if sp.Arrived != want {
							t.Errorf("step %d: span of trace %s arrived at %d, want the probe's %d", i, sp.Trace, sp.Arrived, want)
						}
					}
				}
			}
			tc.want(t, r)
		})
	}
}

// TestReadBackEviction: a group missing spans after the store took more
// traces than it keeps names the eviction; one judged before does not.
func TestReadBackEviction(t *testing.T) {
	h := &heldTraces{}
	r := newReadBack(h, "jaeger", time.Second, 100, 2)
	now := time.Unix(1000, 0)
	r.clock = func() time.Time { return now }
	var first, later []simulator.Settled
	for i := range 2 {
		s, _ := request(byte(10+i), 1, 0)
		first = append(first, s)
	}
	r.collect(now, first, time.Minute)
	for i := range 2 {
		s, _ := request(byte(20+i), 1, 0)
		later = append(later, s)
	}
	r.collect(now, later, time.Minute)
	now = now.Add(time.Second)
	got := r.collect(now, nil, 0)
	causes := map[record.TraceID]string{}
	for _, g := range got {
		causes[g.Ended[0].Trace] = g.BackendLoss
	}
	if len(got) != 4 || causes[record.TraceID{10}] == "" || causes[record.TraceID{20}] != "" {
		t.Errorf("causes %q, want the eviction named for the first tick's groups alone", causes)
	}
}
