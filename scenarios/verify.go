package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// traceTaker is a backend that hands over a trace's spans and forgets them:
// the embedded backend.
type traceTaker interface {
	TakeTraces(ids []record.TraceID) []record.Span
}

// verifyEvery is how often a streaming run takes what settled.
const verifyEvery = time.Second

// settleQuiet is how long a request's records must have been left alone
// before it counts as settled: longer than any gap between two records of
// one request that is still going (a retry's backoff, a batch export's
// schedule).
const settleQuiet = 2 * time.Second

// settleGiveUp is how long a request's records may be left alone before it
// is judged unsettled, a span without an export outcome counted as dropped
// in its SDK queue: far longer than an export with its retries takes
// (exportTimeout, exportRetry) and a span waits in a full SDK queue.
const settleGiveUp = 30 * time.Second

// verifier judges a run while it goes. Every second it takes the requests
// the ledger has settled (simulator.Ledger.Drain), with their traces' spans
// from the backend (spanSource), judges them (assert.Stream), counts them
// into the report's series, and lets them go: what a run keeps grows with
// its edges, windows and seconds (and, read back through a query API, the
// requests in flight), not its spans.
//
// It runs only where that is exact: services whose ledger it drains (in
// this process, or in containers whose records each tick pulls into the
// host's ledger first), exporting to the backend straight, through the
// pipe that pipeline faults act on, or through a collector in this
// process's reach. The embedded backend stores a span before it acknowledges it,
// so a settled request's spans are taken at once (takeAtOnce); Jaeger and
// Tempo are read back by trace ID until the request's spans are all there
// or its deadline passes (readBack), and so is the embedded store behind a
// collector, which may hold a trace for its decision_wait or sample it
// away (newHeldReadBack). With faults, planted or added live,
// each tick also reads the windows after taking the ledger's records and
// tells the stream how far the ledger has been drained
// (assert.Stream.Advance).
type verifier struct {
	ledger *simulator.Ledger
	src    spanSource
	// pull, set for a run in containers, takes the containers' new
	// records into the ledger before each drain; pullErr is its first
	// failure.
	pull    func(context.Context) error
	pullErr error
	// windows returns the fault windows as they stand (an open one ends
	// now); nil for a run without faults.
	windows func() []record.Fault
	base    assert.Input
	stream  *assert.Stream
	series  *report.Series
	// log is the decision log, written as requests settle; nil without
	// an output folder. logErr is its first failure.
	log    *report.DecisionLog
	logErr error
	quiet  time.Duration
	// saved receives the backend spans of each group judged; nil saves
	// none.
	saved *spanFile

	mu sync.Mutex // guards the stream, the series and the counts
	// started and sampled count the traces the load started and kept,
	// exportedTraces the traces with a span exported.
	started, sampled, exportedTraces int
	// rest counts the spans the backend still held at the end that no
	// judged request took: behind a collector, spans that reached the
	// store after their request's deadline.
	rest int

	stop chan struct{}
	done chan struct{}
}

// streamable reports whether a run can be verified as it goes (see
// verifier), and where its groups' spans come from.
func streamable(sc *topology.Scenario, snk *sink, loads []topology.Load, opts Options) (spanSource, bool) {
	if opts.KeepRecords || HasExternal(sc.Topology) || sc.Topology.HasAsync() {
		// External services export spans the ledger does not wait for; a
		// message may wait in its broker for longer than any quiet time.
		return nil, false
	}
	switch b := snk.backend.(type) {
	case behindCollector:
		// On the host in a containers run too, its store beside it.
		deadline := collectorDeadline(sc.Settle, snk.quiet(), b.DecisionWait())
		return newHeldReadBack(b.Backend, b.Name(), deadline, waitBound(loads, deadline)), true
	case *embedded.Backend:
		return takeAtOnce{b}, true
	case traceFetcher:
		return newReadBack(b, snk.Name(), sc.Settle, waitBound(loads, sc.Settle), snk.maxTraces()), true
	}
	return nil, false
}

