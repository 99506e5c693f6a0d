package control

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/tracerig/tracerig/topology"
)

// BrokerConfig is the command line of `tracerig broker`: an embedded
// broker on its own, which the container runtime runs for each broker of
// the topology tracerig runs. It writes it (Args); the command parses it
// (Flags).
type BrokerConfig struct {
	// Kind is the broker's protocol: nats or kafka.
	Kind string
	// Listen is where clients connect.
	Listen string
	// Advertise is the host:port a Kafka-protocol broker gives its
	// clients in its metadata: the container's name in the run's network.
	Advertise string
	// Control is the listen address of the broker's control API: health,
	// and the stop and start of a broker-outage fault.
	Control string
}

// DefaultBrokerConfig returns broker's defaults.
func DefaultBrokerConfig() BrokerConfig {
	return BrokerConfig{Kind: string(topology.BrokerNATS), Listen: ":4222", Control: ":9090"}
}

// Flags defines broker's flags on fs, with c's values as defaults and c's
// fields as destinations.
func (c *BrokerConfig) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Kind, "kind", c.Kind, "the broker's protocol: nats or kafka")
	fs.StringVar(&c.Listen, "listen", c.Listen, "where clients connect")
	fs.StringVar(&c.Advertise, "advertise", c.Advertise, "the `HOST:PORT` a kafka broker advertises to its clients (default: the listen address)")
	fs.StringVar(&c.Control, "control", c.Control, "the control API's listen address")
}

// Args returns the flags that make broker run c: each one whose value is
// not its default, in a fixed order.
func (c BrokerConfig) Args() []string {
	d := DefaultBrokerConfig()
	var args []string
	args = appendFlag(args, "kind", c.Kind, d.Kind)
	args = appendFlag(args, "listen", c.Listen, d.Listen)
	args = appendFlag(args, "advertise", c.Advertise, d.Advertise)
	return appendFlag(args, "control", c.Control, d.Control)
}

// ParseBroker parses broker's flags over the defaults and checks the kind.
func ParseBroker(args []string) (BrokerConfig, error) {
	c := DefaultBrokerConfig()
	if err := parseCommand("broker", args, c.Flags); err != nil {
		return BrokerConfig{}, err
	}
	if !slices.Contains(topology.BrokerKinds, topology.BrokerKind(c.Kind)) {
		return BrokerConfig{}, fmt.Errorf("parse broker flags: unknown --kind %q (want nats or kafka)", c.Kind)
	}
	return c, nil
}

// Paths of a broker's control API.
const (
	brokerStopPath  = "/broker/stop"
	brokerStartPath = "/broker/start"
	messagesPath    = "/messages/owed"
)

// Outage is a broker a broker-outage fault stops and starts again.
type Outage interface {
	Stop()
	Start(ctx context.Context) error
}

// BrokerHandler serves the control API of an embedded broker: its health,
// and the stop and start of an outage.
func BrokerHandler(b Outage) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("POST "+brokerStopPath, func(w http.ResponseWriter, _ *http.Request) {
		b.Stop()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+brokerStartPath, func(w http.ResponseWriter, r *http.Request) {
		if err := b.Start(r.Context()); err != nil {
			writeError(w, http.StatusInternalServerError, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// StopBroker starts an outage of the broker whose control API c reaches.
func (c *Client) StopBroker(ctx context.Context) error {
	_, err := c.expect(ctx, http.MethodPost, brokerStopPath, nil, nil, http.StatusNoContent, maxAnswer)
	return err
}

// StartBroker ends the outage of the broker whose control API c reaches.
func (c *Client) StartBroker(ctx context.Context) error {
	_, err := c.expect(ctx, http.MethodPost, brokerStartPath, nil, nil, http.StatusNoContent, maxAnswer)
	return err
}

// messagesAnswer is GET /messages/owed's answer.
type messagesAnswer struct {
	Owed int64 `json:"owed"`
}

// messagesOwed answers the deliveries the instance leaves owed
// (simulator.Runtime.MessagesOwed).
func (s *Server) messagesOwed(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, messagesAnswer{Owed: s.inst.MessagesOwed()})
}

// MessagesOwed returns the deliveries the instance leaves owed: its
// share of what the run's groups still owe, which the shares of every
// instance add up to.
func (c *Client) MessagesOwed(ctx context.Context) (int64, error) {
	body, err := c.expect(ctx, http.MethodGet, messagesPath, nil, nil, http.StatusOK, maxAnswer)
	if err != nil {
		return 0, err
	}
	var a messagesAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return 0, fmt.Errorf("GET http://%s%s: %w", c.Addr, messagesPath, err)
	}
	return a.Owed, nil
}
