package topology

import (
	"slices"
	"time"
)

// BrokerKind names the protocol of a message broker.
type BrokerKind string

// Broker kinds.
const (
	// BrokerNATS is NATS with JetStream: a topic is a stream whose one
	// subject is the topic's name, a consumer group a durable pull
	// consumer.
	BrokerNATS BrokerKind = "nats"
	// BrokerKafka speaks the Kafka protocol: a topic is a Kafka topic, a
	// consumer group a Kafka consumer group.
	BrokerKafka BrokerKind = "kafka"
)

// BrokerKinds lists the broker kinds, in the order the documentation gives
// them.
var BrokerKinds = []BrokerKind{BrokerNATS, BrokerKafka}

// Broker is a message broker the topology's services publish to and
// consume from. Without Addresses tracerig runs one itself: the real NATS
// server with JetStream, or an in-memory Kafka-protocol broker.
type Broker struct {
	Name string
	Kind BrokerKind // default nats
	// Addresses are those of the user's running broker: Kafka seed
	// brokers as host:port, or NATS server URLs. Empty: embedded.
	Addresses []string
	// Auth is the client's credentials; its fields are templates like
	// Header.Value, expanded only when the run starts.
	Auth BrokerAuth
	// TLS holds the client's certificate files (joined to the topology's
	// folder) and InsecureSkipVerify; Insecure does not apply.
	TLS    TLS
	UseTLS bool     // tls: was given: connect with TLS
	Topics []*Topic // in file order
	Pos    Pos
}

// IsEmbedded reports whether tracerig runs the broker itself.
func (b *Broker) IsEmbedded() bool { return len(b.Addresses) == 0 }

// BrokerAuth is how a client authenticates to a broker: a SASL mechanism
// for Kafka (plain, scram-sha-256, scram-sha-512), a user and password
// for NATS (plain).
type BrokerAuth struct {
	Mechanism          string
	Username, Password string // templates
	Pos                Pos
}

// SASL mechanisms a broker's auth may name.
var SASLMechanisms = []string{"plain", "scram-sha-256", "scram-sha-512"}

// IsZero reports whether a configures nothing.
func (a BrokerAuth) IsZero() bool { return a.Mechanism == "" && a.Username == "" && a.Password == "" }

// Topic is one topic of a broker.
type Topic struct {
	Name   string
	Broker string // the broker the topic is declared under
	// Partitions is the Kafka topic's partition count; 0: as many as the
	// most instances of a service consuming it. A NATS stream has none.
	Partitions int
	Pos        Pos
}

// Publish is a step that publishes one message to a topic: a producer
// span, the trace context in the message's headers.
type Publish struct {
	Topic string
	Pos   Pos
}

// ConsumeMode says how a consumer span relates to the messages it
// processes.
type ConsumeMode string

// Consume modes.
const (
	// ConsumeLink starts a trace of the consumer's own, whose span links
	// to each message's creation context.
	ConsumeLink ConsumeMode = "link"
	// ConsumeParent continues the producer's trace: the consumer span is a
	// child of the message's creation context, and links to it as well.
	// Single messages only.
	ConsumeParent ConsumeMode = "parent"
)

// ConsumeModes lists the consume modes.
var ConsumeModes = []ConsumeMode{ConsumeLink, ConsumeParent}

// Defaults of a consume route.
const (
	DefaultConsumeBatch   = 1
	DefaultConsumeMaxWait = 50 * time.Millisecond
	DefaultMaxDeliveries  = 5
)

// Consume makes a route a consumer of a topic: each batch of messages a
// consumer group's member receives runs the route once (its latency, its
// calls and its errors), under one consumer span. A failed run is
// redelivered by the broker, up to MaxDeliveries, then goes to DeadLetter.
type Consume struct {
	Topic string
	// Group is the consumer group; default the service's name. Each
	// instance of the service is a member.
	Group   string
	Batch   int           // the most messages per run; default 1
	MaxWait time.Duration // how long a fetch waits to fill a batch; default 50ms
	Mode    ConsumeMode   // default link
	// MaxDeliveries bounds the deliveries of a message, the first
	// included; default 5.
	MaxDeliveries int
	// DeadLetter is the topic a message goes to after MaxDeliveries
	// failed deliveries; "": it is dropped.
	DeadLetter string
	Pos        Pos
}

