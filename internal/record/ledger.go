package record

// Export says what became of a span the SDK ended.
type Export uint8

// Export outcomes, in pipeline order.
const (
	// ExportPending: the span ended but never reached the exporter, which
	// after a flush means the SDK queue dropped it.
	ExportPending Export = iota
	// ExportFailed: the exporter was handed the span and returned an error.
	ExportFailed
	// ExportOK: the exporter acknowledged the span.
	ExportOK
)

// String returns the outcome's name.
func (e Export) String() string {
	switch e {
	case ExportPending:
		return "dropped in SDK queue"
	case ExportFailed:
		return "export failed"
	case ExportOK:
		return "exported"
	}
	return "unknown"
}

// Ended is a span the ledger saw end in a simulated service, with what became
// of it on the way out.
type Ended struct {
	Span
	Export Export
	// ExportAt is when the exporter returned for the span (unix ns): its
	// acknowledgement, or the failure that ended its export. Zero while
	// it is pending. Between End and ExportAt the span waited in its
	// service's SDK queue or in an export under way.
	ExportAt int64
	// ExportReason says why the export failed, when Export is
	// ExportFailed: a gRPC code, an HTTP status, a TLS or a connection
	// failure ("grpc Unauthenticated", "connection refused"); "" when the
	// ledger did not record it.
	ExportReason string
}

// Header is a bit set of the trace-context headers seen on one request.
type Header uint16

// Trace-context headers tracerig recognises.
const (
	HeaderTraceparent Header = 1 << iota
	HeaderTracestate
	HeaderBaggage
	HeaderB3Single    // b3
	HeaderB3Multi     // X-B3-TraceId and friends
	HeaderUberTraceID // uber-trace-id (Jaeger)
)

var headerNames = []struct {
	h    Header
	name string
}{
	{HeaderTraceparent, "traceparent"},
	{HeaderTracestate, "tracestate"},
	{HeaderBaggage, "baggage"},
	{HeaderB3Single, "b3"},
	{HeaderB3Multi, "x-b3-traceid"},
	{HeaderUberTraceID, "uber-trace-id"},
}

// Has reports whether every header in o is in h.
func (h Header) Has(o Header) bool { return h&o == o }

