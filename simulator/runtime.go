// Package simulator brings a topology up as real, OpenTelemetry-instrumented
// services, drives load through them and keeps the ledger: the ground truth
// of every trace started, every span ended and exported, and every hop.
package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerig/tracerig/topology"
)

// ExporterFunc creates the span exporter of one service instance. It is
// called once per instrumented instance; exporters may share a connection.
type ExporterFunc func(ctx context.Context) (sdktrace.SpanExporter, error)

type config struct {
	seed         uint64
	runID        RunID
	isolate      bool
	resource     []attribute.KeyValue
	host         string
	exporter     ExporterFunc
	queueSize    int
	batchSize    int
	batchTimeout time.Duration
	pipe         *Pipe
	only         *onlyInstance
	peers        map[string][]string
	applier      Applier
	listen       string
	brokers      map[string][]string
}

// Option configures a Runtime.
type Option func(*config)

// WithSeed sets the seed every decision of the run derives from. Default 1.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithHost sets the address services listen on. Default 127.0.0.1.
func WithHost(host string) Option { return func(c *config) { c.host = host } }

// WithExporter sets how each instance exports its spans. Required.
func WithExporter(f ExporterFunc) Option { return func(c *config) { c.exporter = f } }

// WithBatching sets the SDK batch span processor's queue size, batch size
// and batch timeout of every instance. Defaults 8192, 512, 200ms.
func WithBatching(queue, batch int, timeout time.Duration) Option {
	return func(c *config) { c.queueSize, c.batchSize, c.batchTimeout = queue, batch, timeout }
}

// WithPipe names the relay the exporters send through, so that pipeline
// faults (exporter outage, slow backend) can act on it. The caller owns it.
func WithPipe(p *Pipe) Option { return func(c *config) { c.pipe = p } }

// Runtime is a topology running in this process: every service instance a
// real server on loopback with its own TracerProvider.
type Runtime struct {
	topo   *topology.Topology
	cfg    config
	ledger *Ledger
	// peers holds every instance of every service, hosted here or not;
	// all holds the instances this runtime hosts.
	peers     map[string][]*peer
	all       []*instance
	callIndex map[*topology.Call]int
	external  atomic.Uint64
	// extCallers names the external service calling each route it
	// declares calling (see externalCallers).
	extCallers map[topology.RouteRef]string
	fx         faults
	msg        *messaging

	errMu sync.Mutex
	err   error
}

