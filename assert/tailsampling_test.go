package assert

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// tailRun is a synthetic run: traces of three spans (a root and two children) of three kinds, and
// a collector that keeps some of them.
type tailRun struct {
	ended   []record.Ended
	backend []record.Span
	byTrace map[record.TraceID][]record.Span
	next    uint64
}

func newTailRun() *tailRun { return &tailRun{byTrace: map[record.TraceID][]record.Span{}} }

// trace adds a trace whose root lasts rootLen, with an error child when failing, and returns its
// ID. The children end within the root.
func (r *tailRun) trace(rootLen time.Duration, failing bool) record.TraceID {
	r.next++
	var id record.TraceID
	binary.BigEndian.PutUint64(id[8:], r.next)
	id[0] = 0x7a
	base := int64(1_700_000_000_000_000_000) + int64(r.next)*int64(time.Second)
	var spans []record.Span
	root := record.Span{Trace: id, Start: base, End: base + int64(rootLen), Service: "frontend", Instance: "frontend-0", Name: "GET /checkout", Kind: record.KindServer}
	binary.BigEndian.PutUint64(root.ID[:], r.next<<8)
	spans = append(spans, root)
	for c := range 2 {
		sp := record.Span{Trace: id, Parent: root.ID, Start: base + int64(time.Millisecond), End: base + 2*int64(time.Millisecond),
			Service: "payment", Instance: "payment-0", Name: "shop.Payment/Charge", Kind: record.KindClient}
		binary.BigEndian.PutUint64(sp.ID[:], r.next<<8|uint64(c+1))
		if failing && c == 1 {
			sp.Status = record.StatusError
		}
		spans = append(spans, sp)
	}
	for _, sp := range spans {
		r.ended = append(r.ended, record.Ended{Span: sp, Export: record.ExportOK})
	}
	r.byTrace[id] = spans
	return id
}

// keep puts the first n spans of trace id (all with n < 0) in the backend.
func (r *tailRun) keep(id record.TraceID, n int) {
	spans := r.byTrace[id]
	if n < 0 || n > len(spans) {
		n = len(spans)
	}
	r.backend = append(r.backend, spans[:n]...)
}

func (r *tailRun) input() Input { return Input{Ended: r.ended, Backend: r.backend, ReadBack: true} }

var tailExpect = topology.TailSamplingExpect{
	KeepErrors:     true,
	KeepSlowerThan: 100 * time.Millisecond,
	Probabilistic:  0.2,
	Confidence:     0.99,
}

// goodRun is what a collector with the policies status_code ERROR, latency 100ms and
// probabilistic 20% keeps: every error and slow trace, and a seeded 20% draw of the rest.
func goodRun(t *testing.T, nErr, nSlow, nPlain int, share float64) (*tailRun, map[string][]record.TraceID) {
	t.Helper()
	r := newTailRun()
	rng := rand.New(rand.NewPCG(1, 2))
	ids := map[string][]record.TraceID{}
	for range nErr {
		id := r.trace(5*time.Millisecond, true)
		r.keep(id, -1)
		ids["error"] = append(ids["error"], id)
	}
	for range nSlow {
		id := r.trace(250*time.Millisecond, false)
		r.keep(id, -1)
		ids["slow"] = append(ids["slow"], id)
	}
	for range nPlain {
		id := r.trace(5*time.Millisecond, false)
		if rng.Float64() < share {
			r.keep(id, -1)
			ids["kept"] = append(ids["kept"], id)
		} else {
			ids["dropped"] = append(ids["dropped"], id)
		}
	}
	return r, ids
}

func TestTailSamplingPass(t *testing.T) {
	r, _ := goodRun(t, 30, 30, 1000, 0.2)
	v := tailVerdict(t, r.input(), tailExpect)
	if v.Status != StatusPass {
		t.Fatalf("status %s, want pass: %s; findings %+v", v.Status, v.Observed, v.Findings)
	}
	for k, want := range map[string]float64{"error_traces": 30, "error_kept": 30, "slow_traces": 30, "slow_kept": 30, "other_traces": 1000, "partial_traces": 0} {
		if v.Stats[k] != want {
			t.Errorf("Stats[%s] = %v, want %v", k, v.Stats[k], want)
		}
	}
	if lo, hi := v.Stats["interval_lo"], v.Stats["interval_hi"]; !(lo < 0.2 && 0.2 < hi) || hi-lo > 0.1 {
		t.Errorf("interval [%v, %v]", lo, hi)
	}
	if !strings.Contains(v.Observed, "Wilson interval") || !strings.Contains(v.Expected, "every trace with an error span kept whole") {
		t.Errorf("observed %q, expected %q", v.Observed, v.Expected)
	}
}

