package control

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServeConfig is the command line of `tracerig serve`: one instance of one
// service of a topology, knowing every other instance by address, with its
// control API. The host of a container run writes it (Args) and the
// container parses it (Flags, ParseServe), so the two read one definition.
type ServeConfig struct {
	// Topology is the topology or scenario file. Required.
	Topology string
	// Service is the service whose instance runs. Required.
	Service string
	// Instance is the index of the instance that runs.
	Instance int
	// Listen is the instance's listen address.
	Listen string
	// Control is the control API's listen address.
	Control string
	// Peers is every other instance's address, by service and instance.
	Peers map[string][]string
	// Brokers are the addresses of the topology's brokers, by name (a
	// broker's container in the run's network); the instance runs none.
	Brokers map[string][]string
	// OTLPEndpoint is the OTLP endpoint the instance exports to: host:port,
	// or an http:// or https:// URL (https: TLS). The other export settings
	// (protocol, headers, certificates, compression, timeout) are the
	// instance's OTEL_EXPORTER_OTLP_* variables: a header value never sits
	// on a command line.
	OTLPEndpoint string
	// OTLPDial, when set, is host:port the instance connects to instead of
	// the endpoint's address (a relay in front of it), while it speaks to
	// the endpoint: the TLS server name stays the endpoint's host.
	OTLPDial string
	// Seed is the seed every decision derives from.
	Seed uint64
	// RunID is the run's ID (16 hex digits) the instance's resource
	// carries as tracerig.run.id; "" for none.
	RunID string
	// IsolateIDs derives trace and span IDs from RunID as well as Seed
	// (simulator.WithIsolatedIDs).
	IsolateIDs bool
	// ResourceAttributes are added to the instance's resource, in the
	// OTEL_RESOURCE_ATTRIBUTES format (otlpconf.ParseResourceAttributes).
	ResourceAttributes string
	// ExportRetry is how long a failed export is retried before its spans
	// are dropped; 0 retries none.
	ExportRetry time.Duration
	// Conformance, when set, serves only the W3C Trace Context test-harness
	// participant on this address, and nothing else is read.
	Conformance string
}

// DefaultServeConfig returns serve's defaults: what an argument left out
// means.
func DefaultServeConfig() ServeConfig {
	return ServeConfig{
		Listen:       ":8080",
		Control:      ":9090",
		OTLPEndpoint: "127.0.0.1:4317",
		Seed:         1,
		ExportRetry:  3 * time.Second,
	}
}

// Flags defines serve's flags on fs, each with c's value as its default and
// c's field as its destination. After fs parses, the returned finish decodes
// --peers into c.Peers.
func (c *ServeConfig) Flags(fs *flag.FlagSet) (finish func() error) {
	fs.StringVar(&c.Topology, "topology", c.Topology, "topology or scenario file (required)")
	fs.StringVar(&c.Service, "service", c.Service, "the service to run (required)")
	fs.IntVar(&c.Instance, "instance", c.Instance, "the instance of the service to run")
	fs.StringVar(&c.Listen, "listen", c.Listen, "the instance's listen address")
	fs.StringVar(&c.Control, "control", c.Control, "the control API's listen address")
	peers := fs.String("peers", formatPeers(c.Peers), "every other instance: 'svc=host:port,host:port;svc2=host:port'")
	brokers := fs.String("brokers", formatPeers(c.Brokers), "the topology's brokers: 'name=host:port,host:port;name2=host:port'")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "OTLP endpoint to export to: host:port, or an http:// or https:// URL (the other settings: the OTEL_EXPORTER_OTLP_* variables)")
	fs.StringVar(&c.OTLPDial, "otlp-dial", c.OTLPDial, "connect to `HOST:PORT` (a relay) instead of the endpoint's address, speaking to the endpoint")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "the seed every decision derives from")
	fs.StringVar(&c.RunID, "run-id", c.RunID, "the run's ID (16 hex digits), carried by the resource as tracerig.run.id")
	fs.BoolVar(&c.IsolateIDs, "isolate-ids", c.IsolateIDs, "derive trace and span IDs from --run-id as well as --seed")
	fs.StringVar(&c.ResourceAttributes, "resource-attributes", c.ResourceAttributes, "attributes added to the resource, as OTEL_RESOURCE_ATTRIBUTES writes them (key=value,...)")
	fs.DurationVar(&c.ExportRetry, "export-retry", c.ExportRetry, "how long a failed export is retried before its spans are dropped")
	fs.StringVar(&c.Conformance, "conformance", c.Conformance, "serve only the W3C Trace Context test-harness participant on `ADDR` (as 'tracerig conformance --listen ADDR')")
	return func() error {
		m, err := parsePeers(*peers)
		if err != nil {
			return fmt.Errorf("--peers: %w", err)
		}
		c.Peers = m
		if c.Brokers, err = parsePeers(*brokers); err != nil {
			return fmt.Errorf("--brokers: %w", err)
		}
		return nil
	}
}

