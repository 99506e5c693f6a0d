package topology

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

// BackendType names a tracing backend.
type BackendType string

// Backends.
const (
	BackendEmbedded BackendType = "embedded"
	BackendOTLP     BackendType = "otlp"
	// BackendCollector runs a real OpenTelemetry Collector with the user's
	// config between the services and the embedded backend.
	BackendCollector BackendType = "collector"
	// BackendJaeger runs a real Jaeger v2 (its in-memory store) as a child
	// process; services export to it over OTLP and tracerig reads the traces
	// back through its query API.
	BackendJaeger BackendType = "jaeger"
)

// Backend is where services export their spans. Its export settings
// (Endpoint, Protocol, TLS, Headers, Compression, Timeout) apply to type
// otlp only and say what the OTEL_EXPORTER_OTLP_* variables say; each one
// the scenario leaves unset is taken from those variables when the run
// starts (Resolve).
type Backend struct {
	Type BackendType // default embedded
	// Endpoint is where an otlp backend receives: host:port, or an http://
	// or https:// URL; for http/protobuf, /v1/traces is appended to the
	// URL's path, as for OTEL_EXPORTER_OTLP_ENDPOINT.
	Endpoint string
	// Protocol is "grpc" or "http/protobuf"; "" leaves it to
	// OTEL_EXPORTER_OTLP_PROTOCOL, else grpc.
	Protocol string
	// TLS holds the export's certificate files (joined to the scenario's
	// folder) and Insecure; InsecureSkipVerify does not apply to it.
	TLS TLS
	// Headers are sent with every export; their values are templates
	// (see Header).
	Headers []Header
	// Compression is "gzip" or "none"; "" leaves it to the variables.
	Compression string
	// Timeout bounds each export; 0 leaves it to the variables (default
	// 10s).
	Timeout time.Duration
	// Config is the collector's YAML config file, for type collector; a
	// path relative to the scenario file. tracerig points its OTLP receiver
	// and its exporters at the run's own endpoints.
	Config string
	// MaxTraces is the size of Jaeger's in-memory store (it keeps only its
	// newest MaxTraces traces), for type jaeger; 0: tracerig sizes it at twice
	// the traces the run's load is expected to start, at least 100000.
	MaxTraces int
	// Query reads spans back from an otlp backend; without one the checks
	// that need read-back do not run.
	Query BackendQuery
	Pos   Pos
}

// BackendQuery is the query API tracerig reads an otlp backend back
// through, and the TLS settings and credentials it takes.
type BackendQuery struct {
	Type string // "jaeger" (Jaeger's HTTP query API) or "tempo" (Tempo's HTTP API)
	URL  string // e.g. http://127.0.0.1:16686
	// TLS holds the certificate files (joined to the scenario's folder)
	// and InsecureSkipVerify; Insecure does not apply to it.
	TLS TLS
	// Headers are sent with every query; their values are templates.
	Headers []Header
	// BasicAuth, when not nil, is sent with every query.
	BasicAuth *BasicAuth
}

// IsZero reports whether q configures nothing.
func (q BackendQuery) IsZero() bool {
	return q.Type == "" && q.URL == "" && q.TLS == (TLS{}) && len(q.Headers) == 0 && q.BasicAuth == nil
}

// TLS is the TLS side of a client: PEM files, and how to do without them.
type TLS struct {
	// CA signed the server's certificate; "": the system's roots.
	CA string
	// Cert and Key are the client's certificate and key for mutual TLS,
	// both or neither.
	Cert, Key string
	// Insecure exports in plaintext (backend.tls.insecure).
	Insecure bool
	// InsecureSkipVerify accepts any server certificate
	// (backend.query.tls.insecure-skip-verify).
	InsecureSkipVerify bool
}

// Files returns the certificate files as otlpconf names them.
func (t TLS) Files() otlpconf.TLSFiles {
	return otlpconf.TLSFiles{CAFile: t.CA, CertFile: t.Cert, KeyFile: t.Key}
}

// Header is a header as the scenario writes it. Value is a template:
// literal text and ${NAME} references to environment variables, expanded
// only when the run starts, so a secret never sits in the scenario nor in
// the parsed model.
type Header struct {
	Key, Value string
	Pos        Pos
}

// BasicAuth is HTTP basic authentication; both fields are templates like
// Header.Value.
type BasicAuth struct {
	Username, Password string
}