// verifiedInContainers reports whether a run in containers is to be
// verified as it goes: its backend is the embedded one, which then runs on
// the host (the containers export to it through the relay), so that a
// span is stored before its export is acknowledged (takeAtOnce).
func verifiedInContainers(sc *topology.Scenario, opts Options) bool {
	return sc.Runtime == topology.RuntimeContainers && sc.Backend.Type == topology.BackendEmbedded &&
		opts.OTLPEndpoint == "" && !opts.KeepRecords && !HasExternal(sc.Topology) && !sc.Topology.HasAsync()
}

// pullTimeout bounds one tick's take of the containers' records.
const pullTimeout = 20 * time.Second

// verifyAsItGoes starts verifying the run as it goes when it can be (see
// streamable), and returns the verifier; nil for a run judged at its end.
// It sets opts.verified for the progress line. pull, set for a run in
// containers, takes their records into rt's ledger (containers.Runtime.Pull).
func verifyAsItGoes(sc *topology.Scenario, rt *simulator.Runtime, pull func(context.Context) error, snk *sink, loads []topology.Load,
	faults []topology.Fault, expects []topology.Expect, opts *Options, ev *report.Evidence) *verifier {
	src, ok := streamable(sc, snk, loads, *opts)
	if !ok {
		return nil
	}
	var windows func() []record.Fault
	if len(faults) > 0 || opts.faultsLive() {
		windows = rt.FaultWindows
	}
	ver := newVerifier(rt.Ledger(), src, staticInput(sc, snk, faults, ev), expects, windows, ev.StartedAt, opts.OutDir)
	if pull != nil {
		ver.pull = pull
		// A container's records reach the ledger up to a tick after
		// another's written before them.
		ver.quiet += verifyEvery
	}
	ver.saved = snk.saved
	go ver.loop()
	opts.verified = ver.summary
	if rb, ok := src.(*readBack); ok && rb.held == nil {
		rb.arrivals = snk.takeArrivals
	}
	if opts.verifying != nil {
		opts.verifying(ver)
	}
	return ver
}

// verdictsOf waits for the backend and judges what the run has not judged
// yet: the rest of a run verified as it goes (ver), or the whole of one
// judged at its end (ver nil), recording in ev what the report needs.
func verdictsOf(ctx context.Context, rt *simulator.Runtime, snk *sink, ver *verifier, faults []topology.Fault,
	expects []topology.Expect, opts Options, ev *report.Evidence) []assert.Verdict {
	if ver == nil || !ver.readsBack() {
		// A run read back as it goes settles as its last requests are.
		settle(ctx, rt, snk, opts, ev)
	}
	if ver != nil {
		return gatherStream(ctx, rt, snk, ver, ev)
	}
	gather(rt, snk, faults, ev)
	return assert.Run(ev.Input, expects)
}

// startVerifier starts verifying the run from start (the start of load),
// writing the decision log into outDir ("" for none). windows reads the
// fault windows of a run that has faults, planned (base.Planned) or
// possibly added live; nil for one that has none.
func startVerifier(l *simulator.Ledger, src spanSource, base assert.Input, expects []topology.Expect,
	windows func() []record.Fault, start time.Time, outDir string) *verifier {
	v := newVerifier(l, src, base, expects, windows, start, outDir)
	go v.loop()
	return v
}

// newVerifier returns a verifier as startVerifier starts it, not started.
func newVerifier(l *simulator.Ledger, src spanSource, base assert.Input, expects []topology.Expect,
	windows func() []record.Fault, start time.Time, outDir string) *verifier {
	stream := assert.NewStream(base, expects)
	if windows != nil {
		stream = assert.NewFaultStream(base, expects)
	}
	v := &verifier{
		ledger:  l,
		src:     src,
		windows: windows,
		base:    base,
		stream:  stream,
		series:  report.NewSeries(start.UnixNano(), base.ReadBack),
		quiet:   settleQuiet,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if outDir != "" {
		v.log = report.NewDecisionLog(filepath.Join(outDir, "decisions.tsv"))
	}
	return v
}

func (v *verifier) loop() {
	defer close(v.done)
	tick := time.NewTicker(verifyEvery)
	defer tick.Stop()
	for {
		select {
		case <-v.stop:
			return
		case now := <-tick.C:
			v.pullRecords()
			settled := v.ledger.Drain(now.UnixNano(), v.quiet)
			settled = append(settled, v.ledger.DrainStale(now.UnixNano(), settleGiveUp)...)
			v.take(v.src.collect(now, settled, v.quiet))
			v.advance()
			v.sampleWaiting(now)
		}
	}
}

// pullRecords takes the containers' new records into the ledger, after
// the tick's now: every record written before now is in the ledger when
// it is drained.
func (v *verifier) pullRecords() {
	if v.pull == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), pullTimeout)
	defer cancel()
	if err := v.pull(ctx); err != nil && v.pullErr == nil {
		v.pullErr = fmt.Errorf("take the containers' ledgers during the run: %w", err)
	}
}

