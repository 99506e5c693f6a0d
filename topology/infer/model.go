package infer

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// Model is what was derived, before it is written as YAML: every callee
// observed, including those left out of the topology, with why.
type Model struct {
	Services []*Service
	Brokers  []*Broker     // one per messaging system, by name
	Entries  []Entry       // root server spans per route, most first
	Window   time.Duration // the entry rates' denominator
	// MaxSpans is the most spans one entry request is expected to produce.
	MaxSpans int
}

// Service is one derived service.
type Service struct {
	Name      string
	Protocol  topology.Protocol
	Instances int
	Routes    []*Route
	// ServerSpans are the service's server spans, which say its
	// protocol; a service that only consumes has none.
	ServerSpans int64
}

// Route is one derived route.
type Route struct {
	Name     string
	Requests int64 // server spans, or consumer spans of a consume route
	// Consume, when set, makes the route a consume route: its requests
	// are consumer spans.
	Consume *Consume
	Own     Fit
	// ErrorRate is the share of requests that failed on their own (with
	// every call succeeded), over Clean such requests; Status the most
	// common status (HTTP) or code (gRPC) among them.
	ErrorRate float64
	Clean     int64
	Status    int
	Callees   []*Callee // every callee observed, by share
	// Steps are the written calls in order: a group of one is a call, of
	// more a parallel group.
	Steps [][]*Callee
	key   uint64
}

// Fit is a route's own latency fitted to a lognormal.
type Fit struct {
	P50, P99 time.Duration
	Error    float64 // largest relative gap at p10, p25, p75, p90, p95
	Samples  int64
}

// Callee is one callee of a route, as observed: a call, or a publish to
// Topic (Service and Route empty).
type Callee struct {
	Service, Route string
	Topic          string
	Share          float64 // of the route's requests calling it
	Times          int     // calls per request calling it, rounded
	PerRequest     float64 // calls per request calling it
	Retries        int     // most retries of one call
	RetriedShare   float64 // of calls retried
	Backoff        time.Duration
	// Timeout is the caller's patience, where evident: the median length
	// of TimedOut attempts that failed while their callee went on (at
	// least minTimeouts of them); 0 otherwise.
	Timeout  time.Duration
	TimedOut int64
	Order    float64 // mean position of its first call
	Written  bool
	Why      string // why it is not written
	key      uint64
}

// minTimeouts is how many attempts must have been given up on, their
// callee going on, before a timeout is written.
const minTimeouts = 3

// Entry is an entry route: where root server spans were served.
type Entry struct {
	Service, Route string
	Roots          int64
	// SpansPerTrace is the mean number of spans in the traces rooted at
	// the route; a trace with two roots counts for each.
	SpansPerTrace float64
	Loadable      bool // an http route (load drives http routes only)
}

// model derives the Model from the aggregates.
func (b *Builder) model() *Model {
	m := &Model{}
	names := b.serviceNames()
	topics := b.topics()
	routes := map[uint64]*Route{}
	bySvc := map[uint32]*Service{}
	for key, ra := range b.agg.routes {
		svcID, routeID := splitKey(key)
		s := bySvc[svcID]
		if s == nil {
			s = b.service(svcID, names[svcID])
			bySvc[svcID] = s
			m.Services = append(m.Services, s)
		}
		r := b.route(ra, routeID, names, topics)
		r.key = key
		if ca := b.agg.consumers[key]; ca != nil {
			r.Consume = b.consume(ca, ra, s.Name, topics)
		}
		routes[key] = r
		s.Routes = append(s.Routes, r)
		if ra.roots > 0 {
			m.Entries = append(m.Entries, Entry{Service: s.Name, Route: r.Name, Roots: ra.roots,
				SpansPerTrace: float64(ra.rootSpans) / float64(ra.roots), Loadable: s.Protocol == topology.ProtocolHTTP})
		}
	}
	slices.SortFunc(m.Services, func(x, y *Service) int { return cmp.Compare(x.Name, y.Name) })
	for _, s := range m.Services {
		slices.SortFunc(s.Routes, func(x, y *Route) int { return cmp.Compare(x.Name, y.Name) })
	}
	slices.SortFunc(m.Entries, func(x, y Entry) int {
		return cmp.Or(cmp.Compare(y.Roots, x.Roots), cmp.Compare(x.Service, y.Service), cmp.Compare(x.Route, y.Route))
	})
	targets := targetsOf(m, routes)
	breakCycles(m, targets)
	oneRoutePerGroup(m)
	closeTopics(m, topics)
	for _, s := range m.Services {
		for _, r := range s.Routes {
			r.Steps = steps(r, b.agg.routes)
		}
	}
	m.Brokers = brokers(topics)
	m.MaxSpans = maxSpans(m, targets)
	m.Window = b.window()
	return m
}

