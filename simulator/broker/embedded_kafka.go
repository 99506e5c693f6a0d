package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KafkaCluster is a one-broker kfake cluster embedded in this process:
// franz-go's protocol-faithful in-memory Kafka-protocol broker, not Kafka.
// Topics are created only by request (EnsureTopic), never on first use.
// Its methods are safe for concurrent use.
//
// kfake holds its data in memory, so Stop does not shut it down: it closes
// the broker's listening socket and every client connection, so that
// clients are refused as by a broker that is down, while the broker and
// its data stay in memory; Start listens again on the same port.
type KafkaCluster struct {
	c  *kfake.Cluster
	ln *switchListener
}

// StartKafka starts a one-broker kfake cluster on a free port of
// 127.0.0.1 (or WithListenAddr's). Options: WithListenAddr, WithServerTLS,
// WithServerUser (which enables SASL).
func StartKafka(ctx context.Context, opts ...EmbeddedOption) (*KafkaCluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start kafka: %w", err)
	}
	cfg, err := newEmbeddedConfig(opts, SASLPlain, SASLScramSHA256, SASLScramSHA512)
	if err != nil {
		return nil, fmt.Errorf("start kafka: %w", err)
	}
	host, port, err := cfg.listenHostPort()
	if err != nil {
		return nil, fmt.Errorf("start kafka: %w", err)
	}
	k := &KafkaCluster{}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			if k.ln != nil {
				return nil, errors.New("a second broker")
			}
			ln, err := listenSwitch(network, net.JoinHostPort(host, fmt.Sprint(port)))
			if err == nil && cfg.advertise != "" {
				ln.shown = hostPort(cfg.advertise)
			}
			k.ln = ln
			return ln, err
		}),
	}
	if cfg.tls != nil {
		kopts = append(kopts, kfake.TLS(cfg.tls))
	}
	if len(cfg.users) > 0 {
		kopts = append(kopts, kfake.EnableSASL())
	}
	for _, u := range cfg.users {
		kopts = append(kopts, kfake.Superuser(strings.ToUpper(u.mechanism), u.user, u.password()))
	}
	if k.c, err = kfake.NewCluster(kopts...); err != nil {
		return nil, fmt.Errorf("start kafka: %w", err)
	}
	return k, nil
}

// Seeds are the addresses of the broker, host:port, for DialKafka. kfake
// advertises the address it listens on, so a wildcard listen address is
// advertised as it is.
func (k *KafkaCluster) Seeds() []string { return k.c.ListenAddrs() }

// Stop starts an outage: the broker's port refuses connections and the
// connections of its clients are closed, until Start. The broker keeps
// its data, its groups and their committed offsets; requests it was
// handling when it stopped are lost with their connections. Stopping a
// stopped cluster does nothing.
func (k *KafkaCluster) Stop() { k.ln.switchOff() }

// Start ends an outage: the broker listens again on the same port, with
// the data it held. Clients reconnect by themselves. The context is for
// symmetry with NATSServer.Start: listening does not wait.
func (k *KafkaCluster) Start(context.Context) error {
	if err := k.ln.switchOn(); err != nil {
		return fmt.Errorf("restart kafka on %s: %w", k.ln.Addr(), err)
	}
	return nil
}

// Close shuts the cluster down; its data is gone.
func (k *KafkaCluster) Close() error {
	k.c.Close()
	return nil
}
