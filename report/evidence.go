package report

import (
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// Evidence is what one run leaves for its report: the scenario and how the
// run went, every result of the load, what the ledger recorded and what the
// backend returned. Every figure of the report is taken from it.
type Evidence struct {
	// Scenario is the scenario as loaded: its name, file, topology and
	// runtime. What the run changed of it is in Loads and Input.Planned.
	Scenario *topology.Scenario
	// TracerigVersion is the version of the tracerig that ran
	// (buildinfo.Version); CommandLine the command line it ran, masked by
	// the report.
	TracerigVersion string
	CommandLine     []string
	// Seed is the seed every decision of the run derived from.
	Seed uint64
	// Memory is tracerig's resident memory sampled over the run.
	Memory []MemSample
	// RunID is the run's ID (16 hex digits), which every simulated
	// service's resource carried as tracerig.run.id; "" when none.
	RunID string
	// TimeScale is the fraction of its timeline the run played, in (0, 1);
	// 0 (or 1) when it played all of it.
	TimeScale float64
	// StartedAt is when load began; Duration runs from it until the
	// backend settled (or gave up).
	StartedAt time.Time
	Duration  time.Duration
	// Interrupted says the run was stopped before its loads ended.
	Interrupted bool
	// Settled says the backend came to hold every exported span, SettleTime
	// how long after load it took (or waited in vain).
	Settled    bool
	SettleTime time.Duration
	// Backend says where spans went; BackendNotes what the backend itself
	// did to them.
	Backend      BackendReport
	BackendNotes []string
	// Loads are the scenario's loads as run (the run's overrides applied),
	// and LoadResults what each achieved in vegeta's metrics, in the same
	// order.
	Loads       []topology.Load
	LoadResults []simulator.LoadResult
	// Samples are the results of the load, the source of every latency
	// figure: every one of them, or, when SamplesOf is larger, a uniform
	// random sample of SamplesOf results. SamplesNote says why they are
	// incomplete, when they are.
	Samples     []LoadSample
	SamplesOf   int
	SamplesNote string
	// Ledger counts what the ledger recorded; TracesStarted and
	// TracesSampled the traces the load started and those the entry
	// services' samplers kept.
	Ledger        simulator.Totals
	TracesStarted int
	TracesSampled int
	// QueueCapacity is the size of each service instance's SDK batch queue.
	QueueCapacity int
	// Retries are the exports the exporters sent again, in order.
	Retries []simulator.ExportRetry
	// ExportFailures are the spans whose export failed, counted per
	// service and reason, with the first error of each.
	ExportFailures []record.ExportFailure
	// Input is what the checks saw: the topology, the ledger's hops and
	// ended spans, the spans read back and the fault windows.
	Input assert.Input
	// Series, when set, is the run's record over time, fed as its requests
	// settled: a run that releases its records as it verifies them leaves
	// Input without hops and spans, and the report's plots use Series.
	Series *Series
	// DecisionLog, when set, is the decision log the run wrote as it went
	// (see DecisionLog); WriteFiles closes it instead of writing one from
	// Input's hops.
	DecisionLog *DecisionLog
	// Errors are what went wrong in the run itself (not a failed check).
	Errors []string
}

// LoadSample is one load request as vegeta recorded it.
type LoadSample struct {
	Load    string        // the load entry: its route, or its mix of routes
	Route   string        // the entry route: "frontend GET /checkout"
	At      int64         // unix ns the request was sent
	Latency time.Duration // until the response, or the failure
	Code    uint16        // the response's status code; 0: no response
}