// readsBack reports whether the run is read back through a query API as it
// goes (readBack), which settles as it judges the last requests. The store
// behind a collector settles as in a run judged at its end: its count
// stands still (awaitBackend).
func (v *verifier) readsBack() bool {
	rb, ok := v.src.(*readBack)
	return ok && rb.held == nil
}

// advance judges the groups of a run with faults that the windows, read
// now, after the drain, have settled.
func (v *verifier) advance() {
	if v.windows == nil {
		return
	}
	windows, drained := v.windows(), v.ledger.DrainedBefore()
	v.mu.Lock()
	v.stream.Advance(windows, drained)
	v.mu.Unlock()
}

// sampleWaiting records how many spans wait for export now.
func (v *verifier) sampleWaiting(now time.Time) {
	t := v.ledger.Totals()
	v.mu.Lock()
	v.series.SampleWaiting(now.UnixNano(), max(0, t.SpansEnded-t.SpansExported-t.ExportFailed))
	v.mu.Unlock()
}

// take judges groups with their backend spans.
func (v *verifier) take(groups []assert.Group) {
	for _, g := range groups {
		v.add(g)
	}
}

// add judges one group and counts it.
func (v *verifier) add(g assert.Group) {
	started, sampled := simulator.Snapshot{Hops: g.Hops}.Traces()
	exported := exportedTraces(g.Ended)
	v.saved.save(g.Backend)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stream.Add(g)
	v.series.Add(g.Hops, g.Ended, g.Backend)
	if v.log != nil && v.logErr == nil {
		v.logErr = v.log.Add(g.Hops)
	}
	v.started += started
	v.sampled += sampled
	v.exportedTraces += exported
}

// groupTraces returns the traces a settled group's records name.
func groupTraces(s simulator.Settled) []record.TraceID {
	seen := make(map[record.TraceID]struct{})
	var out []record.TraceID
	add := func(t record.TraceID) {
		if _, ok := seen[t]; !ok && t.IsValid() {
			seen[t] = struct{}{}
			out = append(out, t)
		}
	}
	for i := range s.Hops {
		h := &s.Hops[i]
		add(h.Sent.Trace)
		add(h.Got.Trace)
		add(h.Server.Trace)
	}
	for i := range s.Ended {
		add(s.Ended[i].Trace)
	}
	return out
}

// checked returns how much the verifier has judged so far.
func (v *verifier) checked() assert.Checked {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stream.Checked()
}

// summary says what the verifier has judged so far, with the running
// verdicts: "verified 120400 spans: propagation pass, completeness fail".
func (v *verifier) summary() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	n := v.stream.Judged().Spans
	s := fmt.Sprintf("verified %d spans", n)
	if n == 0 {
		return s
	}
	var parts []string
	for _, vd := range v.stream.Verdicts() {
		parts = append(parts, vd.Check+" "+string(vd.Status))
	}
	if len(parts) > 0 {
		s += ": " + strings.Join(parts, ", ")
	}
	return s
}

// finish stops the loop and judges the rest of the run: every request still
// in the ledger, settled or not, with its spans, then the spans the backend
// holds that no request of the ledger names (a trace started by an
// external service, or spans the ledger never saw end). The services must
// have been flushed and the backend settled: a request still waiting for
// its spans (behind a collector) is judged with those the backend has.
func (v *verifier) finish(rest func() []record.Span) {
	v.stopLoop()
	v.take(v.src.collect(time.Now(), v.ledger.DrainAll(), 0))
	if rb, ok := v.src.(*readBack); ok {
		v.take(rb.flush())
	}
	spans := rest()
	v.rest = len(spans)
	if len(spans) > 0 {
		for _, g := range assert.Partition(assert.Input{Backend: spans, ReadBack: true}) {
			v.add(g)
		}
	}
}

