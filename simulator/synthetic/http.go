package synthetic

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tracerig/tracerig/internal/otlpexport"
)

// tracesPath is the OTLP/HTTP path of trace exports.
const tracesPath = "/v1/traces"

// maxResponseBytes bounds what is read of one export response.
const maxResponseBytes = 1 << 20

// httpSender exports over OTLP/HTTP: each request is a POST of the
// encoded ExportTraceServiceRequest as application/x-protobuf, on at most
// conns keep-alive HTTP/1.1 connections shared by the workers.
type httpSender struct {
	url     string
	tr      *http.Transport
	client  *http.Client
	resp    []bytes.Buffer // per worker
	headers http.Header    // of every request, Content-Type included
	gzip    []gzipBody     // per worker; nil without compression
}

// gzipBody compresses one worker's requests into a buffer it reuses.
type gzipBody struct {
	buf bytes.Buffer
	w   *gzip.Writer
}

func newHTTPSender(o RunOptions) (*httpSender, error) {
	u, err := HTTPTracesURL(o.Endpoint)
	if err != nil {
		return nil, err
	}
	if o.TLS != nil {
		u = strings.Replace(u, "http://", "https://", 1)
	} else if strings.HasPrefix(u, "https://") {
		return nil, fmt.Errorf("otlp/http endpoint %q is https but the run has no TLS configuration", o.Endpoint)
	}
	conns, workers := o.Conns, o.Workers
	headers := http.Header{"Content-Type": {"application/x-protobuf"}}
	for _, h := range o.Headers {
		headers.Add(h.Key, h.Value)
	}
	var gz []gzipBody
	if o.Gzip {
		headers.Set("Content-Encoding", "gzip")
		gz = make([]gzipBody, workers)
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxConnsPerHost:     conns,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     64 << 10,
		TLSClientConfig:     o.TLS,
	}
	return &httpSender{url: u, tr: tr, client: &http.Client{Transport: tr}, resp: make([]bytes.Buffer, workers),
		headers: headers, gzip: gz}, nil
}

// HTTPTracesURL returns the URL OTLP/HTTP trace exports to endpoint go to:
// http://HOST:PORT/v1/traces for host:port, an http:// or https:// URL as
// it is, or with the path /v1/traces when it has none.
func HTTPTracesURL(endpoint string) (string, error) {
	if !strings.Contains(endpoint, "://") {
		if _, _, err := net.SplitHostPort(endpoint); err != nil {
			return "", fmt.Errorf("otlp/http endpoint %q: want host:port or an http:// URL: %w", endpoint, err)
		}
		return "http://" + endpoint + tracesPath, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("otlp/http endpoint: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("otlp/http endpoint %q: want an http:// or https:// URL", endpoint)
	}
	if u.Host == "" {
		return "", fmt.Errorf("otlp/http endpoint %q has no host", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = tracesPath
	}
	return u.String(), nil
}

func (s *httpSender) send(ctx context.Context, w int, req []byte) ([]byte, error) {
	if s.gzip != nil {
		req = s.gzip[w].compress(req)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(req))
	if err != nil {
		return nil, &exportError{err: err}
	}
	hr.Header = s.headers.Clone()
	resp, err := s.client.Do(hr)
	if err != nil {
		// The OTLP specification retries a sink that cannot be reached.
		return nil, &exportError{err: err, retryable: true}
	}
	buf := &s.resp[w]
	buf.Reset()
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxResponseBytes))
	// Drain what is left so that the connection is kept.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, &exportError{err: fmt.Errorf("read export response: %w", err), retryable: true}
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return buf.Bytes(), nil
	}
	he := otlpexport.NewHTTPError(resp, buf.Bytes())
	e := &exportError{err: he, retryable: he.Retryable()}
	if e.retryable {
		e.after = he.RetryAfter()
	}
	return nil, e
}

func (s *httpSender) close() { s.tr.CloseIdleConnections() }

// compress returns req gzipped, in a buffer reused by the next call.
func (g *gzipBody) compress(req []byte) []byte {
	g.buf.Reset()
	if g.w == nil {
		g.w = gzip.NewWriter(&g.buf)
	} else {
		g.w.Reset(&g.buf)
	}
	g.w.Write(req) // writes to a bytes.Buffer do not fail
	g.w.Close()
	return g.buf.Bytes()
}
