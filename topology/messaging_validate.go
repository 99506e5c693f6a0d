package topology

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// maxConsumeBatch bounds Consume.Batch: one consumer span links to every
// message of its batch.
const maxConsumeBatch = 1000

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// brokersAndTopics checks the brokers, their topics, and that the
// asynchronous edges close: every topic published to has a consumer group
// and every topic consumed a producer (or is a dead-letter topic).
func (c *checker) brokersAndTopics(t *Topology) {
	seenBroker := map[string]bool{}
	declared := map[string]*Topic{}
	for _, b := range t.Brokers {
		path := field("brokers", b.Name)
		if seenBroker[b.Name] {
			c.errorf(path, b.Pos, "broker %q is defined twice", b.Name)
		}
		seenBroker[b.Name] = true
		if !serviceNameRE.MatchString(b.Name) {
			c.errorf(path, b.Pos, "invalid broker name %q: want lowercase letters, digits, '-', '_' and '.', starting with a letter or digit", b.Name)
		}
		c.broker(b, path)
		for _, tp := range b.Topics {
			tpath := field(field(path, "topics"), tp.Name)
			switch other := declared[tp.Name]; {
			case !topicNameRE.MatchString(tp.Name):
				c.errorf(tpath, tp.Pos, "invalid topic name %q: want letters, digits, '.', '_' and '-', starting with a letter or digit", tp.Name)
			case other != nil:
				c.errorf(tpath, tp.Pos, "topic %q is also declared under broker %q: a topic belongs to one broker", tp.Name, other.Broker)
			}
			declared[tp.Name] = tp
			if tp.Partitions < 0 || tp.Partitions > 1000 {
				c.errorf(field(tpath, "partitions"), tp.Pos, "must be between 1 and 1000 (or left out: as many as the widest consumer group), got %d", tp.Partitions)
			}
		}
	}
	c.asyncEdges(t, declared)
}

func (c *checker) broker(b *Broker, path string) {
	if !slices.Contains(BrokerKinds, b.Kind) {
		c.errorf(field(path, "kind"), b.Pos, "unknown broker kind %q (want %s)", b.Kind, orList(BrokerKinds))
	}
	for i, a := range b.Addresses {
		if a == "" {
			c.errorf(index(field(path, "addresses"), i), b.Pos, "must not be empty")
		}
	}
	if b.IsEmbedded() && (!b.Auth.IsZero() || b.UseTLS) {
		c.errorf(path, b.Pos, "auth and tls apply to a broker of yours: give its addresses, or leave them out for the embedded one")
	}
	c.keyPair(field(path, "tls"), b.Pos, b.TLS)
	if b.Auth.IsZero() {
		return
	}
	apath := field(path, "auth")
	switch {
	case b.Kind == BrokerKafka && !slices.Contains(SASLMechanisms, b.Auth.Mechanism):
		c.errorf(field(apath, "mechanism"), b.Auth.Pos, "unknown SASL mechanism %q (want %s)", b.Auth.Mechanism, orList(SASLMechanisms))
	case b.Kind == BrokerNATS && b.Auth.Mechanism != "" && b.Auth.Mechanism != "plain":
		c.errorf(field(apath, "mechanism"), b.Auth.Pos, "a nats broker takes a user and password (plain), got %q", b.Auth.Mechanism)
	}
	if b.Auth.Username == "" {
		c.errorf(apath, b.Auth.Pos, "needs username: literal text or a ${VARIABLE} reference")
	} else {
		c.template(field(apath, "username"), b.Auth.Pos, b.Auth.Username, "")
	}
	if b.Auth.Password == "" {
		c.errorf(apath, b.Auth.Pos, "needs password: a ${VARIABLE} reference")
	} else {
		c.template(field(apath, "password"), b.Auth.Pos, b.Auth.Password, "${PASSWORD}")
	}
}

