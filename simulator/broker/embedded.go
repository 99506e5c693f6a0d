package broker

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
)

// embeddedConfig is what the EmbeddedOptions of StartNATS and StartKafka
// set.
type embeddedConfig struct {
	addr      string
	advertise string
	storeDir  string
	tls       *tls.Config
	users     []embeddedUser
}

// embeddedUser is a user an embedded broker accepts.
type embeddedUser struct {
	mechanism, user string
	password        func() string // a function, so that printing never shows it
}

// An EmbeddedOption configures an embedded broker.
type EmbeddedOption func(*embeddedConfig)

// WithListenAddr makes the broker listen on hostport, such as ":4222"
// for a broker reached from a container, instead of a free port on
// 127.0.0.1. A host left out listens on every interface; clients are told
// 127.0.0.1.
func WithListenAddr(hostport string) EmbeddedOption {
	return func(c *embeddedConfig) { c.addr = hostport }
}

// WithAdvertisedAddr makes the embedded Kafka-protocol broker advertise
// hostport to its clients in its metadata, instead of the address it
// listens on: a name its clients resolve, like a container's network
// alias, when it listens on every interface. NATS clients connect to the
// URL they are given, so a NATS server ignores it.
func WithAdvertisedAddr(hostport string) EmbeddedOption {
	return func(c *embeddedConfig) { c.advertise = hostport }
}

// WithStoreDir makes an embedded NATS server keep its JetStream store in
// a folder of its own under dir (made when missing) instead of under the
// system's temporary folder, which an image built FROM scratch lacks.
func WithStoreDir(dir string) EmbeddedOption {
	return func(c *embeddedConfig) { c.storeDir = dir }
}

// WithServerTLS makes the broker accept only TLS, with c (cloned), which
// holds the server's certificate.
func WithServerTLS(c *tls.Config) EmbeddedOption {
	return func(cfg *embeddedConfig) { cfg.tls = c.Clone() }
}

// WithServerUser makes the broker require authentication and accept user
// with password by mechanism (as WithSASL takes it). Given more than once,
// the broker accepts each user. NATS takes only SASLPlain: the user and
// password of the CONNECT. On kfake the user is a superuser of the
// mechanism.
func WithServerUser(mechanism, user, password string) EmbeddedOption {
	return func(c *embeddedConfig) {
		c.users = append(c.users, embeddedUser{strings.ToLower(mechanism), user, func() string { return password }})
	}
}

// newEmbeddedConfig applies opts and checks the users' mechanisms.
func newEmbeddedConfig(opts []EmbeddedOption, mechanisms ...string) (embeddedConfig, error) {
	var cfg embeddedConfig
	for _, o := range opts {
		o(&cfg)
	}
	for _, u := range cfg.users {
		if err := (config{mechanism: u.mechanism}).checkMechanism(mechanisms...); err != nil {
			return cfg, fmt.Errorf("user %q: %w", u.user, err)
		}
	}
	return cfg, nil
}

// listenHostPort splits the listen address, the defaults 127.0.0.1 and
// port 0 where it says nothing.
func (c embeddedConfig) listenHostPort() (string, int, error) {
	if c.addr == "" {
		return "127.0.0.1", 0, nil
	}
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", c.addr, err)
	}
	p, err := net.LookupPort("tcp", port)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: %w", c.addr, err)
	}
	return host, p, nil
}

// dialHost is the host clients reach a listener on addr at: its own, or
// 127.0.0.1 for a wildcard.
func dialHost(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		return "127.0.0.1"
	}
	return tcp.IP.String()
}
