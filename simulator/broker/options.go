package broker

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// SASL mechanisms WithSASL takes.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
)

// config is what the Options of DialNATS and DialKafka set.
type config struct {
	tls       *tls.Config
	mechanism string
	user      string
	// password is a function, not a string, so that printing a config
	// (%v, %+v, %#v) never shows it.
	password func() string
	logger   *slog.Logger
	name     string
	ackWait  time.Duration
}

// An Option configures a Client.
type Option func(*config)

// WithTLS makes the client speak TLS with the broker, with c (cloned). The
// default is plaintext.
func WithTLS(c *tls.Config) Option {
	return func(cfg *config) { cfg.tls = c.Clone() }
}

// WithSASL authenticates the client as user with password, by mechanism:
// SASLPlain, SASLScramSHA256 or SASLScramSHA512 (case-insensitive). NATS
// takes only SASLPlain, which sends the user and password in its CONNECT
// (nats.UserInfo); use it with WithTLS unless on loopback. The password
// appears in no error, log or printed value. The default is no
// authentication.
func WithSASL(mechanism, user, password string) Option {
	return func(cfg *config) {
		cfg.mechanism = strings.ToLower(mechanism)
		cfg.user = user
		cfg.password = func() string { return password }
	}
}

// WithLogger sets where a client reports what it rides out: failed
// fetches, commits and acknowledgements during an outage. The default
// discards them.
func WithLogger(l *slog.Logger) Option {
	return func(cfg *config) { cfg.logger = l }
}

// WithName sets the name the client gives the broker (the NATS connection
// name, the Kafka client ID). The default is "tracerig".
func WithName(name string) Option {
	return func(cfg *config) { cfg.name = name }
}

// WithAckWait sets how long JetStream waits for the acknowledgement of a
// delivery before it delivers the message again, as when a consumer lost
// a delivery in an outage or took longer than that to handle it. It is
// the AckWait of the durable consumers the client creates or updates.
// Kafka clients ignore it. The default is JetStream's, 30 seconds.
func WithAckWait(d time.Duration) Option {
	return func(cfg *config) { cfg.ackWait = d }
}

// newConfig applies opts over the defaults.
func newConfig(opts []Option) config {
	cfg := config{logger: slog.New(slog.DiscardHandler), name: "tracerig"}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// checkMechanism says whether mechanism is one of those allowed.
func (cfg config) checkMechanism(allowed ...string) error {
	if cfg.mechanism == "" {
		return nil
	}
	for _, a := range allowed {
		if cfg.mechanism == a {
			return nil
		}
	}
	return fmt.Errorf("sasl mechanism %q: want one of %s", cfg.mechanism, strings.Join(allowed, ", "))
}
