package topology

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

func (c *checker) backend(b Backend) {
	switch b.Type {
	case BackendEmbedded, BackendCollector, BackendJaeger:
		c.exportOnlyOTLP(b)
		if !b.Query.IsZero() || c.has("backend.query") {
			c.errorf("backend.query", b.Pos, "is only valid with type otlp (tracerig reads the other backends back itself)")
		}
	case BackendOTLP:
		c.export(b)
		c.backendQuery(b)
	default:
		c.errorf("backend.type", b.Pos, "unknown backend %q (want %s)", b.Type, orList(BackendTypes))
		return
	}
	switch {
	case b.Type == BackendCollector && b.Config == "" && !c.has("backend.config"):
		c.errorf("backend.config", b.Pos, "is required with type collector: the collector's YAML config file, relative to the scenario")
	case b.Type == BackendCollector && b.Config == "":
		c.errorf("backend.config", b.Pos, "must not be empty: the collector's YAML config file, relative to the scenario")
	case b.Type != BackendCollector && (b.Config != "" || c.has("backend.config")):
		c.errorf("backend.config", b.Pos, "is only valid with type collector")
	}
	switch {
	case b.Type != BackendJaeger && (b.MaxTraces != 0 || c.has("backend.max-traces")):
		c.errorf("backend.max-traces", b.Pos, "is only valid with type jaeger")
	case b.MaxTraces < 0:
		c.errorf("backend.max-traces", b.Pos, "must be positive, got %d", b.MaxTraces)
	}
}

// exportOnlyOTLP reports the export settings of a backend tracerig starts:
// the services export to that backend, so these would redirect nothing.
func (c *checker) exportOnlyOTLP(b Backend) {
	for _, k := range []string{"endpoint", "protocol", "tls", "headers", "compression", "timeout"} {
		if c.has("backend." + k) {
			c.errorf("backend."+k, b.Pos, "only applies to type otlp: with backend %s the services export to the backend tracerig starts", b.Type)
		}
	}
}

// export checks the export settings of an otlp backend.
func (c *checker) export(b Backend) {
	if b.Protocol != "" {
		if _, err := otlpconf.ParseProtocol(b.Protocol); err != nil {
			c.errorf("backend.protocol", b.Pos, "%v", err)
		}
	}
	scheme := ""
	if b.Endpoint != "" || c.has("backend.endpoint") {
		e, err := otlpconf.ParseEndpoint(b.Endpoint, otlpconf.GRPC, false)
		if err != nil || b.Endpoint == "" || !validHostPort(e.Endpoint) {
			c.errorf("backend.endpoint", b.Pos, "must be host:port (a port in 1..65535) or an http:// or https:// URL, got %q", b.Endpoint)
		}
		scheme = e.Scheme
	}
	t := b.TLS
	switch {
	case scheme == "https" && t.Insecure:
		c.errorf("backend.tls.insecure", b.Pos, "cannot be true with the https endpoint %s, which says TLS: write http:// for plaintext", b.Endpoint)
	case scheme == "http" && !t.Files().Empty():
		c.errorf("backend.tls", b.Pos, "certificates do not apply to the plaintext endpoint %s: write https:// for TLS", b.Endpoint)
	case t.Insecure && !t.Files().Empty():
		c.errorf("backend.tls.insecure", b.Pos, "cannot be true with certificates set: plaintext would not use them")
	}
	c.keyPair("backend.tls", b.Pos, t)
	c.headerTemplates("backend.headers", b.Pos, b.Headers)
	if b.Compression != "" && !slices.Contains(Compressions, b.Compression) || b.Compression == "" && c.has("backend.compression") {
		c.errorf("backend.compression", b.Pos, "unknown compression %q (want %s)", b.Compression, orList(Compressions))
	}
	if b.Timeout < 0 || b.Timeout == 0 && c.has("backend.timeout") {
		c.errorf("backend.timeout", b.Pos, "must be positive, got %s", b.Timeout)
	}
}

func (c *checker) backendQuery(b Backend) {
	q := b.Query
	if q.IsZero() {
		return
	}
	if !slices.Contains(QueryTypes, q.Type) {
		c.errorf("backend.query.type", b.Pos, "unknown query API %q (want %s)", q.Type, orList(QueryTypes))
	}
	u, err := url.Parse(q.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		c.errorf("backend.query.url", b.Pos, "must be an http(s) URL like http://127.0.0.1:16686, got %q", q.URL)
	case u.User != nil:
		// Not even the URL is repeated: it holds a password.
		c.errorf("backend.query.url", b.Pos, "must not hold credentials: put them in backend.query.basic-auth as ${VARIABLE} references")
	case u.Scheme == "http" && q.TLS != (TLS{}):
		c.errorf("backend.query.tls", b.Pos, "does not apply to the plaintext URL %s: write https:// for TLS", q.URL)
	}
	c.keyPair("backend.query.tls", b.Pos, q.TLS)
	c.headerTemplates("backend.query.headers", b.Pos, q.Headers)
	if ba := q.BasicAuth; ba != nil {
		p := "backend.query.basic-auth"
		pos, ok := c.fields[p]
		if !ok {
			pos = b.Pos
		}
		if ba.Username == "" {
			c.errorf(p, pos, "needs username: literal text or a ${VARIABLE} reference")
		} else {
			c.template(p+".username", pos, ba.Username, "")
		}
		if ba.Password == "" {
			c.errorf(p, pos, "needs password: a ${VARIABLE} reference")
		} else {
			c.template(p+".password", pos, ba.Password, "${PASSWORD}")
		}
	}
}

// keyPair checks that a client certificate comes with its key.
func (c *checker) keyPair(path string, pos Pos, t TLS) {
	switch {
	case t.Cert != "" && t.Key == "":
		c.errorf(field(path, "cert"), pos, "needs key: a client certificate goes with its private key")
	case t.Key != "" && t.Cert == "":
		c.errorf(field(path, "key"), pos, "needs cert: a private key goes with its client certificate")
	}
}

// headerTemplates checks header names and value templates.
func (c *checker) headerTemplates(path string, pos Pos, hs []Header) {
	for _, h := range hs {
		p := field(path, h.Key)
		if !headerName(h.Key) {
			c.errorf(p, h.Pos, "%q is not a valid header name", h.Key)
			continue
		}
		example := ""
		if secretHeader(h.Key) {
			example = `"Bearer ${TOKEN}"`
		}
		c.template(p, h.Pos, h.Value, example)
	}
}

// template checks a value template. A secret one (example names how to
// write it; "" for a value that is no secret) must take its secret from
// the environment, so that it sits in no file. Messages never repeat the
// value.
func (c *checker) template(path string, pos Pos, v, example string) {
	names, err := references(v)
	switch {
	case err != nil:
		c.errorf(path, pos, "%v", err)
	case example != "" && len(names) == 0:
		c.errorf(path, pos, "holds a literal secret: take it from the environment with a ${VARIABLE} reference, like %s", example)
	}
}

// secretHeader reports whether a header of this name carries a
// credential: Authorization, Cookie, and any name with key, token,
// secret, password or auth in it.
func secretHeader(key string) bool {
	k := strings.ToLower(key)
	if k == "cookie" {
		return true
	}
	for _, w := range []string{"auth", "key", "token", "secret", "password"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// headerName reports whether s is an HTTP header name (an RFC 9110 token).
func headerName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}", r) {
			return false
		}
	}
	return true
}

func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	p, err := strconv.Atoi(port)
	return err == nil && p >= 1 && p <= 65535
}