// asyncEdges checks publish steps and consume routes against the declared
// topics, and that each topic has both ends.
func (c *checker) asyncEdges(t *Topology, declared map[string]*Topic) {
	published := map[string]bool{}
	consumed := map[string]bool{}
	deadLetter := map[string]bool{}
	groups := map[string]string{} // topic + group → route path
	for _, s := range t.Services {
		for _, r := range s.Routes {
			rpath := routePath(s.Name, r.Name)
			walkSteps(r.Calls, field(rpath, "calls"), func(st *Step, path string) {
				if st.Kind != StepPublish || st.Publish == nil || st.Publish.Topic == "" {
					return
				}
				published[st.Publish.Topic] = true
				c.topicRef(declared, st.Publish.Topic, field(field(path, "publish"), "topic"), st.Publish.Pos)
			})
			if r.Consume == nil {
				continue
			}
			cs := r.Consume
			cpath := field(rpath, "consume")
			consumed[cs.Topic] = true
			if cs.Topic != "" {
				c.topicRef(declared, cs.Topic, field(cpath, "topic"), cs.Pos)
			}
			if cs.DeadLetter != "" {
				deadLetter[cs.DeadLetter] = true
				c.topicRef(declared, cs.DeadLetter, field(cpath, "dead-letter"), cs.Pos)
			}
			key := cs.Topic + "\x00" + cs.Group
			if prev, dup := groups[key]; dup {
				c.errorf(field(cpath, "group"), cs.Pos, "group %q already consumes topic %q at %s: one route per group and topic", cs.Group, cs.Topic, prev)
			}
			groups[key] = rpath
			c.consume(s, cs, cpath)
		}
	}
	for _, b := range t.Brokers {
		for _, tp := range b.Topics {
			tpath := field(field(field("brokers", b.Name), "topics"), tp.Name)
			switch {
			case published[tp.Name] && !consumed[tp.Name]:
				c.errorf(tpath, tp.Pos, "topic %q is published to (by %s) but no route consumes it: add a route with consume: {topic: %s}", tp.Name, strings.Join(t.publishers(tp.Name), ", "), tp.Name)
			case consumed[tp.Name] && !published[tp.Name] && !deadLetter[tp.Name]:
				c.errorf(tpath, tp.Pos, "topic %q is consumed but no route publishes to it: add a step publish: {topic: %s} to a route", tp.Name, tp.Name)
			}
		}
	}
}

func (c *checker) topicRef(declared map[string]*Topic, topic, path string, pos Pos) {
	if declared[topic] != nil {
		return
	}
	names := make([]string, 0, len(declared))
	for n := range declared {
		names = append(names, n)
	}
	slices.Sort(names)
	c.errorf(path, pos, "topic %q is not declared under any broker's topics%s", topic, suggest(topic, names))
}

func (c *checker) consume(s *Service, cs *Consume, path string) {
	if s.IsExternal() {
		return // reported by the decoder
	}
	if cs.Group == "" || !topicNameRE.MatchString(cs.Group) {
		c.errorf(field(path, "group"), cs.Pos, "invalid group name %q: want letters, digits, '.', '_' and '-'", cs.Group)
	}
	if cs.Batch < 1 || cs.Batch > maxConsumeBatch {
		c.errorf(field(path, "batch"), cs.Pos, "must be between 1 and %d, got %d", maxConsumeBatch, cs.Batch)
	}
	if cs.MaxWait <= 0 {
		c.errorf(field(path, "max-wait"), cs.Pos, "must be positive, got %s", cs.MaxWait)
	}
	switch {
	case !slices.Contains(ConsumeModes, cs.Mode):
		c.errorf(field(path, "mode"), cs.Pos, "unknown mode %q (want %s)", cs.Mode, orList(ConsumeModes))
	case cs.Mode == ConsumeParent && cs.Batch > 1:
		c.errorf(field(path, "mode"), cs.Pos, "parent takes single messages: a span has one parent, so a batch of %d must link (mode: link) or take batch: 1", cs.Batch)
	}
	if cs.MaxDeliveries < 1 || cs.MaxDeliveries > 100 {
		c.errorf(field(path, "max-deliveries"), cs.Pos, "must be between 1 and 100, got %d", cs.MaxDeliveries)
	}
	if cs.DeadLetter != "" && cs.DeadLetter == cs.Topic {
		c.errorf(field(path, "dead-letter"), cs.Pos, "must not be the topic consumed (%s): a poison message would come back forever", cs.Topic)
	}
}

// consumeRouteName checks the name of a consume route, which no protocol
// shapes: any text without control characters.
func consumeRouteName(name string) error {
	if strings.TrimSpace(name) == "" || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' }) {
		return fmt.Errorf("invalid consume route name %q: want printable text, like \"process orders\"", name)
	}
	return nil
}
