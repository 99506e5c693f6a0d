package scenarios

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// Session is a scenario brought up and not yet judged: its services (and
// the services of the user's it starts) run, its backend receives. Run is
// Start, Drive and Finish in one call; a test that wants the services'
// addresses before the load, or drives the load itself, takes them
// apart. A Session is not safe for concurrent use.
type Session struct {
	sc      *topology.Scenario
	opts    Options
	ev      *report.Evidence
	faults  []topology.Fault
	expects []topology.Expect

	up    started
	nodes *nodes // the services of the user's the run started
	mem   *memory
	ver   *verifier
	tel   *telemetry // nil without Options.Metrics and Options.UI
	live  *liveRun   // nil without Options.UI

	driven   bool
	loadErr  error
	finished bool
	aborted  bool
	once     sync.Once
}

// Start brings sc up: the backend, the simulated services, the services of
// the user's it names with image: or command:, each ready. Its error is a
// config error (a ${VAR} that is not set, say) or a *RuntimeError; on
// error nothing it started is left running.
func Start(ctx context.Context, sc *topology.Scenario, opts Options) (*Session, error) {
	sc, err := sc.Expand(opts.getenv())
	if err != nil {
		return nil, err
	}
	if opts.RunID == 0 {
		id, err := simulator.NewRunID()
		if err != nil {
			return nil, &RuntimeError{err}
		}
		opts.RunID = id
	}
	if opts.plan, err = planNodes(sc, opts); err != nil {
		return nil, err
	}
	s := &Session{sc: sc, opts: opts, ev: newEvidence(ctx, sc, opts)}
	s.faults = scaleFaults(sc.Faults, opts.TimeScale)
	s.expects = scaleExpect(sc.Expect, opts.TimeScale)
	var saved *spanFile
	if opts.SaveSpans != "" {
		if saved, err = createSpanFile(opts.SaveSpans); err != nil {
			opts.plan.removeLogs()
			return nil, &RuntimeError{err}
		}
	}
	s.up, err = startRuntime(ctx, sc, s.ev.Seed, s.ev.Loads, s.faults, opts)
	if err != nil {
		saved.close()
		opts.plan.removeLogs()
		return nil, err
	}
	s.up.snk.saved = saved
	if s.up.owed == nil {
		s.up.owed = s.up.rt.WaitMessages
	}
	if s.tel, err = startTelemetry(ctx, s.up.rt, sc.Topology, opts); err != nil {
		s.abort(ctx)
		opts.plan.removeLogs()
		return nil, &RuntimeError{err}
	}
	s.opts.controlOn = s.tel.shared(opts.Control)
	if s.live, err = startLive(sc, s.up.rt, s.tel, opts); err != nil {
		s.abort(ctx)
		opts.plan.removeLogs()
		return nil, &RuntimeError{err}
	}
	s.opts.live = s.live
	s.ev.Backend = describeBackend(sc.Backend, s.up.snk)
	if s.nodes, err = startNodes(ctx, sc, opts.plan, s.up); err == nil {
		err = announceExternal(sc.Topology, s.up.rt, s.up.snk.Endpoint(), opts)
	}
	if err != nil {
		s.abort(ctx)
		opts.plan.removeLogs()
		return nil, err
	}
	if opts.started != nil {
		opts.started(s.up.rt)
	}
	return s, nil
}

// URL returns http://HOST:PORT where the first instance of service is
// reached on this machine: a simulated instance, a service of the user's
// the run started, or an external one.
func (s *Session) URL(service string) string {
	if a := s.up.rt.Endpoint(service, 0); a != "" {
		return "http://" + a
	}
	return ""
}

// OTLPEndpoint returns the host:port of the OTLP/gRPC endpoint the run's
// services export to, or "" when the run has none on this machine.
func (s *Session) OTLPEndpoint() string { return s.up.snk.Endpoint() }

// Scenario returns the scenario as the session runs it (its environment
// references expanded).
func (s *Session) Scenario() *topology.Scenario { return s.sc }

// ChangeLoads hands change the loads Drive will play (as the options
// overrode them), to adjust before Drive.
func (s *Session) ChangeLoads(change func([]topology.Load)) { change(s.ev.Loads) }

