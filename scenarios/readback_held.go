package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/record"
)

// collectorSlack is what a span kept by a collector may take on top of its
// tail-sampling decision_wait to reach the store: the processor's one-second
// decision tick, then the batch processor's timeout and the export.
const collectorSlack = 2 * time.Second

// heldStore is the embedded store behind a collector as a traceFetcher. The
// collector acknowledges a span before the store has it (it may hold the
// trace for its decision_wait) and may sample it away, so a settled group is
// looked up, as a query backend is, until its spans are all there or its
// deadline passes. The store records when each span arrived, and holds what
// it returns until the readBack takes the judged group's traces (held).
type heldStore struct{ store *embedded.Backend }

// Traces returns copies of the spans the store holds of the traces ids,
// leaving them there.
func (h heldStore) Traces(_ context.Context, ids []record.TraceID) ([]record.Span, error) {
	var out []record.Span
	for _, id := range ids {
		out = append(out, h.store.Trace(id)...)
	}
	return out, nil
}

// newHeldReadBack returns a readBack of the embedded store behind a
// collector, named name, with a deadline of deadline (see collectorDeadline)
// and a bound of bound groups. Its groups are looked up at once: the store
// serves a span as soon as it has it.
func newHeldReadBack(store *embedded.Backend, name string, deadline time.Duration, bound int) *readBack {
	r := newReadBack(heldStore{store}, name, deadline, bound, 0)
	r.delay = 0
	r.held = store
	return r
}

// collectorDeadline is how long after a group settled the store behind a
// collector is waited on for its spans: a trace the collector keeps
// arrives within its decision_wait and collectorSlack, and a run judged at
// its end waits for the store's count to stand still for quiet
// (sink.quiet), within the scenario's settle, so the deadline is the
// longest of those. A trace sampled away never arrives and is judged at
// its deadline.
func collectorDeadline(settle, quiet, decisionWait time.Duration) time.Duration {
	return max(settle, quiet, decisionWait+collectorSlack)
}

// heldErrors says what the report should of a run read back from the store
// behind a collector as it went, beyond what a run judged at its end says
// (sink.notes): that the read-back could not keep up (readBack.report),
// and that spans reached the store after their request was judged, which
// then counted them lost. Traces the collector sampled away are neither.
func (v *verifier) heldErrors() []string {
	rb, ok := v.src.(*readBack)
	if !ok || rb.held == nil {
		return nil
	}
	_, errs := rb.report(v.exportedTraces)
	if v.rest > 0 {
		errs = append(errs, fmt.Sprintf("%d spans reached %s's store after their request was judged (%s after it settled): the verdicts may count them as lost",
			v.rest, rb.name, rb.settle))
	}
	return errs
}
