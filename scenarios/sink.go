package scenarios

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tracerig/tracerig/fixtures/arrival"
	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/internal/otlpexport"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// sink is where a run's services export: the backend, with the connection
// every exporter shares and the pipe in front of the backend for pipeline
// faults, and what the run learnt from reading it.
type sink struct {
	backend
	conn *otlpexport.Client
	pipe *simulator.Pipe // between exporters and backend, for pipeline faults
	// opened is when the backend was opened: read-back covers spans sent
	// from a minute before it (clocks may be skewed).
	opened time.Time
	// runID, when set, is the run's ID in a backend other runs share: the
	// spans read back are those whose resource carries it.
	runID string
	// export is how the services export: to the backend's endpoint, with
	// the TLS, headers and compression of a shared one.
	export   otlpconf.Config
	read     lastRead
	arrivals arrivals
	// saved receives the spans read back for judging; nil saves none.
	saved *spanFile
}

// lastRead is the last read-back. A backend that cannot count its spans
// cheaply (Jaeger, Tempo) is counted by reading them all back, at most once
// a second; a read that fails keeps the spans of the last that succeeded.
type lastRead struct {
	mu    sync.Mutex
	at    time.Time
	n     int64 // spans counted or read
	spans []record.Span
	err   error // of the last read; nil when it succeeded
}

// arrivals is what the arrival probe measured on a backend that records no
// arrival times (Jaeger, Tempo): when each span it saw was first returned.
type arrivals struct {
	probe *arrival.Probe // while it runs
	seen  map[record.TraceID]map[record.SpanID]int64
	polls int
}

// openSink opens the backend the run exports to (see openBackend), with the
// export settings of its services (see exportConfig; getenv reads the
// OTEL_EXPORTER_OTLP_* variables and the scenario's ${VAR} references). On
// a shared backend (sharedBackend) it reads back run runID's spans alone.
func openSink(ctx context.Context, b topology.Backend, scenarioFile, override string, runID simulator.RunID, getenv func(string) string) (*sink, error) {
	opened := time.Now()
	var only, addr string
	var export otlpconf.Config
	if sharedBackend(b, override) {
		only = runID.String()
		var err error
		if export, err = exportConfig(b, "", override, getenv); err != nil {
			return nil, err
		}
		if addr, err = export.HostPort(); err != nil {
			return nil, err
		}
	}
	be, err := openBackend(ctx, b, scenarioFile, override, only, addr, getenv)
	if err != nil {
		return nil, err
	}
	if export.Endpoint == "" {
		export, _ = exportConfig(b, be.Endpoint(), "", getenv)
	}
	return &sink{backend: be, opened: opened, runID: only, export: export}, nil
}

// noReadBack says why spans cannot be read back; "" when they can.
func (s *sink) noReadBack() string {
	if e, ok := s.backend.(exportOnly); ok {
		return e.reason
	}
	return ""
}

// maxTraces is the size of the backend's store when it keeps only its
// newest traces, else 0.
func (s *sink) maxTraces() int {
	if e, ok := s.backend.(evicter); ok {
		return e.MaxTraces()
	}
	return 0
}

// evicts reports whether the backend's store is smaller than the traces a
// run started, so that some were evicted (or are about to be).
func (s *sink) evicts(traces int) bool {
	n := s.maxTraces()
	return n > 0 && traces > n
}

// samples reports whether a stage in front of the backend may drop spans.
func (s *sink) samples() bool {
	_, ok := s.backend.(sampler)
	return ok
}

// notes are what the report should say about a backend that evicts (Jaeger):
// that its store evicted traces (the cause of loss, not the pipeline), and a
// read-back that failed. traces is how many distinct traces the services
// exported.
func (s *sink) notes(traces int) []string {
	n := s.maxTraces()
	if n == 0 {
		return nil
	}
	var out []string
	if traces > n {
		out = append(out, fmt.Sprintf("%s keeps only its newest %d traces; %d traces were started: %d traces evicted (raise backend.max-traces to keep them)",
			s.Name(), n, traces, traces-n))
	}
	s.read.mu.Lock()
	if s.read.err != nil {
		out = append(out, fmt.Sprintf("%s read-back failed: %v", s.Name(), s.read.err))
	}
	s.read.mu.Unlock()
	return out
}

// quiet is how long the backend's span count must stand still before the
// run counts it settled. A collector holds each trace for its tail-sampling
// decision_wait and decides on a one-second tick, so behind one the count
// must stand still for twice the decision_wait (at least 1s) plus that tick.
func (s *sink) quiet() time.Duration {
	switch b := s.backend.(type) {
	case sampler:
		return 2*max(b.DecisionWait(), time.Second) + time.Second
	case counter, exportOnly:
		return 100 * time.Millisecond
	}
	// Read back once a second: two unchanged reads in a row.
	return 2 * time.Second
}

// count is how many spans the backend holds, or -1 when unknown.
func (s *sink) count() int64 {
	switch b := s.backend.(type) {
	case exportOnly:
		return -1
	case counter:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := b.Count(ctx)
		s.read.mu.Lock()
		defer s.read.mu.Unlock()
		if err == nil {
			s.read.n = n
		}
		return s.read.n
	}
	// No cheap count: spans read back, at most once a second.
	s.read.mu.Lock()
	defer s.read.mu.Unlock()
	if time.Since(s.read.at) >= time.Second {
		s.readAll()
	}
	return s.read.n
}