// finishReads stops the loop and judges the rest of a run read back through
// a query API (rb): every request still in the ledger, settled or not,
// once its spans have all been returned or its deadline has passed, within
// limit, after which what still waits is judged with what it has. It
// reports whether every request of that rest came back whole (the backend
// settled), and how long that took.
func (v *verifier) finishReads(ctx context.Context, rb *readBack, limit time.Duration) (bool, time.Duration) {
	v.stopLoop()
	start := time.Now()
	late, over := rb.late.groups, rb.over.groups
	v.take(rb.collect(start, v.ledger.DrainAll(), 0))
	end := time.NewTimer(limit)
	defer end.Stop()
	tick := time.NewTicker(verifyEvery)
	defer tick.Stop()
	for rb.waiting() > 0 {
		select {
		case now := <-tick.C:
			v.take(rb.collect(now, nil, 0))
		case <-end.C:
			v.take(rb.flush())
		case <-ctx.Done():
			v.take(rb.flush())
		}
	}
	return rb.late.groups == late && rb.over.groups == over, time.Since(start)
}

// stopLoop stops the loop.
func (v *verifier) stopLoop() {
	close(v.stop)
	<-v.done
}

// abandon stops the loop of a run that ends without a report.
func (v *verifier) abandon() {
	v.stopLoop()
	if v.log != nil {
		v.log.Abort()
	}
}

// staticInput is what the checks know of a run before any record: the
// topology, the faults planned, when load began and whether the backend is
// read back.
func staticInput(sc *topology.Scenario, snk *sink, planned []topology.Fault, ev *report.Evidence) assert.Input {
	return assert.Input{
		Planned:    planned,
		RunStart:   ev.StartedAt.UnixNano(),
		Topology:   sc.Topology,
		ReadBack:   snk.noReadBack() == "",
		NoReadBack: snk.noReadBack(),
	}
}

// gatherStream finishes verifying a run whose services have flushed and
// whose backend has settled (or, read back through a query API, settles as
// the rest is judged, within the run's settle), records in ev what the
// report needs (the ledger's totals, the series; no records) and returns
// the verdicts.
func gatherStream(ctx context.Context, rt *simulator.Runtime, snk *sink, v *verifier, ev *report.Evidence) []assert.Verdict {
	rb, _ := v.src.(*readBack)
	reads := v.readsBack()
	if reads {
		// The probe times the last requests' spans too, then stops.
		ev.Settled, ev.SettleTime = v.finishReads(ctx, rb, settleLimit(ev))
		ev.Duration = time.Since(ev.StartedAt)
	} else {
		v.finish(snk.spans)
	}
	snk.stopProbe()
	l := rt.Ledger()
	ev.Ledger = l.Totals()
	ev.QueueCapacity = rt.QueueSize()
	ev.Retries = l.ExportRetries()
	ev.ExportFailures = l.ExportFailures()
	in := v.base
	in.Faults = ev.Input.Faults
	ev.Input = in
	v.mu.Lock()
	v.stream.Finish(in.Faults)
	v.mu.Unlock()
	ev.Series = v.series
	ev.TracesStarted, ev.TracesSampled = v.started, v.sampled
	if reads {
		notes, errs := rb.report(v.exportedTraces)
		ev.BackendNotes = append(notes, snk.arrivalsNote(rb.timed))
		ev.Errors = append(ev.Errors, errs...)
	} else {
		ev.BackendNotes = snk.notes(v.exportedTraces)
		ev.Errors = append(ev.Errors, v.heldErrors()...)
	}
	ev.DecisionLog = v.log
	if n := l.DrainLate(); n > 0 {
		ev.Errors = append(ev.Errors, fmt.Sprintf(
			"%d ledger records came after their request was verified (an export or a receive later than %s): the verdicts may count their spans as lost", n, settleGiveUp))
	}
	if v.logErr != nil {
		ev.Errors = append(ev.Errors, v.logErr.Error())
	}
	if v.pullErr != nil {
		ev.Errors = append(ev.Errors, v.pullErr.Error())
	}
	// A scrape of the run's metrics may read the verdicts meanwhile.
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stream.Verdicts()
}