func (b *Builder) window() time.Duration {
	if b.opts.Window > 0 {
		return b.opts.Window
	}
	return time.Duration(b.agg.lastRoot - b.agg.firstRoot)
}

// serviceNames maps interned service names to topology names, made unique.
func (b *Builder) serviceNames() map[uint32]string {
	ids := make([]uint32, 0, len(b.agg.services))
	for id := range b.agg.services {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y uint32) int { return cmp.Compare(b.names.str(x), b.names.str(y)) })
	out, used := map[uint32]string{}, map[string]bool{}
	for _, id := range ids {
		name := serviceName(b.names.str(id))
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d", serviceName(b.names.str(id)), n)
		}
		used[name] = true
		out[id] = name
	}
	return out
}

func (b *Builder) service(id uint32, name string) *Service {
	sa := b.agg.services[id]
	s := &Service{Name: name, Protocol: topology.ProtocolHTTP, Instances: min(len(sa.instances), maxInstances),
		ServerSpans: sa.grpc + sa.http}
	if sa.grpc > sa.http {
		s.Protocol = topology.ProtocolGRPC
	}
	return s
}

// route derives one route: its own latency and errors, and its callees
// with their shares (which are written is decided later).
func (b *Builder) route(ra *routeAgg, routeID uint32, names map[uint32]string, topics map[uint32]*Topic) *Route {
	f := ra.own.lognormal()
	r := &Route{Name: b.names.str(routeID), Requests: ra.requests, Clean: ra.clean,
		Own: Fit{P50: roundNs(f.p50), P99: roundNs(f.p99), Error: f.err, Samples: f.n}}
	if ra.clean > 0 {
		r.ErrorRate = float64(ra.ownErrors) / float64(ra.clean)
	}
	var most int64
	for st, n := range ra.statuses {
		if n > most || n == most && int(st) < r.Status {
			r.Status, most = int(st), n
		}
	}
	for key, ca := range ra.callees {
		svc, route := splitKey(key)
		c := &Callee{key: key,
			Share:      float64(ca.requests) / float64(ra.requests),
			PerRequest: float64(ca.logical) / float64(ca.requests),
			Order:      ca.orderSum / float64(ca.requests),
			Retries:    min(ca.maxAttempts-1, 10),
		}
		if isPublish(key) {
			c.Topic = topics[route].Name
		} else {
			c.Service, c.Route = names[svc], b.names.str(route)
		}
		c.Times = max(1, int(math.Round(c.PerRequest)))
		c.RetriedShare = float64(ca.retried) / float64(ca.logical)
		if ca.backoffN > 0 {
			c.Backoff = roundNs(float64(ca.backoffSum) / float64(ca.backoffN))
		}
		if ca.timeouts != nil && ca.timeouts.n >= minTimeouts {
			c.TimedOut = ca.timeouts.n
			c.Timeout = roundSig(ca.timeouts.quantiles(0.5)[0])
		}
		r.Callees = append(r.Callees, c)
	}
	slices.SortFunc(r.Callees, func(x, y *Callee) int {
		return cmp.Or(cmp.Compare(y.Share, x.Share), cmp.Compare(x.Service, y.Service), cmp.Compare(x.Route, y.Route), cmp.Compare(x.Topic, y.Topic))
	})
	for i, c := range r.Callees {
		verb := "called"
		if c.Topic != "" {
			verb = "published to"
		}
		switch {
		case c.Share < 0.5:
			c.Why = fmt.Sprintf("%s in %.0f%% of requests: the topology has no probability on a call, so a share under 50%% rounds to never", verb, 100*c.Share)
		case i >= b.opts.MaxFanout:
			c.Why = fmt.Sprintf("over the fan-out limit of %d callees per route (MaxFanout)", b.opts.MaxFanout)
		default:
			c.Written = true
		}
	}
	return r
}

// roundNs rounds a duration in ns to the microsecond (10ns under one).
// roundSig rounds ns to three significant digits: a histogram's median
// is known to 1%, and a timeout is a round number.
func roundSig(ns float64) time.Duration {
	if ns <= 0 {
		return 0
	}
	unit := math.Pow(10, math.Floor(math.Log10(ns))-2)
	return time.Duration(math.Round(ns/unit) * unit)
}

func roundNs(ns float64) time.Duration {
	d := time.Duration(ns)
	if d >= time.Microsecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(10)
}