// spans reads every span back. When the read fails it returns those of the
// last read that succeeded (none when there was none), and the notes tell.
func (s *sink) spans() []record.Span {
	s.read.mu.Lock()
	defer s.read.mu.Unlock()
	s.readAll()
	return s.read.spans
}

// readAll reads back the spans sent from a minute before the backend was
// opened to a minute from now. The caller holds s.read.mu.
func (s *sink) readAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	spans, _, err := s.Spans(ctx, s.opened.Add(-time.Minute), time.Now().Add(time.Minute))
	s.read.at, s.read.err = time.Now(), err
	if err == nil {
		spans = ofRun(spans, s.runID)
		s.read.spans, s.read.n = spans, int64(len(spans))
	}
}

// connect opens the connection every exporter of the run shares, to the
// backend or through the pipe in front of it, and proves with one export
// without spans that the backend takes the connection and the credentials:
// a refusal is a RuntimeError naming the endpoint, the protocol, the answer
// and the setting to change. The connection comes back within a second of
// the backend coming back, so an outage costs what it lasts and no more.
func (s *sink) connect(ctx context.Context) error {
	var opts []otlpexport.ClientOption
	if s.pipe != nil {
		opts = append(opts, otlpexport.WithDialAddr(s.pipe.Addr()))
	}
	conn, err := otlpexport.Open(s.export, opts...)
	if err != nil {
		return err // a setting no export can use: the configuration's fault
	}
	s.conn = conn
	return s.preflightOn(ctx, conn)
}

// preflight proves, on a connection of its own, that the backend takes the
// connection and the credentials of the export settings (see connect):
// for services that export from elsewhere (containers).
func (s *sink) preflight(ctx context.Context) error {
	conn, err := otlpexport.Open(s.export)
	if err != nil {
		return err
	}
	defer conn.Close()
	return s.preflightOn(ctx, conn)
}

// preflightOn sends one export without spans on conn; a refusal is a
// RuntimeError naming the endpoint, the protocol, the answer and the
// setting to change.
func (s *sink) preflightOn(ctx context.Context, conn *otlpexport.Client) error {
	err := conn.Preflight(ctx)
	if err == nil {
		return nil
	}
	msg := fmt.Errorf("preflight export to %s refused: %w", s.export, err)
	if hint := otlpexport.Hint(err); hint != "" {
		msg = fmt.Errorf("%w; %s", msg, hint)
	}
	return &RuntimeError{msg}
}

// probeInterval is how often the arrival probe polls: the resolution of
// the times until queryable it measures.
const probeInterval = 200 * time.Millisecond

// startProbe starts measuring when spans become queryable, on a backend
// that records no arrival times but can be polled for them, by following
// traces of the loads' entry services while the run goes on.
func (s *sink) startProbe(loads []topology.Load) {
	src, ok := s.backend.(arrival.Source)
	if !ok {
		return
	}
	var services []string
	for _, l := range loads {
		for _, t := range l.Targets {
			if !slices.Contains(services, t.Service) {
				services = append(services, t.Service)
			}
		}
	}
	s.arrivals.probe = arrival.Start(src, arrival.Options{Services: services, Interval: probeInterval})
}

// stopProbe ends the probe; applyArrivals then gives its times to the spans
// read back.
func (s *sink) stopProbe() {
	if s.arrivals.probe != nil {
		s.arrivals.seen, s.arrivals.polls = s.arrivals.probe.Stop()
		s.arrivals.probe = nil
	}
}

// applyArrivals sets the arrival times the probe measured on the spans read
// back and returns a note saying how they were measured ("" without a
// probe).
func (s *sink) applyArrivals(spans []record.Span) string {
	if s.arrivals.seen == nil {
		return ""
	}
	return s.arrivalsNote(arrival.Apply(spans, s.arrivals.seen))
}

// arrivalsNote says how time until queryable was measured: on n traces the
// probe followed whole. The probe must have stopped.
func (s *sink) arrivalsNote(n int) string {
	return fmt.Sprintf("time until queryable measured on %d traces followed whole (of %d followed) by polling %s every %s (%d polls): the times are when a span was first returned, to within %s",
		n, len(s.arrivals.seen), s.Name(), probeInterval, s.arrivals.polls, probeInterval)
}

// takeArrivals returns, and the probe forgets, when the spans of the traces
// ids were first returned, for those the probe followed; nil without a
// probe.
func (s *sink) takeArrivals(ids []record.TraceID) map[record.TraceID]map[record.SpanID]int64 {
	if s.arrivals.probe == nil {
		return nil
	}
	return s.arrivals.probe.Take(ids)
}

// close stops the probe, closes the exporters' connection and the pipe,
// then shuts the backend down.
func (s *sink) close(ctx context.Context) error {
	s.stopProbe()
	var err error
	if s.conn != nil {
		err = s.conn.Close()
	}
	if s.pipe != nil {
		s.pipe.Close()
	}
	if e := s.Shutdown(ctx); e != nil && err == nil {
		err = e
	}
	return err
}
