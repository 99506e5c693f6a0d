package containers

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// The ports brokers listen on inside the run's network.
const (
	natsPort  = "4222"
	kafkaPort = "9092"
)

// startBrokers runs `tracerig broker` in the run's network for each broker
// of the topology that names no addresses, reached by the services at
// "broker-NAME", its control API published on 127.0.0.1 for the
// broker-outage fault. It returns where the services reach each broker.
func (r *Runtime) startBrokers(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for _, b := range r.topo.Brokers {
		if !b.IsEmbedded() {
			out[b.Name] = b.Addresses
			continue
		}
		alias := "broker-" + b.Name
		port := natsPort
		cfg := control.BrokerConfig{Kind: string(b.Kind), Control: "0.0.0.0:" + controlPort}
		if b.Kind == topology.BrokerKafka {
			// A Kafka client reaches the broker at the address its
			// metadata gives: the alias, not the wildcard it listens on.
			port = kafkaPort
			cfg.Advertise = alias + ":" + port
		}
		cfg.Listen = "0.0.0.0:" + port
		ctl, err := freeAddr()
		if err != nil {
			return nil, err
		}
		req := testcontainers.ContainerRequest{
			Image:          r.image,
			Cmd:            append([]string{"broker"}, cfg.Args()...),
			ExposedPorts:   []string{controlPort + "/tcp"},
			Networks:       []string{r.net.Name},
			NetworkAliases: map[string][]string{r.net.Name: {alias}},
			Labels:         r.labels(),
			Name:           "tracerig-" + r.runID + "-" + alias,
			HostConfigModifier: func(hc *container.HostConfig) {
				publish(hc, controlPort, ctl)
			},
			WaitingFor: onLoopback(wait.ForHTTP(control.HealthPath).WithPort(controlPort + "/tcp").
				WithStartupTimeout(30 * time.Second).WithPollInterval(50 * time.Millisecond)),
		}
		// Removed with the run, by label, even when the start fails.
		if _, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true}); err != nil {
			return nil, fmt.Errorf("start the container of broker %s: %w", b.Name, err)
		}
		r.brokers[b.Name] = &control.Client{Addr: ctl, HTTP: controlHTTP}
		out[b.Name] = []string{alias + ":" + port}
		r.logf("broker %s (%s) ready at %s", b.Name, b.Kind, out[b.Name][0])
	}
	return out, nil
}

// brokerOutage stops the broker's container's broker through its control
// API; the undo starts it again, with what it stored.
func (r *Runtime) brokerOutage(ctx context.Context, name string) (func(), error) {
	c := r.brokers[name]
	if c == nil {
		return nil, fmt.Errorf("broker %s does not run in a container of the run", name)
	}
	if err := c.StopBroker(ctx); err != nil {
		return nil, fmt.Errorf("stop broker %s: %w", name, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.StartBroker(ctx); err != nil {
			r.logf("start broker %s again: %v", name, err)
		}
	}, nil
}

// WaitMessages waits until the run's consumers have processed (or given
// up on) every message its producers published, or until ctx ends, and
// returns the deliveries still owed: the sum of every instance's share
// (simulator.Runtime.MessagesOwed), read through their control APIs.
func (r *Runtime) WaitMessages(ctx context.Context) int64 {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		owed, err := r.messagesOwed(ctx)
		if err == nil && owed <= 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return owed
		case <-t.C:
		}
	}
}

// messagesOwed adds up the instances' shares of the deliveries owed.
func (r *Runtime) messagesOwed(ctx context.Context) (int64, error) {
	var sum int64
	for _, in := range r.all() {
		n, err := in.rem.Control.MessagesOwed(ctx)
		if err != nil {
			return 0, fmt.Errorf("messages owed by %s: %w", in.alias, err)
		}
		sum += n
	}
	return sum, nil
}
