// Package otlpconf reads the OTLP trace exporter's configuration the way
// the OpenTelemetry specification defines it for the standard
// OTEL_EXPORTER_OTLP_* variables: protocol, endpoint, TLS, headers,
// compression and timeout, each signal-specific variable (…_TRACES_…)
// taking precedence over its generic form.
// Header values are credentials: nothing this package formats shows them.
package otlpconf

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Protocol is an OTLP transport.
type Protocol string

// The protocols tracerig's senders speak.
const (
	GRPC         Protocol = "grpc"
	HTTPProtobuf Protocol = "http/protobuf"
)

// Default ports, path and timeout, as the specification gives them.
const (
	DefaultGRPCPort = "4317"
	DefaultHTTPPort = "4318"
	TracesPath      = "/v1/traces"
	DefaultTimeout  = 10 * time.Second
)

const (
	envPrefix        = "OTEL_EXPORTER_OTLP_"
	envTracesPrefix  = "OTEL_EXPORTER_OTLP_TRACES_"
	compressionGzip  = "gzip"
	compressionNone  = "none"
	maxTimeoutMillis = int64(time.Duration(1<<63-1) / time.Millisecond)
	defaultScheme    = "http"
	secureScheme     = "https"
)

// Header is one header every export carries. Value is a credential more
// often than not: print Key only.
type Header struct {
	Key, Value string
}

// Config is one OTLP trace exporter's settings.
type Config struct {
	Protocol Protocol
	// Endpoint is host:port for gRPC, and the full URL (scheme, host,
	// port and path) for OTLP/HTTP.
	Endpoint string
	// Insecure sends in plaintext; otherwise TLS, with the system's roots
	// unless CAFile names a PEM file of its own, and the client
	// certificate of CertFile and KeyFile for mTLS.
	Insecure bool
	TLSFiles
	Headers []Header
	// Compression is "gzip" or "" for none.
	Compression string
	Timeout     time.Duration
}

// HeaderKeys returns the headers' keys, the only part of them a report
// may name.
func (c Config) HeaderKeys() []string {
	keys := make([]string, len(c.Headers))
	for i, h := range c.Headers {
		keys[i] = h.Key
	}
	return keys
}

// String describes c without any header value.
func (c Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", c.Protocol, c.Endpoint)
	switch {
	case c.Insecure:
		b.WriteString(", plaintext")
	case c.CAFile != "":
		fmt.Fprintf(&b, ", TLS with CA %s", c.CAFile)
	default:
		b.WriteString(", TLS")
	}
	if c.CertFile != "" {
		fmt.Fprintf(&b, ", client certificate %s", c.CertFile)
	}
	if len(c.Headers) > 0 {
		fmt.Fprintf(&b, ", headers %s", strings.Join(c.HeaderKeys(), ","))
	}
	if c.Compression != "" {
		fmt.Fprintf(&b, ", %s", c.Compression)
	}
	return b.String()
}

// Env is what FromEnv read: the configuration, the variables that were set
// (by name), and notes on settings that cannot apply as given.
type Env struct {
	Config Config
	Set    []string
	Notes  []string
}

