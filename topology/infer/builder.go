package infer

import (
	"strconv"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// Options tune a Builder. The zero value is usable.
type Options struct {
	// Name is the topology's and the scenario's name. Default "inferred".
	Name string
	// Window is the time the spans cover, for the entry rates; 0 takes
	// the time from the first to the last root span seen.
	Window time.Duration
	// MaxPendingTraces bounds the traces waiting to be finished; above
	// it the oldest is finished. Default 10000.
	MaxPendingTraces int
	// MaxFanout bounds the distinct callees written per route; those
	// called least often are left out, with a comment. Default 64.
	MaxFanout int
	// MaxSpansPerRequest is the topology's limits.max-spans-per-request
	// the result must respect. Default 10000, the topology's default.
	MaxSpansPerRequest int
	// TopologyFile is how the scenario names the topology. Default
	// "topology.yaml", beside the scenario.
	TopologyFile string
}

func (o Options) withDefaults() Options {
	if o.Name == "" {
		o.Name = "inferred"
	}
	if o.MaxPendingTraces <= 0 {
		o.MaxPendingTraces = 10000
	}
	if o.MaxFanout <= 0 {
		o.MaxFanout = 64
	}
	if o.MaxSpansPerRequest <= 0 {
		o.MaxSpansPerRequest = 10000
	}
	if o.TopologyFile == "" {
		o.TopologyFile = "topology.yaml"
	}
	return o
}

// Builder accumulates spans into the aggregates a topology is derived
// from. It is not safe for concurrent use.
type Builder struct {
	opts    Options
	names   interner
	pending map[record.TraceID]*pendingTrace
	order   []record.TraceID // first sightings, oldest first; may hold finished ones
	free    [][]span         // span slices of finished traces, for reuse
	flush   flusher          // scratch reused across traces
	agg     aggregates
	unused  Summary
	spans   int64
	traces  int64
}

// pendingTrace is one trace's spans waiting for the trace to finish.
type pendingTrace struct {
	spans []span
}

// span is the compact form a pending span is kept in: 48 bytes.
type span struct {
	id, parent record.SpanID
	start, end int64
	svc        uint32 // interned service name
	name       uint32 // interned route (server, consumer), peer (client) or topic (producer)
	instance   uint32 // interned service.instance.id
	kind       record.Kind
	flags      uint8
	status     uint16 // http status or grpc code
}

// span flags.
const (
	flagError uint8 = 1 << iota // status error, http >= 500, grpc code != 0
	flagGRPC                    // a grpc span
	flagHasStatus
	flagAbandoned // its caller gave up on it before it ended
)

// NewBuilder returns a Builder with opts, defaults filled in.
func NewBuilder(opts Options) *Builder {
	b := &Builder{opts: opts.withDefaults(), pending: map[record.TraceID]*pendingTrace{}}
	b.agg.init()
	b.unused.init()
	return b
}

// Add takes one span. The span is copied into a compact record; s may be
// reused by the caller.
func (b *Builder) Add(s *record.Span) {
	b.spans++
	if reason := b.invalid(s); reason != "" {
		b.unused.add(reason, 1)
		return
	}
	t := b.pending[s.Trace]
	if t == nil {
		t = &pendingTrace{}
		if n := len(b.free); n > 0 {
			t.spans, b.free = b.free[n-1], b.free[:n-1]
		}
		b.pending[s.Trace] = t
		b.order = append(b.order, s.Trace)
		b.evict()
	}
	t.spans = append(t.spans, b.compact(s))
}

// invalid returns why s cannot be used at all, or "".
func (b *Builder) invalid(s *record.Span) string {
	switch {
	case !s.Trace.IsValid() || !s.ID.IsValid():
		return ReasonNoIDs
	case s.Service == "":
		return ReasonNoService
	case s.End < s.Start:
		return ReasonBadTimes
	case (s.Kind == record.KindProducer || s.Kind == record.KindConsumer) && destination(s) == "":
		return ReasonMessaging
	}
	return ""
}

// FlushTrace finishes the trace id: its pending spans are folded into the
// aggregates. Spans of id added later count as a broken trace.
func (b *Builder) FlushTrace(id record.TraceID) {
	t, ok := b.pending[id]
	if !ok {
		return
	}
	delete(b.pending, id)
	b.traces++
	b.flush.trace(b, t.spans)
	if len(b.free) < 64 {
		b.free = append(b.free, t.spans[:0])
	}
}

// evict finishes the oldest pending traces while too many are pending, and
// drops finished IDs from the order so that it stays bounded.
func (b *Builder) evict() {
	for len(b.pending) > b.opts.MaxPendingTraces {
		id := b.order[0]
		b.order = b.order[1:]
		b.FlushTrace(id)
	}
	for len(b.order) > 0 {
		if _, ok := b.pending[b.order[0]]; ok {
			break
		}
		b.order = b.order[1:]
	}
	if len(b.order) > 4*b.opts.MaxPendingTraces {
		kept := make([]record.TraceID, 0, len(b.pending))
		for _, id := range b.order {
			if _, ok := b.pending[id]; ok {
				kept = append(kept, id)
			}
		}
		b.order = kept
	}
}

// compact turns s into its pending record, interning its strings.
func (b *Builder) compact(s *record.Span) span {
	c := span{id: s.ID, parent: s.Parent, start: s.Start, end: s.End, kind: s.Kind,
		svc: b.names.id(s.Service), instance: b.names.id(s.Instance)}
	if s.Status == record.StatusError {
		c.flags |= flagError
	}
	if isGRPC(s) {
		c.flags |= flagGRPC
	}
	c.status, c.flags = statusOf(s, c.flags)
	switch s.Kind {
	case record.KindServer:
		c.name = b.names.id(routeName(s, c.flags&flagGRPC != 0))
	case record.KindClient:
		c.name = b.names.id(peerName(s))
	case record.KindProducer, record.KindConsumer:
		c.name = b.messaging(s, c.svc)
	}
	return c
}

// isGRPC reports whether the span is a gRPC call's, in the semantic
// conventions before RPC's were stabilised (rpc.system) or after
// (rpc.system.name).
func isGRPC(s *record.Span) bool {
	for _, key := range []string{"rpc.system.name", "rpc.system"} {
		if v, ok := s.Attr(key); ok {
			return v == "grpc"
		}
	}
	return false
}

// statusOf reads the span's HTTP status or gRPC code, marking the span
// failed when it says so.
func statusOf(s *record.Span, flags uint8) (uint16, uint8) {
	if v, ok := s.Attr("rpc.response.status_code"); ok {
		// The stable RPC conventions: the code's canonical name.
		n, ok := topology.GRPCCodeByName(v)
		if !ok {
			m, err := strconv.Atoi(v)
			n, ok = uint32(m), err == nil && m >= 0 && m <= 16
		}
		if ok {
			flags |= flagHasStatus
			if n != 0 {
				flags |= flagError
			}
			return uint16(n), flags
		}
	}
	for _, key := range []string{"http.response.status_code", "http.status_code", "rpc.grpc.status_code"} {
		v, ok := s.Attr(key)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 999 {
			continue
		}
		flags |= flagHasStatus
		if key == "rpc.grpc.status_code" && n != 0 || key != "rpc.grpc.status_code" && n >= 500 {
			flags |= flagError
		}
		return uint16(n), flags
	}
	return 0, flags
}

// interner maps strings to dense numbers and back.
type interner struct {
	ids  map[string]uint32
	strs []string
}

func (in *interner) id(s string) uint32 {
	if in.ids == nil {
		in.ids = map[string]uint32{}
	}
	if id, ok := in.ids[s]; ok {
		return id
	}
	id := uint32(len(in.strs))
	in.ids[s] = id
	in.strs = append(in.strs, s)
	return id
}

func (in *interner) str(id uint32) string { return in.strs[id] }