// Names returns the header names in the set, in a fixed order.
func (h Header) Names() []string {
	var out []string
	for _, n := range headerNames {
		if h&n.h != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// String returns the header names joined by commas, or "none".
func (h Header) String() string {
	names := h.Names()
	if len(names) == 0 {
		return "none"
	}
	s := names[0]
	for _, n := range names[1:] {
		s += "," + n
	}
	return s
}

// Context is a trace context as sent or received on one hop.
type Context struct {
	Trace   TraceID
	Span    SpanID
	Sampled bool
}

// IsValid reports whether both IDs are set.
func (c Context) IsValid() bool { return c.Trace.IsValid() && c.Span.IsValid() }

// Hop is one request from a caller to a callee instance, as both ends saw it.
// The caller stamps every request with a hop ID in a header of tracerig's own
// (which no fault strips), and each end records its side under that ID.
type Hop struct {
	ID      uint64 // harness hop ID
	Parent  uint64 // hop ID of the request whose handler made this one; 0 for load
	Request uint64 // sequence number of the load request that caused it
	Attempt uint8  // 0 for the first try, then one per retry

	From         string // calling service; "" for the load generator
	FromInstance int
	To           string // called service
	ToInstance   int
	Route        string // called route

	// Caller side: Sent is the context put on the wire: the client span's for
	// an instrumented caller, the forwarded one for an uninstrumented caller.
	Sent        Context
	SentHeaders Header
	ClientSpan  bool // Sent.Span is a client span the caller started
	SentAt      int64
	// AnsweredAt is when the caller (the load generator too) got the
	// answer's headers, or gave up on it (timeout, refused connection);
	// with SentAt it bounds the time the hop was in flight. Zero when the
	// caller never finished (the run ended first) or is external.
	AnsweredAt int64
	// ConnIdleSince is, for an HTTP hop sent on a kept-alive connection
	// that sat idle in the caller's pool, when that connection was last
	// used; zero for a new connection or a gRPC hop. A connection idle
	// since before its callee went down still leads to the old process.
	ConnIdleSince int64
	// SentTraceState is the tracestate header put on the wire ("" for
	// none); SentBaggage the baggage keys, sorted and comma-joined.
	SentTraceState string
	SentBaggage    string
	// External says the callee is an external service: tracerig does not
	// run it, so it never records the callee side (Received stays false).
	External bool
	// FromExternal says the request came from an external service, without
	// a harness hop header: ID is one the callee made up, there is no
	// caller side (Sent is empty), SentAt is when it was received, and
	// From is the external service (or "external" when the topology does
	// not say which one calls this route).
	FromExternal bool

	// Callee side: Received says the callee saw the request at all; Got is the
	// context its propagators extracted; Server is the span it started.
	Received    bool
	Got         Context
	GotHeaders  Header
	Server      Context
	ServerSpan  bool // the callee started a recording or non-recording span
	CalleeError bool // the callee answered with an error (not when the caller gave up first)
	// GotTraceParent is the traceparent header received (the first one
	// when duplicated), GotTraceState the tracestate, GotBaggage the
	// baggage keys, sorted and comma-joined; "" for none.
	GotTraceParent string
	GotTraceState  string
	GotBaggage     string

	// Message is set for an asynchronous hop: a message through a broker
	// to a consumer group (see Message); nil for a call.
	Message *Message
}

// IsAsync reports whether h is a message through a broker.
func (h *Hop) IsAsync() bool { return h.Message != nil }

// Fault is one window in which a fault was active, as the runtime applied
// it. A recurring fault has one record per window.
type Fault struct {
	ID     int    `json:"id"`     // unique in the run
	Number int    `json:"number"` // 1-based index among the scenario's faults; 0 for one added live
	Kind   string `json:"kind"`   // topology fault kind, e.g. "strip-headers"
	Desc   string `json:"desc"`   // e.g. "strip-headers cart -> inventory"
	// Targets: Service (with Instance, -1 for all), the edge From -> To,
	// or a Broker; none for pipeline faults.
	Service  string `json:"service,omitempty"`
	Instance int    `json:"instance"`
	From     string `json:"from,omitempty"`
	To       string `json:"to,omitempty"`
	Broker   string `json:"broker,omitempty"`
	Start    int64  `json:"start_unix_ns"`
	End      int64  `json:"end_unix_ns"` // the run's end if it was still active
	// Open: the fault was still active when the window was read, and End
	// is that time, not the window's end.
	Open bool `json:"open,omitempty"`
	Live bool `json:"live"` // added through the control API
	// Forward and Propagators are what a fault that changes the topology
	// itself set for its window, so the checks can expect the topology
	// with the fault applied: uninstrument's forward-headers, and the
	// formats propagator-mismatch made the service inject and extract.
	Forward     bool     `json:"forward,omitempty"`
	Propagators []string `json:"propagators,omitempty"`
}

// Active reports whether the window contains t (unix nanoseconds).
func (f *Fault) Active(t int64) bool { return t >= f.Start && t <= f.End }

// ExportFailure counts the spans one service failed to export for one
// reason, as the ledger recorded them.
type ExportFailure struct {
	// Service is the service whose exporter failed.
	Service string `json:"service"`
	// Reason classifies the failure: a gRPC code ("grpc Unauthenticated"),
	// an HTTP status ("http 401"), a TLS or a connection failure
	// ("tls: certificate signed by unknown authority", "connection
	// refused").
	Reason string `json:"reason"`
	// Spans counts the spans in the exports that failed for Reason.
	Spans int `json:"spans"`
	// FirstMessage is the first such export's error, cut to a few hundred
	// bytes. Exporters never put header values in their errors.
	FirstMessage string `json:"first_message"`
}
