// Package httpclient builds the HTTP client of a query API (Jaeger's,
// Tempo's) from its TLS settings and credentials, and words the answers
// that refuse those credentials. Header values and passwords are
// credentials: nothing this package formats shows them.
package httpclient

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

// BasicAuth is HTTP basic authentication.
type BasicAuth struct {
	Username, Password string
}

// Config is what an HTTP client of a query API needs beyond the URL.
type Config struct {
	// TLS names the CA that signed the server's certificate (the system's
	// roots when empty) and the client certificate and key for mutual TLS.
	TLS otlpconf.TLSFiles
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
	// Headers are set on every request.
	Headers []otlpconf.Header
	// BasicAuth, when not nil, is set on every request.
	BasicAuth *BasicAuth
	// Timeout bounds each request; 0: no bound but the request's context.
	Timeout time.Duration
}

// String describes c without any credential: the TLS files, the header
// keys and whether basic authentication is set.
func (c Config) String() string {
	var parts []string
	if c.TLS.CAFile != "" {
		parts = append(parts, "CA "+c.TLS.CAFile)
	}
	if c.TLS.CertFile != "" {
		parts = append(parts, "client certificate "+c.TLS.CertFile)
	}
	if c.InsecureSkipVerify {
		parts = append(parts, "server certificate not verified")
	}
	if len(c.Headers) > 0 {
		keys := make([]string, len(c.Headers))
		for i, h := range c.Headers {
			keys[i] = h.Key
		}
		parts = append(parts, "headers "+strings.Join(keys, ","))
	}
	if c.BasicAuth != nil {
		parts = append(parts, "basic auth")
	}
	if len(parts) == 0 {
		return "no credentials"
	}
	return strings.Join(parts, ", ")
}

// Client returns an HTTP client whose requests carry c's headers and
// basic authentication over a transport with c's TLS settings. Errors
// name the file that failed.
func (c Config) Client() (*http.Client, error) {
	tlsCfg, err := c.TLS.ClientConfig("")
	if err != nil {
		return nil, err
	}
	tlsCfg.InsecureSkipVerify = c.InsecureSkipVerify
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	var rt http.RoundTripper = tr
	if len(c.Headers) > 0 || c.BasicAuth != nil {
		rt = &credentials{next: tr, headers: c.Headers, basic: c.BasicAuth}
	}
	return &http.Client{Transport: rt, Timeout: c.Timeout}, nil
}

// credentials sets headers and basic authentication on every request.
type credentials struct {
	next    http.RoundTripper
	headers []otlpconf.Header
	basic   *BasicAuth
}

// RoundTrip sends a copy of req with the credentials set, leaving req as
// it is, as a RoundTripper must.
func (c *credentials) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if c.basic != nil {
		r.SetBasicAuth(c.basic.Username, c.basic.Password)
	}
	for _, h := range c.headers {
		if strings.EqualFold(h.Key, "host") {
			r.Host = h.Value
			continue
		}
		r.Header.Set(h.Key, h.Value)
	}
	return c.next.RoundTrip(r)
}

// CloseIdleConnections closes the transport's idle connections, so that
// http.Client.CloseIdleConnections reaches them.
func (c *credentials) CloseIdleConnections() {
	if ci, ok := c.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// Refused returns the error for an answer of 401 or 403 from api (say
// "jaeger query") to a request of rawURL, and nil for any other answer. It
// names the URL without user information, the status, the first line of a
// plain-text or JSON answer (Tempo's "tenant not found", say; never an
// HTML page), and where the credentials are configured; never a
// credential.
func Refused(api, rawURL string, resp *http.Response) error {
	if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return nil
	}
	why := ""
	if ct := resp.Header.Get("Content-Type"); resp.Body != nil && (strings.HasPrefix(ct, "text/plain") || strings.HasPrefix(ct, "application/json")) {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		if line != "" {
			why = " (" + line + ")"
		}
	}
	return fmt.Errorf("%s at %s answered %s%s: check backend.query.basic-auth / headers", api, Redact(rawURL), resp.Status, why)
}

// Redact returns rawURL without its user information (a password may sit
// there).
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	u.User = nil
	return u.String()
}