// SpanName is the name of the consumer span of each run of the route:
// the topic's, as the messaging conventions name a process span, not the
// route's.
func (c *Consume) SpanName() string { return "process " + c.Topic }

// Broker returns the broker with the given name, or nil.
func (t *Topology) Broker(name string) *Broker {
	for _, b := range t.Brokers {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// Topic returns the topic with the given name, or nil.
func (t *Topology) Topic(name string) *Topic {
	for _, b := range t.Brokers {
		for _, tp := range b.Topics {
			if tp.Name == name {
				return tp
			}
		}
	}
	return nil
}

// HasAsync reports whether any route publishes or consumes.
func (t *Topology) HasAsync() bool {
	for _, s := range t.Services {
		for _, r := range s.Routes {
			if r.Consume != nil || r.publishes() {
				return true
			}
		}
	}
	return false
}

func (r *Route) publishes() bool {
	found := false
	walkSteps(r.Calls, "", func(st *Step, _ string) {
		found = found || st.Kind == StepPublish
	})
	return found
}

// Consumer is a route that consumes a topic.
type Consumer struct {
	Service *Service
	Route   *Route
}

// Consumers returns the routes consuming topic, in file order.
func (t *Topology) Consumers(topic string) []Consumer {
	var out []Consumer
	for _, s := range t.Services {
		for _, r := range s.Routes {
			if r.Consume != nil && r.Consume.Topic == topic {
				out = append(out, Consumer{s, r})
			}
		}
	}
	return out
}

// WalkPublish calls fn for every publish step in the route's call tree,
// depth first, in file order.
func (r *Route) WalkPublish(fn func(p *Publish)) {
	walkSteps(r.Calls, "", func(st *Step, _ string) {
		if st.Kind == StepPublish && st.Publish != nil {
			fn(st.Publish)
		}
	})
}

// walkSteps calls fn for every step under steps with its field path,
// steps being at path, groups before their members.
func walkSteps(steps []Step, path string, fn func(st *Step, path string)) {
	for i := range steps {
		st := &steps[i]
		p := index(path, i)
		fn(st, p)
		if st.Kind == StepParallel || st.Kind == StepSequence {
			walkSteps(st.Steps, field(p, stepKeyword(st.Kind)), fn)
		}
	}
}

// partitionsFor returns the partitions a topic gets: its own, or as many
// as the most instances of a service consuming it (at least 1).
func (t *Topology) PartitionsFor(tp *Topic) int {
	if tp.Partitions > 0 {
		return tp.Partitions
	}
	n := 1
	for _, c := range t.Consumers(tp.Name) {
		n = max(n, c.Service.Instances)
	}
	return n
}

// publishers returns the services that publish to topic, sorted.
func (t *Topology) publishers(topic string) []string {
	var out []string
	for _, s := range t.Services {
		for _, r := range s.Routes {
			r.WalkPublish(func(p *Publish) {
				if p.Topic == topic && !slices.Contains(out, s.Name) {
					out = append(out, s.Name)
				}
			})
		}
	}
	slices.Sort(out)
	return out
}

// Credentials returns the broker's username and password, their templates
// expanded through getenv (os.Getenv in a program). A reference to an
// unset variable is an error naming the field and the variable, never a
// value.
func (b *Broker) Credentials(getenv func(string) string) (user, password string, err error) {
	path := "brokers." + b.Name + ".auth"
	if user, err = expand(path+".username", b.Auth.Username, getenv); err != nil {
		return "", "", err
	}
	if password, err = expand(path+".password", b.Auth.Password, getenv); err != nil {
		return "", "", err
	}
	return user, password, nil
}
