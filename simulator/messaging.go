package simulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracerig/tracerig/simulator/broker"
	"github.com/tracerig/tracerig/topology"
)

// messaging is the runtime's side of the topology's brokers: the embedded
// ones it runs, how its instances reach each, the consumer groups of each
// topic, and how many deliveries are still owed.
type messaging struct {
	brokers map[string]*brokerRef // by broker name
	// groups are the consumer groups of each topic, in file order: a
	// group's index numbers the hops of its deliveries.
	groups map[string][]consumerGroup
	// pubIndex numbers each publish step in its route, apart from calls.
	pubIndex map[*topology.Publish]int
	// deadFrom names, for each dead-letter topic, the service whose
	// consumer sends what it gives up on there.
	deadFrom map[string]string
	// owed counts the deliveries acknowledged messages still owe their
	// groups: one per group at the broker's acknowledgement, paid when a
	// delivery is processed or given up on.
	owed atomic.Int64

	// deliveries counts, per message and group (keyed by the first
	// delivery's hop), the deliveries seen, so that a message delivered
	// again without the broker counting it (a Kafka partition that moved
	// to another member before its offset was committed, a JetStream
	// delivery lost in an outage) is told apart as a redelivery; paid
	// holds those whose debt is paid. 16 bytes a message and group.
	mu         sync.Mutex
	deliveries map[uint64]int
	paid       map[uint64]bool
}

// delivery numbers a delivery of a message to a group: the broker's count,
// or past every delivery this runtime already saw of it.
func (m *messaging) delivery(key uint64, redelivery int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := max(redelivery, m.deliveries[key])
	m.deliveries[key] = n + 1
	return n
}

// pay settles what a message owes its group, once; passed on is what it
// owes others instead (the groups of the dead-letter topic it went to),
// added in the same step so that the debt never reads zero in between.
func (m *messaging) pay(key uint64, passedOn int) {
	m.mu.Lock()
	first := !m.paid[key]
	m.paid[key] = true
	m.mu.Unlock()
	if first {
		m.owed.Add(int64(passedOn) - 1)
	}
}

// consumerGroup is one route consuming a topic.
type consumerGroup struct {
	index   int
	svc     *topology.Service
	route   *topology.Route
	svcSym  uint32
	route32 uint32
	group32 uint32
}

// brokerRef is one broker of the topology as the runtime reaches it.
type brokerRef struct {
	b *topology.Broker
	// addrs are where clients connect: the embedded broker's, the
	// user's, or those WithBrokers gave.
	addrs    []string
	embedded embeddedBroker // nil when not run here
	opts     []broker.Option
}

// natsAckWait is how long JetStream waits for a consumer's
// acknowledgement before it delivers the message again.
const natsAckWait = 5 * time.Second

// embeddedBroker is a broker this runtime runs: stopped and started again
// by a broker-outage fault.
type embeddedBroker interface {
	Stop()
	Start(ctx context.Context) error
	Close() error
}

// WithBrokers gives the addresses of brokers run elsewhere (a container
// of a containers run), by broker name, instead of running them here.
func WithBrokers(addrs map[string][]string) Option {
	return func(c *config) { c.brokers = addrs }
}

func newMessaging(topo *topology.Topology, syms *symbols) *messaging {
	m := &messaging{
		brokers:    map[string]*brokerRef{},
		groups:     map[string][]consumerGroup{},
		pubIndex:   map[*topology.Publish]int{},
		deadFrom:   map[string]string{},
		deliveries: map[uint64]int{},
		paid:       map[uint64]bool{},
	}
	for _, s := range topo.Services {
		for _, r := range s.Routes {
			i := 0
			r.WalkPublish(func(p *topology.Publish) { m.pubIndex[p] = i; i++ })
			if c := r.Consume; c != nil {
				if c.DeadLetter != "" && m.deadFrom[c.DeadLetter] == "" {
					m.deadFrom[c.DeadLetter] = s.Name
				}
				gs := m.groups[c.Topic]
				m.groups[c.Topic] = append(gs, consumerGroup{
					index: len(gs), svc: s, route: r,
					svcSym: syms.id(s.Name), route32: syms.id(r.Name), group32: syms.id(c.Group),
				})
			}
		}
	}
	return m
}