// Args returns the flags that make serve run c: each one whose value is not
// its default, in a fixed order.
func (c ServeConfig) Args() []string {
	d := DefaultServeConfig()
	var args []string
	args = appendFlag(args, "topology", c.Topology, d.Topology)
	args = appendFlag(args, "service", c.Service, d.Service)
	args = appendFlag(args, "instance", strconv.Itoa(c.Instance), strconv.Itoa(d.Instance))
	args = appendFlag(args, "listen", c.Listen, d.Listen)
	args = appendFlag(args, "control", c.Control, d.Control)
	args = appendFlag(args, "peers", formatPeers(c.Peers), formatPeers(d.Peers))
	args = appendFlag(args, "brokers", formatPeers(c.Brokers), formatPeers(d.Brokers))
	args = appendFlag(args, "otlp-endpoint", c.OTLPEndpoint, d.OTLPEndpoint)
	args = appendFlag(args, "otlp-dial", c.OTLPDial, d.OTLPDial)
	args = appendFlag(args, "seed", strconv.FormatUint(c.Seed, 10), strconv.FormatUint(d.Seed, 10))
	args = appendFlag(args, "run-id", c.RunID, d.RunID)
	if c.IsolateIDs {
		args = append(args, "--isolate-ids")
	}
	args = appendFlag(args, "resource-attributes", c.ResourceAttributes, d.ResourceAttributes)
	args = appendFlag(args, "export-retry", c.ExportRetry.String(), d.ExportRetry.String())
	return appendFlag(args, "conformance", c.Conformance, d.Conformance)
}

// ParseServe parses serve's flags over the defaults.
func ParseServe(args []string) (ServeConfig, error) {
	c := DefaultServeConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	finish := c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return ServeConfig{}, fmt.Errorf("parse serve flags: %w", err)
	}
	if fs.NArg() != 0 {
		return ServeConfig{}, fmt.Errorf("parse serve flags: unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := finish(); err != nil {
		return ServeConfig{}, err
	}
	return c, nil
}

// Validate reports a missing required flag; a conformance participant needs
// none.
func (c ServeConfig) Validate() error {
	if c.Conformance == "" && (c.Topology == "" || c.Service == "") {
		return errors.New("--topology and --service are required")
	}
	return nil
}

// formatPeers writes peers as 'svc=h:p,h:p;svc2=h:p', services sorted.
func formatPeers(peers map[string][]string) string {
	parts := make([]string, 0, len(peers))
	for _, name := range slices.Sorted(maps.Keys(peers)) {
		parts = append(parts, name+"="+strings.Join(peers[name], ","))
	}
	return strings.Join(parts, ";")
}

// parsePeers parses 'svc=h:p,h:p;svc2=h:p'; nothing at all is no peers.
func parsePeers(s string) (map[string][]string, error) {
	var out map[string][]string
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, addrs, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want svc=host:port,host:port", part)
		}
		if out == nil {
			out = map[string][]string{}
		}
		for _, a := range strings.Split(addrs, ",") {
			if _, _, err := net.SplitHostPort(a); err != nil && a != "" {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = append(out[name], a)
		}
	}
	return out, nil
}