// Resolve returns the export configuration of an otlp backend: each
// setting the scenario gives, over the OTEL_EXPORTER_OTLP_* variables read
// through getenv (os.Getenv in a program) for the others, as an SDK's
// options override its environment. Header templates are expanded through
// getenv; a reference to an unset variable is an error naming the header
// and the variable, never a value. Every problem is reported, joined.
func (b Backend) Resolve(getenv func(string) string) (otlpconf.Config, error) {
	masked := map[string]bool{}
	mask := func(set bool, keys ...string) {
		for _, k := range keys {
			if set {
				masked["OTEL_EXPORTER_OTLP_"+k] = true
				masked["OTEL_EXPORTER_OTLP_TRACES_"+k] = true
			}
		}
	}
	mask(b.Protocol != "", "PROTOCOL")
	mask(b.Endpoint != "", "ENDPOINT", "INSECURE")
	mask(b.TLS.CA != "", "CERTIFICATE")
	mask(b.TLS.Cert != "" || b.TLS.Key != "", "CLIENT_CERTIFICATE", "CLIENT_KEY")
	mask(len(b.Headers) > 0, "HEADERS")
	mask(b.Compression != "", "COMPRESSION")
	mask(b.Timeout != 0, "TIMEOUT")
	env := func(name string) string {
		if masked[name] {
			return ""
		}
		return getenv(name)
	}
	var errs []error
	def := otlpconf.GRPC
	if b.Protocol != "" {
		p, err := otlpconf.ParseProtocol(b.Protocol)
		if err != nil {
			errs = append(errs, fmt.Errorf("backend.protocol: %w", err))
		}
		def = p
	}
	read, err := otlpconf.FromEnv(env, def)
	if err != nil {
		errs = append(errs, err)
	}
	c := read.Config
	if b.Endpoint != "" {
		e, err := otlpconf.ParseEndpoint(b.Endpoint, c.Protocol, false)
		if err != nil {
			errs = append(errs, fmt.Errorf("backend.endpoint: %w", err))
		}
		c.Endpoint = e.Endpoint
		c.Insecure = exportInsecure(e.Scheme, b.TLS)
	}
	if b.TLS.CA != "" {
		c.CAFile = b.TLS.CA
	}
	if b.TLS.Cert != "" || b.TLS.Key != "" {
		c.CertFile, c.KeyFile = b.TLS.Cert, b.TLS.Key
	}
	if len(b.Headers) > 0 {
		h, err := expandHeaders("backend.headers", b.Headers, getenv)
		errs = append(errs, err)
		c.Headers = h
	}
	switch b.Compression {
	case "gzip":
		c.Compression = "gzip"
	case "none":
		c.Compression = ""
	}
	if b.Timeout != 0 {
		c.Timeout = b.Timeout
	}
	return c, errors.Join(errs...)
}

// exportInsecure reports whether an endpoint written with scheme ("" for
// host:port) is reached in plaintext: http is, https is not, and host:port
// is unless the tls block names a certificate file.
func exportInsecure(scheme string, t TLS) bool {
	switch scheme {
	case "http":
		return true
	case "https":
		return false
	}
	return t.Insecure || t.Files().Empty()
}

// Credentials returns the query's headers and basic authentication with
// their templates expanded through getenv; a reference to an unset
// variable is an error naming the field and the variable, never a value.
func (q BackendQuery) Credentials(getenv func(string) string) ([]otlpconf.Header, *BasicAuth, error) {
	h, err := expandHeaders("backend.query.headers", q.Headers, getenv)
	errs := []error{err}
	var ba *BasicAuth
	if q.BasicAuth != nil {
		ba = &BasicAuth{}
		ba.Username, err = expand("backend.query.basic-auth.username", q.BasicAuth.Username, getenv)
		errs = append(errs, err)
		ba.Password, err = expand("backend.query.basic-auth.password", q.BasicAuth.Password, getenv)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return h, ba, nil
}

func expandHeaders(path string, hs []Header, getenv func(string) string) ([]otlpconf.Header, error) {
	var out []otlpconf.Header
	var errs []error
	for _, h := range hs {
		v, err := expand(field(path, h.Key), h.Value, getenv)
		errs = append(errs, err)
		out = append(out, otlpconf.Header{Key: h.Key, Value: v})
	}
	return out, errors.Join(errs...)
}

// ExpandEnv replaces each ${NAME} in s with getenv(NAME), as expand does:
// an unset variable is an error that names it and path.
func ExpandEnv(path, s string, getenv func(string) string) (string, error) {
	return expand(path, s, getenv)
}

// expand replaces each ${NAME} in the template s with getenv(NAME), in one
// pass (a value holding "${...}" stays as it is). An unset or empty
// variable is an error that names it and path; the value it would have
// held appears nowhere.
func expand(path, s string, getenv func(string) string) (string, error) {
	var b strings.Builder
	var missing []string
	err := scan(s, func(text, name string) {
		b.WriteString(text)
		if name == "" {
			return
		}
		v := getenv(name)
		if v == "" {
			missing = append(missing, name)
		}
		b.WriteString(v)
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("%s: %w", path, err)
	case len(missing) > 0:
		return "", fmt.Errorf("%s: environment variable %s is not set", path, strings.Join(missing, ", "))
	}
	return b.String(), nil
}

// references returns the variable names s refers to, or an error saying
// what is malformed.
func references(s string) ([]string, error) {
	var names []string
	err := scan(s, func(_, name string) {
		if name != "" {
			names = append(names, name)
		}
	})
	return names, err
}

// scan walks the template s, calling f with each stretch of literal text
// and the name of the ${NAME} reference after it ("" after the last).
func scan(s string, f func(text, name string)) error {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			f(s, "")
			return nil
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return errors.New("has an unterminated ${ reference")
		}
		name := s[i+2 : i+j]
		if !envName(name) {
			return fmt.Errorf("refers to ${%s}, which is not a variable name (letters, digits and _, not starting with a digit)", name)
		}
		f(s[:i], name)
		s = s[i+j+1:]
	}
}

// envName reports whether s is a portable environment variable name.
func envName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if r != '_' && (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}
