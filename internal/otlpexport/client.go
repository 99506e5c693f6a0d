package otlpexport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

// A Client is the transport to one OTLP endpoint that Exporters share: a
// gRPC connection, or an HTTP client with its pool of connections, with
// the TLS, headers and compression of the configuration it was opened
// with. Its methods may be called concurrently.
type Client struct {
	cfg otlpconf.Config

	// conn and md are the gRPC transport: the connection, and the
	// headers every call carries as metadata.
	conn *grpc.ClientConn
	md   metadata.MD

	// http is the OTLP/HTTP transport.
	http *httpTransport
}

type clientConfig struct {
	dialAddr string
}

// A ClientOption configures a Client.
type ClientOption func(*clientConfig)

// WithDialAddr makes the Client connect to addr (host:port) instead of
// the endpoint's address, while speaking to the endpoint: the TLS server
// name, the gRPC authority and the HTTP Host stay those of the
// configured endpoint. It is where a proxy sits in front of the endpoint.
func WithDialAddr(addr string) ClientOption {
	return func(c *clientConfig) { c.dialAddr = addr }
}

// Open returns a Client for the endpoint cfg describes. It does not
// connect: the first export does, and the Client reconnects by itself
// when the endpoint goes away and comes back. Open fails when the
// configuration cannot be used: an unknown protocol, a malformed
// endpoint, a certificate file that cannot be read.
func Open(cfg otlpconf.Config, opts ...ClientOption) (*Client, error) {
	var cc clientConfig
	for _, o := range opts {
		o(&cc)
	}
	cfg.Headers = slices.Clone(cfg.Headers)
	c := &Client{cfg: cfg}
	err := validate(cfg)
	switch {
	case err != nil:
	case cfg.Protocol == otlpconf.GRPC:
		err = c.openGRPC(cc)
	case cfg.Protocol == otlpconf.HTTPProtobuf:
		c.http, err = newHTTPTransport(cfg, cc)
	}
	if err != nil {
		return nil, fmt.Errorf("otlpexport: open %s: %w", cfg.Endpoint, err)
	}
	return c, nil
}

// validate checks what every request would otherwise fail on. Its errors
// name a header by its key, never by its value.
func validate(cfg otlpconf.Config) error {
	switch cfg.Protocol {
	case otlpconf.GRPC, otlpconf.HTTPProtobuf:
	default:
		return fmt.Errorf("unknown protocol %q (want %s or %s)", cfg.Protocol, otlpconf.GRPC, otlpconf.HTTPProtobuf)
	}
	if cfg.Compression != "" && cfg.Compression != gzip.Name {
		return fmt.Errorf("unknown compression %q (want gzip or none)", cfg.Compression)
	}
	for i, h := range cfg.Headers {
		if !validHeaderKey(h.Key) {
			return fmt.Errorf("header %d: %q is not a valid header name", i+1, h.Key)
		}
		if strings.ContainsFunc(h.Value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return fmt.Errorf("header %q: the value holds a control character", h.Key)
		}
	}
	return nil
}

// validHeaderKey reports whether k is an HTTP field name (an RFC 9110
// token), which gRPC metadata keys are too once lowercased.
func validHeaderKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// Config returns the configuration c was opened with.
func (c *Client) Config() otlpconf.Config {
	cfg := c.cfg
	cfg.Headers = slices.Clone(cfg.Headers)
	return cfg
}

// Close closes c's connections. Later exports fail, and over gRPC the
// exports in progress too.
func (c *Client) Close() error {
	if c.http != nil {
		c.http.close()
		return nil
	}
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("otlpexport: close %s: %w", c.cfg.Endpoint, err)
	}
	return nil
}

// grpcBackoff makes the gRPC connection redial within a second of the
// endpoint coming (back) up, so a backend that starts late or an outage
// costs what it lasts and no more.
var grpcBackoff = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
	MinConnectTimeout: time.Second,
}

// openGRPC makes c's gRPC connection.
func (c *Client) openGRPC(cc clientConfig) error {
	host, _, err := net.SplitHostPort(c.cfg.Endpoint)
	if err != nil || strings.Contains(c.cfg.Endpoint, "/") {
		return errors.New("a gRPC endpoint is host:port")
	}
	creds := insecure.NewCredentials()
	if !c.cfg.Insecure {
		tc, err := c.cfg.ClientConfig(host)
		if err != nil {
			return err
		}
		creds = TLSCredentials(tc)
	}
	target := c.cfg.Endpoint
	dialOpts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpcBackoff),
	}
	if cc.dialAddr != "" {
		// passthrough keeps the endpoint as the authority without
		// resolving it; every connection goes to the dial address.
		target = "passthrough:///" + target
		addr := cc.dialAddr
		dialOpts = append(dialOpts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}))
	}
	for _, h := range c.cfg.Headers {
		if c.md == nil {
			c.md = metadata.MD{}
		}
		// gRPC metadata keys are lowercase.
		c.md.Append(strings.ToLower(h.Key), h.Value)
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return err
	}
	c.conn = conn
	return nil
}

// outgoing returns ctx carrying c's headers as gRPC metadata, after any
// metadata ctx already carries.
func (c *Client) outgoing(ctx context.Context) context.Context {
	if len(c.md) == 0 {
		return ctx
	}
	md := c.md
	if out, ok := metadata.FromOutgoingContext(ctx); ok {
		md = metadata.Join(out, md)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

var errClosed = errors.New("client is closed")