func TestTailSamplingDroppedErrorAndSlow(t *testing.T) {
	r := newTailRun()
	errDropped := r.trace(5*time.Millisecond, true)
	slowDropped := r.trace(300*time.Millisecond, false)
	r.keep(r.trace(5*time.Millisecond, true), -1)
	v := tailVerdict(t, r.input(), topology.TailSamplingExpect{KeepErrors: true, KeepSlowerThan: 100 * time.Millisecond})
	if v.Status != StatusFail {
		t.Fatalf("status %s, want fail", v.Status)
	}
	want := map[string]string{"keep-errors": errDropped.String(), "keep-slower-than 100ms": slowDropped.String()}
	for _, f := range v.Findings {
		if ex, ok := want[f.Subject]; ok && len(f.Examples) == 1 && strings.HasPrefix(f.Examples[0], ex) && strings.Contains(f.Message, "dropped") {
			delete(want, f.Subject)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing findings %v in %+v", want, v.Findings)
	}
	if v.Stats["error_traces"] != 2 || v.Stats["error_kept"] != 1 || v.Stats["slow_kept"] != 0 {
		t.Errorf("stats %v", v.Stats)
	}
}

func TestTailSamplingPartial(t *testing.T) {
	r, ids := goodRun(t, 3, 3, 100, 0.2)
	// Rebuild the backend with one error trace and one plain kept trace missing a span.
	r.backend = nil
	for kind, list := range ids {
		for i, id := range list {
			switch {
			case kind == "dropped":
			case i == 0 && (kind == "error" || kind == "kept"):
				r.keep(id, 2)
			default:
				r.keep(id, -1)
			}
		}
	}
	v := tailVerdict(t, r.input(), tailExpect)
	if v.Status != StatusFail || v.Stats["partial_traces"] != 2 || v.Stats["error_partial"] != 1 || v.Stats["other_partial"] != 1 {
		t.Fatalf("status %s stats %v, want fail with 2 partial traces", v.Status, v.Stats)
	}
	var examples []string
	for _, f := range v.Findings {
		if strings.Contains(f.Message, "partial") {
			examples = append(examples, f.Examples...)
		}
	}
	if len(examples) != 2 || !strings.Contains(examples[0], "(2 of 3 spans; missing payment") {
		t.Errorf("partial examples %q", examples)
	}
}

func TestTailSamplingShareOutsideInterval(t *testing.T) {
	// 40% kept where 20% was promised: far outside a 99% interval at n = 1000.
	r, _ := goodRun(t, 5, 5, 1000, 0.4)
	v := tailVerdict(t, r.input(), tailExpect)
	if v.Status != StatusFail {
		t.Fatalf("status %s, want fail: %s", v.Status, v.Observed)
	}
	if !strings.Contains(v.Observed, "excludes 20%") {
		t.Errorf("observed %q", v.Observed)
	}
	var f *Finding
	for i := range v.Findings {
		if v.Findings[i].Subject == "probabilistic 20%" {
			f = &v.Findings[i]
		}
	}
	if f == nil || f.Of != 1000 || f.Count < 300 {
		t.Errorf("share finding %+v", f)
	}
}

// TestTailSamplingFalseAlarms runs the check on many honest 20% collectors: at 99% confidence
// about 1% of them may fail, no more.
func TestTailSamplingFalseAlarms(t *testing.T) {
	fails := 0
	const runs = 200
	for seed := range uint64(runs) {
		r := newTailRun()
		rng := rand.New(rand.NewPCG(seed, 99))
		for range 300 {
			id := r.trace(5*time.Millisecond, false)
			if rng.Float64() < 0.2 {
				r.keep(id, -1)
			}
		}
		if tailVerdict(t, r.input(), topology.TailSamplingExpect{Probabilistic: 0.2}).Status != StatusPass {
			fails++
		}
	}
	if fails > 8 { // expected ~2 of 200; 8 is far in the tail
		t.Errorf("%d of %d honest runs failed at 99%% confidence", fails, runs)
	}
}

func TestTailSamplingLostBeforeCollector(t *testing.T) {
	r := newTailRun()
	id := r.trace(5*time.Millisecond, true)
	// The last span never reached the collector: the trace is whole as far as the collector goes.
	r.ended[len(r.ended)-1].Export = record.ExportFailed
	r.keep(id, 2)
	// A trace none of whose spans reached the collector is left out.
	r.trace(5*time.Millisecond, true)
	for i := 3; i < 6; i++ {
		r.ended[i].Export = record.ExportPending
	}
	v := tailVerdict(t, r.input(), topology.TailSamplingExpect{KeepErrors: true})
	if v.Status != StatusPass || v.Stats["spans_lost_before_collector"] != 4 || v.Stats["traces_not_delivered"] != 1 || v.Stats["error_traces"] != 1 {
		t.Fatalf("status %s (%s), stats %v", v.Status, v.Observed, v.Stats)
	}
}

func TestTailSamplingBorderline(t *testing.T) {
	r := newTailRun()
	// A root of 50ms whose child runs on to 150ms: not slow by its root, slow to the collector.
	id := r.trace(50*time.Millisecond, false)
	r.ended[2].End = r.ended[0].Start + int64(150*time.Millisecond)
	r.keep(id, -1)
	v := tailVerdict(t, r.input(), tailExpect)
	if v.Stats["borderline_traces"] != 1 || v.Stats["other_traces"] != 0 {
		t.Fatalf("stats %v", v.Stats)
	}
}

func TestTailSamplingNotRun(t *testing.T) {
	r, _ := goodRun(t, 1, 1, 10, 0.2)
	in := r.input()
	in.ReadBack, in.NoReadBack = false, "exported elsewhere"
	if v := tailVerdict(t, in, tailExpect); v.Status != StatusNotRun || v.Reason != "exported elsewhere" {
		t.Errorf("without read-back: %s %q", v.Status, v.Reason)
	}
	if v := tailVerdict(t, Input{ReadBack: true}, tailExpect); v.Status != StatusNotRun {
		t.Errorf("empty ledger: %s", v.Status)
	}
}

func TestTailSamplingUnknownBackendTraces(t *testing.T) {
	r, _ := goodRun(t, 2, 2, 50, 0.2)
	stranger := record.Span{Trace: record.TraceID{1}, ID: record.SpanID{1}}
	r.backend = append(r.backend, stranger)
	v := tailVerdict(t, r.input(), tailExpect)
	if v.Stats["backend_traces_unknown"] != 1 {
		t.Errorf("stats %v", v.Stats)
	}
}

func TestTailSamplingWholeMilliseconds(t *testing.T) {
	// The latency policy compares whole milliseconds: 100.6ms is not over 100ms to it, so dropping
	// such a trace is no finding, and 101ms is.
	r := newTailRun()
	r.trace(100*time.Millisecond+600*time.Microsecond, false)
	slow := r.trace(101*time.Millisecond, false)
	r.keep(slow, -1)
	v := tailVerdict(t, r.input(), topology.TailSamplingExpect{KeepSlowerThan: 100 * time.Millisecond})
	if v.Status != StatusPass || v.Stats["slow_traces"] != 1 || v.Stats["borderline_traces"] != 1 {
		t.Fatalf("status %s (%s), stats %v", v.Status, v.Observed, v.Stats)
	}
}

// tailVerdict is TailSampling's verdict on in, after checking that judging
// in group by group gives the same.
func tailVerdict(t *testing.T, in Input, exp topology.TailSamplingExpect) Verdict {
	t.Helper()
	checkStreamed(t, in, []topology.Expect{{Kind: topology.ExpectTailSampling, TailSampling: exp}})
	return TailSampling(in, exp)
}
