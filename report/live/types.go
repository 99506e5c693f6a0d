package live

import "github.com/tracerig/tracerig/assert"

// Frame is what the page shows of one moment of the run: every edge's
// state, the latest point of the series and every fault window so far.
type Frame struct {
	T      float64       `json:"t"`     // seconds since the load began
	Phase  string        `json:"phase"` // "load", "settling" (load over, spans still arriving), "done"
	Edges  []EdgeState   `json:"edges"`
	Point  Point         `json:"point"`
	Faults []FaultWindow `json:"faults"` // every fault window so far
}

// EdgeState is the traffic over one edge of the topology lately.
type EdgeState struct {
	From   string  `json:"from"`
	To     string  `json:"to"`
	Topic  string  `json:"topic,omitempty"`
	Rate   float64 `json:"rate"`   // hops per second over the last seconds
	Errors float64 `json:"errors"` // share of those that failed, 0..1
	P99    float64 `json:"p99_ms"` // latency p99 over the last seconds, milliseconds; 0 when none
	// State is "continuing", "breaking", "unseen" (no hop yet) or
	// "unchecked" (hops, but propagation cannot be told: an external
	// callee).
	State string `json:"state"`
	Hops  int64  `json:"hops"` // hops so far
}

// Point is one second of the run's series.
type Point struct {
	T       float64 `json:"t"`
	Asked   float64 `json:"asked"`   // requests/s the load asked for (-1: flat out, draw nothing)
	Sent    float64 `json:"sent"`    // requests/s sent
	Ended   float64 `json:"ended"`   // spans/s ended in the services
	Arrived float64 `json:"arrived"` // spans/s the backend acknowledged
	Queue   float64 `json:"queue"`   // spans waiting in the export queues
	Lost    float64 `json:"lost"`    // spans/s lost (failed exports, dropped, missing)
}

// FaultWindow is one window of a fault, planned or added live.
type FaultWindow struct {
	ID     int     `json:"id"`
	Number int     `json:"number"` // 1-based among the scenario's planned faults; 0 for a live one
	Kind   string  `json:"kind"`
	Desc   string  `json:"desc"`  // "strip-headers cart -> inventory"
	Start  float64 `json:"start"` // seconds since the load began
	End    float64 `json:"end"`   // ditto; for an open window, now
	Open   bool    `json:"open"`
	Live   bool    `json:"live"`
}

// Reveal is the run's verdicts, shown once at the end.
type Reveal struct {
	Passed  bool   `json:"passed"`
	Summary string `json:"summary"` // one line, e.g. "3 checks: 2 passed, 1 failed"
	// Verdicts are the checks' verdicts; each finding's Fault explains it
	// ("explained by fault #3 (...)" or "unexplained").
	Verdicts []assert.Verdict `json:"verdicts"`
	Report   string           `json:"report"` // URL path of report.html ("/report/report.html"), "" when none
}
