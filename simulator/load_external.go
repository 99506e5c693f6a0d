package simulator

import (
	"encoding/binary"
	"net/http"

	"github.com/tracerig/tracerig/internal/record"
)

// An external entry gets from the load what a caller's instrumentation
// would send it: a sampled traceparent, so that every request starts a
// trace tracerig knows (the ledger records its context as the load's side
// of the hop), and the run's ID in the baggage. A simulated entry gets
// neither: it starts the trace itself, under its own sampler.

// runBaggageKey is the baggage member naming the run a load request
// belongs to.
const runBaggageKey = "tracerig.run.id"

// loadContext returns the context the load sends on request hop: a trace
// and a span ID derived from the seed and the hop, as a simulated entry's
// would be, and sampled.
func loadContext(idSeed, hop uint64) record.Context {
	key := mix(idSeed, hop)
	var c record.Context
	binary.BigEndian.PutUint64(c.Trace[:8], mix(key, 1))
	binary.BigEndian.PutUint64(c.Trace[8:], mix(key, 2))
	for i := uint64(3); !c.Span.IsValid(); i++ {
		binary.BigEndian.PutUint64(c.Span[:], mix(key, i))
	}
	c.Sampled = true
	return c
}

// startExternal puts the load's trace context (and the run's ID as
// baggage, when the run has one) on a request to an external entry and
// records it in rec.
func (rt *Runtime) startExternal(h http.Header, rec *sendRec) {
	rec.sent = loadContext(rt.cfg.idSeed(), rec.hop)
	rec.external = true
	h.Set("Traceparent", canonicalTraceparent(rec.sent))
	rec.headers = record.HeaderTraceparent
	if id := rt.cfg.runID; id != 0 {
		h.Set("Baggage", runBaggageKey+"="+id.String())
		rec.headers |= record.HeaderBaggage
		rec.baggage = rt.ledger.syms.opt(runBaggageKey)
	}
}