// startBrokers starts the embedded brokers and makes every topic exist.
// A runtime that hosts no instance (the host of a run in containers)
// needs no broker: the brokers run beside the instances.
func (rt *Runtime) startBrokers(ctx context.Context) error {
	m := rt.msg
	if rt.cfg.only != nil && rt.cfg.only.instance < 0 {
		return nil
	}
	for _, b := range rt.topo.Brokers {
		ref := &brokerRef{b: b}
		m.brokers[b.Name] = ref
		opts, err := clientOptions(b, os.Getenv)
		if err != nil {
			return err
		}
		if b.Kind == topology.BrokerNATS {
			// A delivery lost with a stopped server comes back after
			// AckWait: short enough for a run's settle time, long enough
			// for a consume route's work.
			opts = append(opts, broker.WithAckWait(natsAckWait))
		}
		ref.opts = opts
		switch {
		case len(rt.cfg.brokers[b.Name]) > 0:
			ref.addrs = rt.cfg.brokers[b.Name]
		case !b.IsEmbedded():
			ref.addrs = b.Addresses
		case b.Kind == topology.BrokerKafka:
			k, err := broker.StartKafka(ctx)
			if err != nil {
				return fmt.Errorf("start broker %s: %w", b.Name, err)
			}
			ref.embedded, ref.addrs = k, k.Seeds()
		default:
			n, err := broker.StartNATS(ctx)
			if err != nil {
				return fmt.Errorf("start broker %s: %w", b.Name, err)
			}
			ref.embedded, ref.addrs = n, []string{n.URL()}
		}
		if err := rt.ensureTopics(ctx, ref); err != nil {
			return err
		}
	}
	return nil
}

// ensureTopics creates the broker's topics that are missing.
func (rt *Runtime) ensureTopics(ctx context.Context, ref *brokerRef) error {
	if len(ref.b.Topics) == 0 {
		return nil
	}
	c, err := ref.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, tp := range ref.b.Topics {
		if err := c.EnsureTopic(ctx, tp.Name, rt.topo.PartitionsFor(tp)); err != nil {
			return fmt.Errorf("broker %s: create topic %s: %w", ref.b.Name, tp.Name, err)
		}
	}
	return nil
}

// dial connects a new client to the broker.
func (ref *brokerRef) dial(ctx context.Context) (broker.Client, error) {
	var c broker.Client
	var err error
	if ref.b.Kind == topology.BrokerKafka {
		c, err = broker.DialKafka(ctx, ref.addrs, ref.opts...)
	} else {
		urls := make([]string, len(ref.addrs))
		for i, a := range ref.addrs {
			urls[i] = a
			if !strings.Contains(a, "://") {
				urls[i] = "nats://" + a
			}
		}
		c, err = broker.DialNATS(ctx, strings.Join(urls, ","), ref.opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to broker %s: %w", ref.b.Name, err)
	}
	return c, nil
}

// clientOptions are a broker's credentials and TLS settings as client
// options, its templates expanded through getenv.
func clientOptions(b *topology.Broker, getenv func(string) string) ([]broker.Option, error) {
	var opts []broker.Option
	if !b.Auth.IsZero() {
		user, pass, err := b.Credentials(getenv)
		if err != nil {
			return nil, err
		}
		mech := b.Auth.Mechanism
		if mech == "" {
			mech = "plain"
		}
		opts = append(opts, broker.WithSASL(mech, user, pass))
	}
	if b.UseTLS {
		cfg, err := b.TLS.Files().ClientConfig("")
		if err != nil {
			return nil, fmt.Errorf("broker %s: tls: %w", b.Name, err)
		}
		cfg.InsecureSkipVerify = b.TLS.InsecureSkipVerify
		opts = append(opts, broker.WithTLS(cfg))
	}
	return opts, nil
}

// stopBrokers closes the embedded brokers.
func (rt *Runtime) stopBrokers() error {
	var errs []error
	for name, ref := range rt.msg.brokers {
		if ref.embedded != nil {
			if err := ref.embedded.Close(); err != nil {
				errs = append(errs, fmt.Errorf("stop broker %s: %w", name, err))
			}
		}
	}
	rt.msg.brokers = map[string]*brokerRef{}
	return errors.Join(errs...)
}

// MessagesOwed returns the deliveries this runtime's producers and
// consumers leave owed: acknowledged publishes less the deliveries
// processed or given up on. Processes of one run (containers) each hold
// their share; the run owes their sum.
func (rt *Runtime) MessagesOwed() int64 { return rt.msg.owed.Load() }

// WaitMessages waits until every message the brokers acknowledged was
// processed by each of its groups, or given up on (dead-lettered), or
// until ctx ends; it returns the deliveries still owed.
func (rt *Runtime) WaitMessages(ctx context.Context) int64 {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		n := rt.msg.owed.Load()
		if n <= 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return n
		case <-t.C:
		}
	}
}

// instanceClients are an instance's broker connections, one per broker it
// publishes to or consumes from, and its consumers.
type instanceClients struct {
	mu      sync.Mutex
	clients map[string]broker.Client
	// stop ends the consumers; done is closed when they have returned.
	stop context.CancelFunc
	done chan struct{}
}
