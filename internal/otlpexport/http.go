package otlpexport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/mem"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

// The HTTP transport's connection pool: exporters of many simulated
// services share one Client, so many requests are in flight to one host.
const (
	maxIdleConns        = 256
	maxIdleConnsPerHost = 128
	idleConnTimeout     = 90 * time.Second
	// maxResponseSize bounds what is read of a response body; the rest
	// is discarded so that the connection can be reused.
	maxResponseSize = 64 << 10
	maxDiscardSize  = 256 << 10
)

// Header values of OTLP/HTTP requests.
const (
	contentTypeProtobuf = "application/x-protobuf"
	userAgent           = "tracerig-otlpexport"
)

// httpTransport posts export requests to an OTLP/HTTP endpoint.
type httpTransport struct {
	client    *http.Client
	url       *url.URL
	header    http.Header // read only: shared by every request
	gzip      bool
	closed    atomic.Bool
	transport *http.Transport
}

// newHTTPTransport returns the transport cfg describes. cfg.Insecure
// decides between http and https, whatever the endpoint's scheme, as
// otlptracehttp.WithInsecure does.
func newHTTPTransport(cfg otlpconf.Config, cc clientConfig) (*httpTransport, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("endpoint is not a URL: %w", err)
	}
	if u.Host == "" {
		return nil, errors.New("endpoint URL has no host")
	}
	u.Scheme = "https"
	var tc *tls.Config
	if cfg.Insecure {
		u.Scheme = "http"
	} else if tc, err = cfg.ClientConfig(u.Hostname()); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     tc,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        maxIdleConns,
		MaxIdleConnsPerHost: maxIdleConnsPerHost,
		IdleConnTimeout:     idleConnTimeout,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	if cc.dialAddr != "" {
		addr := cc.dialAddr
		tr.Proxy = nil
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}
	}
	h := http.Header{}
	for _, kv := range cfg.Headers {
		h.Add(kv.Key, kv.Value)
	}
	h.Set("Content-Type", contentTypeProtobuf)
	h.Set("User-Agent", userAgent)
	t := &httpTransport{
		client:    &http.Client{Transport: tr},
		url:       u,
		header:    h,
		gzip:      cfg.Compression == "gzip",
		transport: tr,
	}
	if t.gzip {
		h.Set("Content-Encoding", "gzip")
	}
	return t, nil
}

func (t *httpTransport) close() {
	t.closed.Store(true)
	t.transport.CloseIdleConnections()
}

// post sends the request in buf, which it does not free, and decodes
// the response into resp.
func (t *httpTransport) post(ctx context.Context, buf mem.Buffer, resp *response) error {
	if t.closed.Load() {
		return errClosed
	}
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           t.url,
		Host:          t.url.Host,
		Header:        t.header,
		Body:          newBody(buf),
		ContentLength: int64(buf.Len()),
		GetBody:       func() (io.ReadCloser, error) { return newBody(buf), nil },
	}).WithContext(ctx)
	r, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDiscardSize))
		_ = r.Body.Close()
	}()
	bp := responseBuffers.Get().(*[]byte)
	defer responseBuffers.Put(bp)
	b, err := readAtMost(r.Body, (*bp)[:0], maxResponseSize)
	*bp = b
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if r.StatusCode >= 200 && r.StatusCode <= 299 {
		resp.rejectedSpans, resp.errorMessage = 0, ""
		if r.Header.Get("Content-Type") != contentTypeProtobuf || len(b) == 0 {
			return nil
		}
		if err := resp.decode(b); err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
		return nil
	}
	return NewHTTPError(r, b)
}

// responseBuffers recycles the buffers responses are read into.
var responseBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, 512)
	return &b
}}

// readAtMost appends what r holds to b, up to limit bytes.
func readAtMost(r io.Reader, b []byte, limit int) ([]byte, error) {
	for len(b) < limit {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// body is a request body reading a reference to a buffer, which Close
// releases. The transport may close it on another goroutine than the
// one reading it, even after the request has ended.
type body struct {
	mu     sync.Mutex
	buf    mem.Buffer
	off    int
	closed bool
}

func newBody(buf mem.Buffer) *body {
	buf.Ref()
	return &body{buf: buf}
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	data := b.buf.ReadOnlyData()
	if b.off >= len(data) {
		return 0, io.EOF
	}
	n := copy(p, data[b.off:])
	b.off += n
	return n, nil
}

func (b *body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.buf.Free()
	}
	return nil
}

// retryAfter is the delay a Retry-After header value asks for at now, in
// seconds or as an HTTP date; 0 when it is absent or unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.ParseUint(h, 10, 32); err == nil {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
