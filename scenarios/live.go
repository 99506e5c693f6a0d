package scenarios

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/report/live"
	"github.com/tracerig/tracerig/report/metrics"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// Live page settings: a frame every second; rates, errors and p99 over the
// last five whole seconds.
const (
	liveEvery  = time.Second
	liveWindow = 5 * time.Second
)

// untilStopped is the length of a load that runs until it is stopped
// (Options.UntilStopped): longer than any talk.
const untilStopped = 10_000 * time.Hour

// liveRun is a run's live page (Options.UI): the view, the edge meter it
// reads, and the sampler that publishes a frame every second from the
// start of the load until the verdicts are in.
type liveRun struct {
	view  *live.View
	meter *simulator.EdgeMeter
	edges []topology.Edge // the topology's edges, one per from, to and topic
	tel   *telemetry
	// pull, when set, takes the records of instances that run elsewhere
	// into rt's ledger about once a second while the load runs: a run in
	// containers or pods that no verifier pulls as it goes. pullErr is its
	// first failure; pullStop ends the puller, which closes pullDone.
	pull     func(context.Context) error
	pullErr  error
	pullStop chan struct{}
	pullDone chan struct{}

	stop     chan struct{} // closed when a viewer (or Options.Stop) stops the load
	stopOnce sync.Once

	mu    sync.Mutex
	start time.Time // when load began
	phase string
	last  metrics.Run // the figures at the last frame
	lastT time.Time

	done    chan struct{} // closed to end the sampler
	endOnce sync.Once
	wg      sync.WaitGroup
}

// startLive serves the live page of sc on opts.UI, its edges metered on
// rt; nil when opts.UI is empty. tel gives the run's figures.
func startLive(sc *topology.Scenario, rt *simulator.Runtime, tel *telemetry, opts Options) (*liveRun, error) {
	if opts.UI == "" {
		return nil, nil
	}
	l := &liveRun{meter: rt.MeterEdges(), tel: tel, stop: make(chan struct{}), done: make(chan struct{}), phase: "load"}
	seen := map[[3]string]bool{}
	for _, e := range sc.Topology.Edges() {
		k := [3]string{e.From, e.To, e.Topic}
		if !seen[k] {
			seen[k] = true
			l.edges = append(l.edges, e)
		}
	}
	l.view = live.New(live.Config{
		Title:   sc.Name,
		SVG:     report.LiveTopologySVG(sc.Topology),
		Targets: live.TargetsOf(sc.Topology),
		Stop:    l.stopLoad,
		Demo:    opts.UntilStopped,
	})
	addr, err := l.view.Listen(opts.UI)
	if err != nil {
		return nil, fmt.Errorf("%w; pick another --ui address", err)
	}
	if opts.UIReady != nil {
		opts.UIReady(addr)
	}
	return l, nil
}

// pullWith makes the live page take the records of instances elsewhere
// with pull while the load runs (see pulling).
func (l *liveRun) pullWith(pull func(context.Context) error) {
	if l != nil {
		l.pull = pull
	}
}

// stopLoad ends the load as its end would, once.
func (l *liveRun) stopLoad() { l.stopOnce.Do(func() { close(l.stop) }) }

// stopped is closed when the load is to stop; nil without a live page.
func (l *liveRun) stopped() <-chan struct{} {
	if l == nil {
		return nil
	}
	return l.stop
}

// loading starts the frames, load having begun at start, and serves the
// fault API of rt on the page until the returned function is called at
// the load's end.
func (l *liveRun) loading(start time.Time, rt *simulator.Runtime, topo *topology.Topology) (loadOver func()) {
	if l == nil {
		return func() {}
	}
	l.mu.Lock()
	l.start, l.lastT = start, start
	l.mu.Unlock()
	faults := control.NewServer(rt, topo)
	l.view.SetFaults(faults)
	if l.pull != nil {
		l.pullStop, l.pullDone = make(chan struct{}), make(chan struct{})
		go l.pulling()
	}
	l.wg.Add(1)
	go l.sample()
	return func() {
		l.view.SetFaults(nil)
		faults.Close(context.Background())
		if l.pull != nil {
			// No take under way once the load is over: the run's end
			// takes the rest.
			close(l.pullStop)
			<-l.pullDone
		}
		// The load as it ended, however short it was.
		l.view.Publish(l.frame(time.Now()))
		l.setPhase("settling")
	}
}

func (l *liveRun) setPhase(p string) {
	l.mu.Lock()
	l.phase = p
	l.mu.Unlock()
}

// sample publishes a frame every liveEvery until done.
func (l *liveRun) sample() {
	defer l.wg.Done()
	tick := time.NewTicker(liveEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			l.view.Publish(l.frame(time.Now()))
		case <-l.done:
			return
		}
	}
}

// pulling takes the records of instances elsewhere about once a second
// until pullStop, so that the frames show their edges while the load runs.
// A take is given the verifier's patience (pullTimeout), not a frame's: a
// slow answer is waited for rather than cut off and asked for again. The
// frames go on meanwhile.
func (l *liveRun) pulling() {
	defer close(l.pullDone)
	for {
		began := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), pullTimeout)
		err := l.pull(ctx)
		cancel()
		if err != nil {
			l.mu.Lock()
			if l.pullErr == nil {
				l.pullErr = fmt.Errorf("take the instances' records for the live page: %w", err)
			}
			l.mu.Unlock()
		}
		select {
		case <-l.pullStop:
			return
		case <-time.After(max(0, liveEvery-time.Since(began))):
		}
	}
}