// Drive plays the scenario's load (with its fault timeline and control
// API) until it ends or ctx is done. A session is driven once.
func (s *Session) Drive(ctx context.Context) error {
	if s.driven || s.finished {
		return errors.New("drive: the session was already driven or finished")
	}
	s.driven = true
	rt := s.up.rt
	s.mem = startMemory(func() int64 { return int64(rt.Ledger().Totals().SpansEnded) })
	s.ev.StartedAt = time.Now()
	var pull func(context.Context) error
	if s.up.remote != nil {
		pull = s.up.remote.Pull
	}
	s.ver = verifyAsItGoes(s.sc, rt, pull, s.up.snk, s.ev.Loads, s.faults, s.expects, &s.opts, s.ev)
	if s.ver == nil && pull != nil {
		s.live.pullWith(pull)
	}
	s.tel.driving(s.ev.StartedAt, s.ev.Loads, s.ver)
	loadErr, err := playLoad(ctx, s.sc, rt, s.up.snk, s.faults, s.opts, s.ev)
	if err != nil {
		if s.ver != nil {
			s.ver.abandon()
		}
		s.mem.stop(time.Now())
		s.abort(ctx)
		return err
	}
	s.loadErr = loadErr
	return nil
}

// Finish stops the services (those of the user's the run started first,
// so that they flush their spans), judges what reached the backend against
// the ledger and returns the report, written to OutDir when set.
// Everything the session started is stopped when it returns.
func (s *Session) Finish(ctx context.Context) (*report.Report, error) {
	if s.finished {
		return nil, errors.New("finish: the session was already finished")
	}
	if !s.driven {
		s.abort(ctx)
		return nil, errors.New("finish: the session was never driven")
	}
	s.finished = true
	// Everything after the load runs on its own clock, so an interrupted
	// run still closes its servers, flushes its spans and writes a report.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	defer s.release()
	ev := s.ev
	awaitMessages(stopCtx, s.up.owed, ev)
	nodesErr := s.nodes.stop(stopCtx)
	shutErr := s.up.stop(stopCtx)
	verdicts := verdictsOf(stopCtx, s.up.rt, s.up.snk, s.ver, s.faults, s.expects, s.opts, ev)
	if saved := s.up.snk.saved; saved != nil {
		ev.BackendNotes = append(ev.BackendNotes, saved.note())
	}
	saveErr := s.up.snk.saved.close()
	if err := errors.Join(s.loadErr, s.live.pullError(), nodesErr, shutErr, saveErr); err != nil {
		ev.Errors = append(ev.Errors, err.Error())
	}
	rep := judge(ev, verdicts, s.expects)
	rep.SetMemory(s.mem.stop(ev.StartedAt))
	if s.opts.OutDir != "" {
		if err := rep.WriteFiles(s.opts.OutDir); err != nil {
			return rep, &RuntimeError{err}
		}
	}
	s.live.reveal(rep, s.opts.OutDir)
	if s.opts.UIWait != nil && s.live != nil {
		s.opts.UIWait(rep, s.live.view.Done())
	}
	return rep, nil
}

// Close stops everything a session that was not finished started; after
// Finish it does nothing.
func (s *Session) Close(ctx context.Context) {
	if !s.finished {
		if s.ver != nil {
			s.ver.abandon()
		}
		if s.mem != nil {
			s.mem.stop(time.Now())
		}
		s.abort(ctx)
	}
}

// abort stops what the session started without judging it, once.
func (s *Session) abort(ctx context.Context) {
	if s.aborted {
		return
	}
	s.aborted, s.finished = true, true
	ctx = context.WithoutCancel(ctx)
	s.nodes.stop(ctx)
	s.up.stop(ctx)
	s.release()
}

// release stops serving the metrics and closes the backend and a remote
// runtime, once.
func (s *Session) release() {
	s.once.Do(func() {
		s.live.close()
		s.tel.close()
		if s.up.remote != nil {
			s.up.remote.Close(context.Background())
		}
		s.up.snk.close(context.Background())
		s.up.snk.saved.close()
	})
}