// FromEnv reads the OTEL_EXPORTER_OTLP_* variables through getenv (os.Getenv
// in a program, a map in a test). def is the protocol when none is set.
// Every malformed variable is reported, joined into one error.
func FromEnv(getenv func(string) string, def Protocol) (Env, error) {
	r := reader{getenv: getenv}
	var env Env
	c := &env.Config
	var errs []error
	c.Protocol = def
	if v, name := r.lookup("PROTOCOL"); v != "" {
		p, err := ParseProtocol(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		} else {
			c.Protocol = p
		}
	}
	insecureSet, insecureName := false, ""
	if v, name := r.lookup("INSECURE"); v != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not true or false", name, v))
		}
		c.Insecure, insecureSet, insecureName = b, true, name
	}
	ep, name := r.lookup("ENDPOINT")
	e, err := ParseEndpoint(ep, c.Protocol, strings.HasPrefix(name, envTracesPrefix))
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	c.Endpoint = e.Endpoint
	switch {
	case e.Scheme == secureScheme && insecureSet && c.Insecure:
		env.Notes = append(env.Notes, fmt.Sprintf("%s=true does not apply to the https endpoint %s: TLS is used", insecureName, ep))
		c.Insecure = false
	case e.Scheme != "":
		c.Insecure = e.Scheme == defaultScheme
	case !insecureSet:
		c.Insecure = true // no scheme and no word: the default endpoint is http
	}
	c.CAFile, _ = r.lookup("CERTIFICATE")
	c.CertFile, _ = r.lookup("CLIENT_CERTIFICATE")
	c.KeyFile, _ = r.lookup("CLIENT_KEY")
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New(envPrefix+"[TRACES_]CLIENT_CERTIFICATE and CLIENT_KEY go together: set both or neither"))
	}
	if c.Insecure && (c.CAFile != "" || c.CertFile != "") {
		env.Notes = append(env.Notes, "certificates are set but the endpoint is plaintext: they are not used")
	}
	if v, name := r.lookup("HEADERS"); v != "" {
		h, err := ParseHeaders(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		c.Headers = h
	}
	if v, name := r.lookup("COMPRESSION"); v != "" {
		switch strings.TrimSpace(v) {
		case compressionGzip:
			c.Compression = compressionGzip
		case compressionNone:
		default:
			errs = append(errs, fmt.Errorf("%s: %q is not gzip or none", name, v))
		}
	}
	c.Timeout = DefaultTimeout
	if v, name := r.lookup("TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || ms < 0 || ms > maxTimeoutMillis {
			errs = append(errs, fmt.Errorf("%s: %q is not a number of milliseconds", name, v))
		} else {
			c.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	env.Set = r.set
	return env, errors.Join(errs...)
}

// reader looks variables up, signal-specific first, and remembers which
// were set.
type reader struct {
	getenv func(string) string
	set    []string
}

// lookup returns the value of OTEL_EXPORTER_OTLP_TRACES_<key>, or else of
// OTEL_EXPORTER_OTLP_<key>, with the name of the one that was set.
func (r *reader) lookup(key string) (string, string) {
	for _, name := range []string{envTracesPrefix + key, envPrefix + key} {
		if v := r.getenv(name); v != "" {
			r.set = append(r.set, name)
			return v, name
		}
	}
	return "", envPrefix + key
}

// ParseProtocol parses an OTEL_EXPORTER_OTLP_PROTOCOL value.
func ParseProtocol(s string) (Protocol, error) {
	switch p := Protocol(strings.TrimSpace(s)); p {
	case GRPC, HTTPProtobuf:
		return p, nil
	case "http/json":
		return "", errors.New("http/json is not supported: use grpc or http/protobuf")
	default:
		return "", fmt.Errorf("unknown protocol %q (want grpc or http/protobuf)", s)
	}
}

// Endpoint is a parsed endpoint: Endpoint as Config holds it, and the
// scheme it was given with ("" for none).
type Endpoint struct {
	Endpoint string
	Scheme   string
}

// ParseEndpoint parses an endpoint for protocol p: a URL (http:// or
// https://) or, the form tracerig's flags have always taken, host:port.
// An empty one is the default (localhost, the protocol's port). For
// OTLP/HTTP, a generic endpoint (not signal-specific) gets /v1/traces
// appended to its path, and a signal-specific one is used as it is, as
// the specification says.
func ParseEndpoint(raw string, p Protocol, signalSpecific bool) (Endpoint, error) {
	raw = strings.TrimSpace(raw)
	port := DefaultGRPCPort
	if p == HTTPProtobuf {
		port = DefaultHTTPPort
	}
	if raw == "" {
		raw = "localhost:" + port
	}
	var e Endpoint
	host, path := raw, ""
	if scheme, _, ok := strings.Cut(raw, "://"); ok {
		u, err := url.Parse(raw)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%q is not a URL: %w", raw, err)
		}
		if scheme != defaultScheme && scheme != secureScheme {
			return Endpoint{}, fmt.Errorf("%q: scheme %q is not http or https", raw, scheme)
		}
		if u.Host == "" {
			return Endpoint{}, fmt.Errorf("%q has no host", raw)
		}
		e.Scheme, host, path = scheme, u.Host, u.EscapedPath()
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), defaultPort(scheme, port))
		}
	} else if _, _, err := net.SplitHostPort(raw); err != nil {
		return Endpoint{}, fmt.Errorf("%q is neither a URL nor host:port", raw)
	}
	if p == GRPC {
		e.Endpoint = host
		return e, nil
	}
	if !signalSpecific {
		path = strings.TrimSuffix(path, "/") + TracesPath
	}
	scheme := e.Scheme
	if scheme == "" {
		scheme = defaultScheme
	}
	e.Endpoint = scheme + "://" + host + path
	return e, nil
}

