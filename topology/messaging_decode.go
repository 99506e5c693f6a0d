package topology

import "go.yaml.in/yaml/v3"

// brokers decodes the brokers: mapping of broker names to their settings.
func (d *decoder) brokers(n *yaml.Node, t *Topology) {
	if n == nil {
		return
	}
	m, ok := d.mapping(n, "brokers")
	if !ok {
		return
	}
	for _, p := range m.rest() {
		t.Brokers = append(t.Brokers, d.broker(p.key, p.value))
	}
}

func (d *decoder) broker(k, v *yaml.Node) *Broker {
	path := field("brokers", k.Value)
	b := &Broker{Name: k.Value, Kind: BrokerNATS, Pos: d.pos(k)}
	d.fields[path] = b.Pos
	m, ok := d.mapping(v, path)
	if !ok {
		return b
	}
	var kind string
	if d.str(m.take("kind"), field(path, "kind"), &kind) {
		b.Kind = BrokerKind(kind)
	}
	if n := m.take("addresses"); n != nil {
		d.fields[field(path, "addresses")] = d.pos(resolve(n))
		items, _ := d.list(n, field(path, "addresses"))
		for i, it := range items {
			var a string
			if d.str(it, index(field(path, "addresses"), i), &a) {
				b.Addresses = append(b.Addresses, a)
			}
		}
	}
	d.brokerAuth(m.take("auth"), field(path, "auth"), &b.Auth)
	if n := m.take("tls"); n != nil {
		b.UseTLS = true
		d.fields[field(path, "tls")] = d.pos(resolve(n))
		if !isNull(resolve(n)) {
			d.tls(n, field(path, "tls"), "insecure-skip-verify", &b.TLS)
		}
	}
	d.topics(m.take("topics"), field(path, "topics"), b)
	m.done()
	return b
}

func (d *decoder) brokerAuth(n *yaml.Node, path string, a *BrokerAuth) {
	if n == nil {
		return
	}
	m, ok := d.mapping(n, path)
	if !ok {
		return
	}
	a.Pos = d.pos(resolve(n))
	d.fields[path] = a.Pos
	d.str(m.take("mechanism"), field(path, "mechanism"), &a.Mechanism)
	d.str(m.take("username"), field(path, "username"), &a.Username)
	d.str(m.take("password"), field(path, "password"), &a.Password)
	m.done()
}

// topics decodes a broker's topics: a mapping of names to their settings
// (null for none).
func (d *decoder) topics(n *yaml.Node, path string, b *Broker) {
	if n == nil {
		return
	}
	m, ok := d.mapping(n, path)
	if !ok {
		return
	}
	for _, p := range m.rest() {
		tp := &Topic{Name: p.key.Value, Broker: b.Name, Pos: d.pos(p.key)}
		tpath := field(path, tp.Name)
		d.fields[tpath] = tp.Pos
		b.Topics = append(b.Topics, tp)
		if isNull(resolve(p.value)) {
			continue
		}
		tm, ok := d.mapping(p.value, tpath)
		if !ok {
			continue
		}
		d.integer(tm.take("partitions"), field(tpath, "partitions"), &tp.Partitions)
		tm.done()
	}
}

// publish decodes a publish step's {topic}.
func (d *decoder) publish(n *yaml.Node, path string) *Publish {
	p := &Publish{Pos: d.pos(resolve(n))}
	m, ok := d.mapping(n, path)
	if !ok {
		return p
	}
	if !d.str(m.take("topic"), field(path, "topic"), &p.Topic) {
		m.required("topic", "")
	}
	m.done()
	return p
}

// consume decodes a route's consume: settings.
func (d *decoder) consume(n *yaml.Node, path string, s *Service) *Consume {
	c := &Consume{
		Group: s.Name, Batch: DefaultConsumeBatch, MaxWait: DefaultConsumeMaxWait,
		Mode: ConsumeLink, MaxDeliveries: DefaultMaxDeliveries, Pos: d.pos(resolve(n)),
	}
	d.fields[path] = c.Pos
	m, ok := d.mapping(n, path)
	if !ok {
		return c
	}
	if !d.str(m.take("topic"), field(path, "topic"), &c.Topic) {
		m.required("topic", "")
	}
	d.str(m.take("group"), field(path, "group"), &c.Group)
	d.integer(m.take("batch"), field(path, "batch"), &c.Batch)
	d.duration(m.take("max-wait"), field(path, "max-wait"), &c.MaxWait)
	var mode string
	if d.str(m.take("mode"), field(path, "mode"), &mode) {
		c.Mode = ConsumeMode(mode)
	}
	d.integer(m.take("max-deliveries"), field(path, "max-deliveries"), &c.MaxDeliveries)
	d.str(m.take("dead-letter"), field(path, "dead-letter"), &c.DeadLetter)
	m.done()
	return c
}

// messagingExpect decodes a messaging check: {edge, delivered, lag: {p50,
// p99}}, every field optional.
func (d *decoder) messagingExpect(n *yaml.Node, path string) MessagingExpect {
	e := MessagingExpect{Delivered: 1}
	m, ok := d.mapping(n, path)
	if !ok {
		return e
	}
	d.str(m.take("edge"), field(path, "edge"), &e.Edge)
	d.number(m.take("delivered"), field(path, "delivered"), &e.Delivered)
	if ln := m.take("lag"); ln != nil {
		lm, ok := d.mapping(ln, field(path, "lag"))
		if ok {
			d.duration(lm.take("p50"), field(field(path, "lag"), "p50"), &e.LagP50)
			d.duration(lm.take("p99"), field(field(path, "lag"), "p99"), &e.LagP99)
			lm.done()
		}
	}
	m.done()
	return e
}
