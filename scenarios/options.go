package scenarios

import (
	"io"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/report/metrics"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// Options override a scenario for one run. Zero values keep the scenario's.
type Options struct {
	// OutDir receives report.json, results.bin (vegeta's encoding),
	// decisions.tsv (the decision log), junit.xml and report.html; ""
	// writes nothing.
	OutDir string
	// Seed, when set, replaces the scenario's seed.
	Seed *uint64
	// Duration, when set, replaces every load's duration.
	Duration *time.Duration
	// Rate, when set, replaces every load's rate (a zero Rate: flat out).
	Rate *topology.Rate
	// TimeScale, when in (0, 1), shortens the run's timeline: every load's
	// duration, every fault's start, length and period, the times of the
	// expectations (spans.during; see scaleExpect) and the exporters' retry
	// patience are multiplied by it, so a story scenario plays the same way
	// in less time.
	TimeScale float64
	// OTLPEndpoint exports to this OTLP endpoint (host:port, or an http://
	// or https:// URL) instead of the scenario's backend, with the other
	// settings of the OTEL_EXPORTER_OTLP_* variables; checks that need
	// read-back then do not run.
	OTLPEndpoint string
	// Kubernetes configures runs with runtime kubernetes.
	Kubernetes KubernetesOptions
	// Getenv reads the environment: the OTEL_EXPORTER_OTLP_* variables of
	// an otlp backend or OTLPEndpoint, and the ${VAR} references of the
	// scenario's backend settings. nil: os.Getenv.
	Getenv func(string) string
	// Progress, when set, receives a live progress line.
	Progress io.Writer
	// ProgressPlain prints a plain progress line every few seconds instead
	// of redrawing one line with \r: for logs.
	ProgressPlain bool
	// CommandLine is the command line that started the run, which the
	// report records with every secret value masked; nil for none.
	CommandLine []string
	// Control, when set, serves the live fault API on this address for
	// the length of the load.
	Control string
	// ControlReady, when set, is called with the control API's address once
	// it listens.
	ControlReady func(addr string)
	// Metrics, when set, serves the run's metrics (package report/metrics)
	// on this address, at /metrics, from the start of the run until its
	// report is made. Given the same address as Control, one listener
	// serves both.
	Metrics string
	// MetricsReady, when set, is called with the metrics' address once it
	// listens.
	MetricsReady func(addr string)
	// MetricsOTLP, when set, pushes the same metrics over OTLP/gRPC to this
	// endpoint (host:port, or an http:// or https:// URL) every
	// metrics.PushEvery and once more when the report is made.
	MetricsOTLP string
	// UI, when set, serves the run's live page (package report/live) on
	// this address from the start of the run until its report is made
	// (and while UIWait runs): the topology with each edge's live state,
	// the run's figures second by second, a fault panel over the control
	// API, and the verdicts at the end.
	UI string
	// UIReady, when set, is called with the live page's address once it
	// listens.
	UIReady func(addr string)
	// UIWait, when set, is called once the report is made (and written)
	// and its verdicts are on the live page, which is served until it
	// returns; closed is closed when a viewer presses Close on the page.
	UIWait func(rep *report.Report, closed <-chan struct{})
	// UntilStopped runs every load until the run is stopped (Stop, the
	// live page's Stop load, or ctx), whatever its duration or request
	// count says.
	UntilStopped bool
	// Stop, when closed, ends the load as its end would: the run is
	// judged on what it did and is not marked interrupted, and the loads'
	// durations become the time they ran.
	Stop <-chan struct{}
	// AddrFile, when set, receives (before any load) one NAME=VALUE line
	// per simulated service instance, TRACERIG_ADDR_<SERVICE>=http://HOST:PORT,
	// and the OTEL_* variables that export to the run's backend: the
	// environment of the topology's external services.
	AddrFile string
	// ExternalEnv, when set, is called with those lines once the services
	// listen and before any load; an error stops the run. It is where a
	// caller starts (or configures) its external services.
	ExternalEnv func(env []string) error
	// RunID is the run's ID, which every simulated service's resource
	// carries as tracerig.run.id; zero: a random one. On a shared backend
	// (backend otlp, or OTLPEndpoint) it goes into every trace and span ID,
	// so the seed and run ID a report records replay that run exactly.
	RunID simulator.RunID
	// ResourceAttributes are added to every simulated service's resource
	// (OTEL_RESOURCE_ATTRIBUTES); tracerig's own attributes win over them.
	ResourceAttributes []attribute.KeyValue
	// LoadDone, when set, is called once the loads have ended, before the
	// services flush their spans and the checks run: where a caller
	// measures what the load phase alone cost.
	LoadDone func()
	// KeepRecords judges the run at its end from all of its records, which
	// the report's Evidence then holds, instead of verifying it as it goes
	// and letting its records go (see verifier).
	KeepRecords bool
	// SaveSpans, when set, names a file that receives the spans that
	// reached the backend, as OTLP protobuf (internal/otlpfile), as the run
	// reads them back: group by group in a run verified as it goes, all at
	// its end in one judged then. It is created before anything starts.
	// A run whose backend is not read back saves none.
	SaveSpans string

	hooks
}

// hooks are what this package sets on a run for itself.
type hooks struct {
	// verified, when set, says what a run verified as it goes has verified
	// so far, for the progress line.
	verified func() string
	// started, when set, is called with the runtime once its services run:
	// where a benchmark in this package reads the ledger during the load.
	started func(*simulator.Runtime)
	// verifying, when set, is called with the verifier of a run verified as
	// it goes, before the load: where a test in this package sees what it
	// judged while the load ran.
	verifying func(*verifier)
	// plan is the run's started services (image and command nodes), set
	// by Start before any runtime starts.
	plan *nodePlan
	// metricsClosing, when set, is called with the metrics' address just
	// before they stop being served, the report made: where a test scrapes
	// the run's final figures.
	metricsClosing func(addr string)
	// controlOn, set by Start, is the metrics' server when the control API
	// shares its address.
	controlOn *metrics.Server
	// live, set by Start, is the run's live page (Options.UI); nil
	// without one.
	live *liveRun
}

// getenv is opts.Getenv, or os.Getenv.
func (opts Options) getenv() func(string) string {
	if opts.Getenv != nil {
		return opts.Getenv
	}
	return os.Getenv
}

// faultsLive reports whether faults may be planted while the run goes:
// through the control API or the live page.
func (opts Options) faultsLive() bool { return opts.Control != "" || opts.UI != "" }
