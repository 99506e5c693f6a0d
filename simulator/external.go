package simulator

import (
	"slices"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// External services: a topology node tracerig does not run. Callers reach
// it at its URL's host:port (a peer with no local instance); requests it
// sends to simulated services carry no harness hop header and are recorded
// as orphan receipts, attributed to the external service that the topology
// says calls the route.

// externalPeer returns the peer of an external service.
func (rt *Runtime) externalPeer(s *topology.Service) *peer {
	return &peer{svc: s, id: s.Name, address: s.ExternalAddr(), svcSym: rt.ledger.syms.id(s.Name)}
}

// externalCallers maps each route external services declare calling to
// the caller's name, or "external" when more than one declares it.
func externalCallers(topo *topology.Topology) map[topology.RouteRef]string {
	out := make(map[topology.RouteRef]string)
	for _, s := range topo.Services {
		for _, c := range s.Downstream {
			ref := topology.RouteRef{Service: c.Service, Route: c.Route}
			if prev, ok := out[ref]; ok && prev != s.Name {
				out[ref] = "external"
				continue
			}
			out[ref] = s.Name
		}
	}
	return out
}

// recordOrphan records a request that arrived without a harness hop header.
func (in *instance) recordOrphan(route *topology.Route, rec recvRec, at time.Time) {
	from, ok := in.rt.extCallers[topology.RouteRef{Service: in.svc.Name, Route: route.Name}]
	if !ok {
		from = "external"
	}
	syms := &in.rt.ledger.syms
	in.shard.addOrphan(orphanRec{
		recv: rec, at: at.UnixNano(),
		from: syms.id(from), to: in.svcSym, route: syms.id(route.Name), toInst: uint16(in.index),
	})
}

// headerDetail records the received trace headers' values the
// header-level checks compare: the traceparent (only when it is not the
// canonical form of got, which the snapshot rebuilds), the tracestate, the
// baggage keys.
func (l *Ledger) headerDetail(rec *recvRec, get func(string) string) {
	if tp := get("Traceparent"); tp != "" && (!rec.got.IsValid() || tp != canonicalTraceparent(rec.got)) {
		rec.parent = l.syms.opt(tp)
	}
	rec.state = l.syms.opt(get("Tracestate"))
	rec.baggage = l.syms.opt(baggageKeys(get("Baggage")))
}

// sentDetail records the tracestate and baggage keys a caller sent.
func (l *Ledger) sentDetail(rec *sendRec, get func(string) string) {
	rec.state = l.syms.opt(get("Tracestate"))
	rec.baggage = l.syms.opt(baggageKeys(get("Baggage")))
}

// canonicalTraceparent renders c as a version-00 traceparent.
func canonicalTraceparent(c record.Context) string {
	flags := "00"
	if c.Sampled {
		flags = "01"
	}
	return "00-" + c.Trace.String() + "-" + c.Span.String() + "-" + flags
}

// baggageKeys returns the keys of a baggage header, sorted, deduplicated
// and comma-joined.
func baggageKeys(v string) string {
	if v == "" {
		return ""
	}
	var keys []string
	for member := range strings.SplitSeq(v, ",") {
		k, _, _ := strings.Cut(member, "=")
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(slices.Compact(keys), ",")
}
