package simulator

import (
	"fmt"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// peer is how a runtime knows one instance of a service: by address, and by
// its in-process instance when this runtime hosts it (local non-nil). A
// runtime may host only some instances (WithOnly) and know the others by
// the addresses WithPeers gives.
type peer struct {
	svc     *topology.Service
	index   int
	id      string // service.instance.id
	address string
	svcSym  uint32
	local   *instance // nil for an instance hosted elsewhere
}

// addr is the host:port the instance serves on.
func (p *peer) addr() string {
	if p.local != nil {
		return p.local.addr()
	}
	return p.address
}

// WithOnly hosts a single instance of one service; every other instance
// must be known by address through WithPeers. Used by `tracerig serve`, one
// process (one container) per instance.
func WithOnly(service string, instance int) Option {
	return func(c *config) { c.only = &onlyInstance{service, instance} }
}

// WithNone hosts no instance at all: the runtime only knows the others by
// address (WithPeers). It can still drive load, keep the load side of the
// ledger, and play the fault timeline through an applier (WithApplier).
func WithNone() Option { return func(c *config) { c.only = &onlyInstance{instance: -1} } }

// WithPeers gives the host:port of instances this runtime does not host:
// peers[service][i] is instance i of service. For an external service,
// peers[service][0], when given, is where to reach it instead of its URL.
func WithPeers(peers map[string][]string) Option {
	return func(c *config) { c.peers = peers }
}

type onlyInstance struct {
	service  string
	instance int // -1: none
}

// hosts reports whether this runtime runs instance i of service s itself.
func (c *config) hosts(s string, i int) bool {
	return c.only == nil || (c.only.service == s && c.only.instance == i)
}

// remotePeer returns the peer of an instance hosted elsewhere.
func (rt *Runtime) remotePeer(s *topology.Service, i int) (*peer, error) {
	addrs := rt.cfg.peers[s.Name]
	if i >= len(addrs) || addrs[i] == "" {
		return nil, fmt.Errorf("no address for %s-%d: give it with WithPeers", s.Name, i)
	}
	return &peer{svc: s, index: i, id: fmt.Sprintf("%s-%d", s.Name, i), address: addrs[i], svcSym: rt.ledger.syms.id(s.Name)}, nil
}

// Applier applies a fault somewhere this runtime cannot reach itself (a
// container, another process) when the fault's window opens, and returns
// the undo run when it closes. The runtime still records the window.
type Applier func(f topology.Fault, at time.Time) (undo func(), err error)

// WithApplier sets an Applier consulted for every fault, before the
// runtime applies what it can to the instances it hosts.
func WithApplier(a Applier) Option { return func(c *config) { c.applier = a } }

// WithListen sets the exact host:port a hosted instance listens on (with
// WithOnly); by default each instance takes a free port on WithHost.
func WithListen(addr string) Option { return func(c *config) { c.listen = addr } }

// RemotePeers returns the address of every instance of the services this
// runtime's instances call that it does not host, by service.instance.id
// ("svc-0"), external services left out: what a runtime in a process of
// its own (`tracerig serve`) must reach before load can flow.
func (rt *Runtime) RemotePeers() map[string]string {
	callees := map[string]bool{}
	for _, e := range rt.topo.Edges() {
		if e.IsAsync() {
			continue // through the broker
		}
		for _, in := range rt.all {
			if in.svc.Name == e.From {
				callees[e.To] = true
			}
		}
	}
	out := map[string]string{}
	for svc := range callees {
		for _, p := range rt.peers[svc] {
			if p.local == nil && !p.svc.IsExternal() {
				out[p.id] = p.address
			}
		}
	}
	return out
}