// New returns a runtime for topo; Start brings it up.
func New(topo *topology.Topology, opts ...Option) *Runtime {
	cfg := config{seed: 1, host: "127.0.0.1", queueSize: 8192, batchSize: 512, batchTimeout: 200 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	rt := &Runtime{
		topo:       topo,
		cfg:        cfg,
		ledger:     NewLedger(),
		peers:      make(map[string][]*peer),
		callIndex:  make(map[*topology.Call]int),
		extCallers: externalCallers(topo),
	}
	rt.msg = newMessaging(topo, &rt.ledger.syms)
	for _, s := range topo.Services {
		for _, r := range s.Routes {
			i := 0
			r.Walk(func(c *topology.Call) { rt.callIndex[c] = i; i++ })
		}
	}
	return rt
}

// Ledger returns the run's ledger.
func (rt *Runtime) Ledger() *Ledger { return rt.ledger }

// QueueSize is the SDK batch span processor's queue size in each instance.
func (rt *Runtime) QueueSize() int { return rt.cfg.queueSize }

// Seed returns the run's seed.
func (rt *Runtime) Seed() uint64 { return rt.cfg.seed }

// Start brings up every instance of every service. On error, what was
// started is shut down again.
func (rt *Runtime) Start(ctx context.Context) error {
	if rt.cfg.exporter == nil {
		return errors.New("start runtime: no exporter configured")
	}
	if err := rt.startBrokers(ctx); err != nil {
		return errors.Join(err, rt.Shutdown(context.WithoutCancel(ctx)))
	}
	for _, s := range rt.topo.Services {
		if s.IsExternal() {
			p := rt.externalPeer(s)
			if addrs := rt.cfg.peers[s.Name]; len(addrs) > 0 && addrs[0] != "" {
				// Reached another way than at its URL: through the relay
				// of a container run.
				p.address = addrs[0]
			}
			rt.peers[s.Name] = []*peer{p}
			continue
		}
		for i := range s.Instances {
			if !rt.cfg.hosts(s.Name, i) {
				p, err := rt.remotePeer(s, i)
				if err != nil {
					return errors.Join(err, rt.Shutdown(context.WithoutCancel(ctx)))
				}
				rt.peers[s.Name] = append(rt.peers[s.Name], p)
				continue
			}
			in, err := newInstance(ctx, rt, s, i)
			if err == nil {
				addr := net.JoinHostPort(rt.cfg.host, "0")
				if rt.cfg.listen != "" {
					addr = rt.cfg.listen
				} else if s.Port != 0 {
					addr = net.JoinHostPort(rt.cfg.host, strconv.Itoa(s.Port))
				}
				err = in.listen(addr)
			}
			if err != nil {
				if in != nil {
					rt.all = append(rt.all, in)
				}
				return errors.Join(err, rt.Shutdown(context.WithoutCancel(ctx)))
			}
			rt.peers[s.Name] = append(rt.peers[s.Name], in.peer)
			rt.all = append(rt.all, in)
		}
	}
	for _, in := range rt.all {
		in.start()
		in.startConsumers()
	}
	return nil
}

// Endpoint returns the host:port of an instance, or "" when there is none.
func (rt *Runtime) Endpoint(service string, instance int) string {
	ins := rt.peers[service]
	if instance < 0 || instance >= len(ins) {
		return ""
	}
	return ins[instance].addr()
}

// SetAddr sets where the runtime reaches a service of the user's (one
// external to it: at a URL, or started for the run once the runtime was
// up). It must be called before any load.
func (rt *Runtime) SetAddr(service, addr string) error {
	ps := rt.peers[service]
	if len(ps) != 1 || ps[0].local != nil || !ps[0].svc.IsExternal() {
		return fmt.Errorf("set address of %s: not a service of the user's in this runtime", service)
	}
	ps[0].address = addr
	return nil
}

// Instances returns the number of running instances of service (hosted
// here or known by address).
func (rt *Runtime) Instances(service string) int { return len(rt.peers[service]) }

// local returns the hosted instance i of service, or nil.
func (rt *Runtime) local(service string, i int) *instance {
	ins := rt.peers[service]
	if i < 0 || i >= len(ins) {
		return nil
	}
	return ins[i].local
}

// locals returns the hosted instances of service.
func (rt *Runtime) locals(service string) []*instance {
	var out []*instance
	for _, p := range rt.peers[service] {
		if p.local != nil {
			out = append(out, p.local)
		}
	}
	return out
}

// Shutdown stops every server, closes connections and flushes every
// instance's spans through its exporter. It honours ctx and works after a
// partial Start.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	rt.ClearFaults()
	// Consumers first: a delivery in progress ends before its service
	// flushes its spans.
	var cwg sync.WaitGroup
	for _, in := range rt.all {
		cwg.Go(in.stopConsumers)
	}
	cwg.Wait()
	// Idle client connections first: a server's graceful shutdown waits
	// for connections that never carry a request.
	for _, in := range rt.all {
		in.closeIdle()
	}
	errs := make([]error, len(rt.all))
	var wg sync.WaitGroup
	for i, in := range rt.all {
		wg.Go(func() { errs[i] = in.shutdown(ctx) })
	}
	wg.Wait()
	rt.all = nil
	rt.peers = map[string][]*peer{}
	errs = append(errs, rt.stopBrokers())
	return errors.Join(append(errs, rt.Err())...)
}

// Err returns the first failure of a running server, if any.
func (rt *Runtime) Err() error {
	rt.errMu.Lock()
	defer rt.errMu.Unlock()
	return rt.err
}

func (rt *Runtime) fail(err error) {
	rt.errMu.Lock()
	defer rt.errMu.Unlock()
	if rt.err == nil {
		rt.err = err
	}
}

// externalHop numbers a request that arrived without a harness header.
func (rt *Runtime) externalHop() uint64 {
	return mix(rt.cfg.seed^0xe7, rt.external.Add(1))
}