// pullError returns the first failure to take the instances' records
// while the load ran; nil without a live page.
func (l *liveRun) pullError() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pullErr
}

// frame is the run as it stands at now.
func (l *liveRun) frame(now time.Time) live.Frame {
	f := l.tel.figures()
	l.mu.Lock()
	start, phase, last, dt := l.start, l.phase, l.last, now.Sub(l.lastT).Seconds()
	l.last, l.lastT = f, now
	l.mu.Unlock()
	t := now.Sub(start).Seconds()
	per := func(now, before float64) float64 {
		if dt <= 0 {
			return 0
		}
		return max(0, now-before) / dt
	}
	lost := func(r metrics.Run) float64 { return float64(r.ExportFailed + r.SpansDropped + r.SpansMissing) }
	p := live.Point{
		T:       t,
		Asked:   -1,
		Sent:    per(float64(f.Requests), float64(last.Requests)),
		Ended:   per(float64(f.SpansEnded), float64(last.SpansEnded)),
		Arrived: per(float64(f.SpansExported), float64(last.SpansExported)),
		Queue:   float64(f.QueueSpans),
		Lost:    per(lost(f), lost(last)),
	}
	if f.RequestsAsked >= 0 && phase == "load" {
		p.Asked = per(f.RequestsAsked, last.RequestsAsked)
	}
	return live.Frame{T: t, Phase: phase, Edges: l.edgeStates(), Point: p, Faults: liveWindows(f.Faults, start)}
}

// edgeStates are the topology's edges as the meter finds them.
func (l *liveRun) edgeStates() []live.EdgeState {
	type key struct {
		from, to string
		async    bool
	}
	stats := map[key]simulator.EdgeStat{}
	for _, s := range l.meter.Read(liveWindow) {
		stats[key{s.From, s.To, s.Async}] = s
	}
	out := make([]live.EdgeState, 0, len(l.edges))
	for _, e := range l.edges {
		st := live.EdgeState{From: e.From, To: e.To, Topic: e.Topic, State: string(simulator.EdgeUnseen)}
		if s, ok := stats[key{e.From, e.To, e.IsAsync()}]; ok {
			st.Rate, st.Errors, st.Hops, st.State = s.Rate, s.Errors, s.Hops, string(s.State)
			st.P99 = float64(s.P99) / float64(time.Millisecond)
		}
		out = append(out, st)
	}
	return out
}

// liveWindows are the fault windows so far, in seconds since start.
func liveWindows(windows []record.Fault, start time.Time) []live.FaultWindow {
	out := make([]live.FaultWindow, 0, len(windows))
	for _, w := range windows {
		out = append(out, live.FaultWindow{
			ID: w.ID, Number: w.Number, Kind: w.Kind, Desc: w.Desc, Open: w.Open, Live: w.Live,
			Start: time.Unix(0, w.Start).Sub(start).Seconds(),
			End:   time.Unix(0, w.End).Sub(start).Seconds(),
		})
	}
	return out
}

// reveal publishes the last frame, stops the frames and shows the run's
// verdicts, with report.html when outDir holds it.
func (l *liveRun) reveal(rep *report.Report, outDir string) {
	if l == nil {
		return
	}
	l.setPhase("done")
	l.view.Publish(l.frame(time.Now()))
	l.end()
	rv := live.Reveal{Passed: !rep.Failed(), Summary: verdictSummary(rep.Verdicts), Verdicts: rep.Verdicts}
	if outDir != "" {
		l.view.ServeReports(outDir)
		rv.Report = "/report/report.html"
	}
	l.view.Reveal(rv)
}

// verdictSummary counts the verdicts by status: "5 checks: 4 passed, 1
// failed".
func verdictSummary(verdicts []assert.Verdict) string {
	n := map[assert.Status]int{}
	for _, v := range verdicts {
		n[v.Status]++
	}
	s := fmt.Sprintf("%d checks: %d passed, %d failed", len(verdicts), n[assert.StatusPass], n[assert.StatusFail])
	if k := len(verdicts) - n[assert.StatusPass] - n[assert.StatusFail]; k > 0 {
		s += fmt.Sprintf(", %d not run", k)
	}
	return s
}

// end stops the sampler, once.
func (l *liveRun) end() {
	l.endOnce.Do(func() { close(l.done) })
	l.wg.Wait()
}

// close ends the frames and every viewer's stream and stops serving.
func (l *liveRun) close() {
	if l == nil {
		return
	}
	l.end()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l.view.Close(ctx)
}

// watchStop ends the load (endLoad) when either stop channel closes before
// loadCtx is done; the returned function says whether one did.
func watchStop(loadCtx context.Context, endLoad func(), stop, page <-chan struct{}) (stopped func() bool) {
	if stop == nil && page == nil {
		return func() bool { return false }
	}
	var did atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-stop:
		case <-page:
		case <-loadCtx.Done():
			return
		}
		did.Store(true)
		endLoad()
	}()
	return func() bool {
		<-done
		return did.Load()
	}
}

// ranFor shortens the loads stopped after d to the time they ran, so the
// report's rates and the load check count the time the load was asked for.
func ranFor(loads []topology.Load, d time.Duration) {
	for i := range loads {
		if loads[i].Duration == 0 || loads[i].Duration > d {
			loads[i].Duration, loads[i].Requests = d, 0
		}
	}
}