// defaultPort is the port a URL without one means: the protocol's OTLP
// port over plain http, 443 over https.
func defaultPort(scheme, otlp string) string {
	if scheme == secureScheme {
		return "443"
	}
	return otlp
}

// ParseHeaders parses the OTEL_EXPORTER_OTLP_HEADERS format: key=value
// pairs separated by commas, values percent-encoded. Errors name the
// pair's position and key, never its value.
func ParseHeaders(s string) ([]Header, error) {
	var out []Header
	var errs []error
	n := 0
	for member := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(member) == "" {
			continue
		}
		n++
		k, v, ok := strings.Cut(member, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			// The member may be a bare secret: say where it is, not what.
			errs = append(errs, fmt.Errorf("member %d is not key=value", n))
			continue
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("member %d, key %q: the value is not percent-encoded correctly", n, k))
			continue
		}
		out = append(out, Header{k, dv})
	}
	return out, errors.Join(errs...)
}

// WithEndpoint returns c exporting to raw instead, as a command's
// --otlp-endpoint gives it: host:port, or an http:// or https:// URL whose
// scheme decides TLS (host:port is plaintext). For OTLP/HTTP a URL without
// a path gets /v1/traces; the other settings stay c's.
func (c Config) WithEndpoint(raw string) (Config, error) {
	e, err := ParseEndpoint(raw, c.Protocol, !urlWithoutPath(raw))
	if err != nil {
		return Config{}, err
	}
	c.Endpoint, c.Insecure = e.Endpoint, e.Scheme != secureScheme
	return c, nil
}

// urlWithoutPath reports whether raw is a URL with no path (or just "/"),
// or host:port.
func urlWithoutPath(raw string) bool {
	_, rest, ok := strings.Cut(strings.TrimSpace(raw), "://")
	if !ok {
		return true
	}
	_, path, _ := strings.Cut(rest, "/")
	return path == ""
}

// FormatHeaders writes headers in the OTEL_EXPORTER_OTLP_HEADERS format,
// values percent-encoded: what ParseHeaders reads back. The result holds
// the values: it is for a child process's environment, never for output.
func FormatHeaders(headers []Header) string {
	parts := make([]string, len(headers))
	for i, h := range headers {
		parts[i] = h.Key + "=" + url.PathEscape(h.Value)
	}
	return strings.Join(parts, ",")
}

// HostPort is host:port of c's endpoint: what a probe, a proxy or a TLS
// server name starts from. A URL without a port has its scheme's.
func (c Config) HostPort() (string, error) {
	if c.Protocol == GRPC {
		return c.Endpoint, nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return "", fmt.Errorf("otlp endpoint %q: %w", c.Endpoint, err)
	}
	if u.Port() != "" {
		return u.Host, nil
	}
	return net.JoinHostPort(u.Hostname(), defaultPort(u.Scheme, "80")), nil
}

// EndpointSet reports whether OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT was set.
func (e Env) EndpointSet() bool {
	for _, name := range e.Set {
		if strings.HasSuffix(name, "_ENDPOINT") {
			return true
		}
	}
	return false
}
