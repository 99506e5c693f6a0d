package w3c

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Options bound what a Participant does. The zero value of a field means
// its default.
type Options struct {
	// AllowRemote permits outgoing calls to addresses that are not
	// loopback. Without it a URL whose host is not a loopback IP or
	// "localhost" is refused with 400, and the dialer refuses any
	// connection to a non-loopback address.
	AllowRemote bool
	// MaxCalls is the most elements one /test request may hold (default 64).
	MaxCalls int
	// MaxInFlight is the most /test requests served at once, nested calls
	// back into /test included; beyond it /test answers 503 (default 32).
	MaxInFlight int
	// CallTimeout bounds each outgoing call (default 5s).
	CallTimeout time.Duration
	// RequestTimeout bounds one /test request, its calls included
	// (default 30s).
	RequestTimeout time.Duration
	// MaxBody bounds the /test request body (default 1 MiB).
	MaxBody int64
	// Logf, when set, receives a line per /test request.
	Logf func(format string, args ...any)
}

// Participant is the W3C Trace Context test-harness participant: an
// http.Handler serving POST /test.
type Participant struct {
	opts     Options
	client   *http.Client
	inFlight chan struct{}
}

// NewParticipant returns a participant with opts.
func NewParticipant(opts Options) *Participant {
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = 64
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 32
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 5 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 1 << 20
	}
	dialer := &net.Dialer{Timeout: opts.CallTimeout}
	if !opts.AllowRemote {
		dialer.Control = loopbackOnly
	}
	transport := &http.Transport{
		Proxy:               nil, // never through a proxy: the URL's own host only
		DialContext:         dialer.DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Participant{
		opts: opts,
		client: &http.Client{
			Transport: transport,
			Timeout:   opts.CallTimeout,
			// A redirect would be a call the harness did not ask for.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		inFlight: make(chan struct{}, opts.MaxInFlight),
	}
}

// Close releases the idle connections of the outgoing client.
func (p *Participant) Close() { p.client.CloseIdleConnections() }

// Call is one element of a /test request body.
type Call struct {
	URL       string          `json:"url"`
	Arguments json.RawMessage `json:"arguments"`
}

// Result is what became of one Call, in the /test response.
type Result struct {
	URL         string `json:"url"`
	Traceparent string `json:"traceparent,omitempty"`
	Tracestate  string `json:"tracestate,omitempty"`
	Status      int    `json:"status,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Response is the /test response body.
type Response struct {
	// Continued is true when the incoming traceparent was valid.
	Continued bool   `json:"continued"`
	TraceID   string `json:"trace_id"`
	// Rejected says why an incoming traceparent or tracestate was
	// discarded.
	Rejected []string `json:"rejected,omitempty"`
	Results  []Result `json:"results"`
}

// ServeHTTP serves POST /test.
func (p *Participant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/test" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	select {
	case p.inFlight <- struct{}{}:
		defer func() { <-p.inFlight }()
	default:
		http.Error(w, "too many /test requests in flight", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, p.opts.MaxBody))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	calls, err := p.parseCalls(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	in := Extract(r.Header)
	tc := Continue(in)
	resp := Response{Continued: tc.Continued, TraceID: fmt.Sprintf("%x", tc.TraceID[:]), Results: []Result{}}
	for _, e := range []error{in.ParentErr, in.StateErr} {
		if e != nil {
			resp.Rejected = append(resp.Rejected, e.Error())
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), p.opts.RequestTimeout)
	defer cancel()
	status := http.StatusOK
	for _, c := range calls {
		res := p.call(ctx, tc, c)
		if res.Error != "" {
			status = http.StatusBadGateway
		}
		resp.Results = append(resp.Results, res)
	}
	if p.opts.Logf != nil {
		p.opts.Logf("/test: %d calls, trace %s continued=%v rejected=%q", len(calls), resp.TraceID, resp.Continued, resp.Rejected)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(resp)
}

// parseCalls decodes and checks a /test body before anything is sent.
func (p *Participant) parseCalls(body []byte) ([]Call, error) {
	var calls []Call
	if err := json.Unmarshal(body, &calls); err != nil {
		return nil, fmt.Errorf("body is not a JSON array of {\"url\", \"arguments\"}: %v", err)
	}
	if len(calls) > p.opts.MaxCalls {
		return nil, fmt.Errorf("%d calls, at most %d", len(calls), p.opts.MaxCalls)
	}
	for i, c := range calls {
		if err := p.checkURL(c.URL); err != nil {
			return nil, fmt.Errorf("element %d: %v", i, err)
		}
		if a := bytes.TrimSpace(c.Arguments); len(a) > 0 && a[0] != '[' && string(a) != "null" {
			return nil, fmt.Errorf("element %d: arguments is not a JSON array", i)
		}
	}
	return calls, nil
}

// checkURL refuses what this participant will not call.
func (p *Participant) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("url %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("url %q: scheme must be http or https", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("url %q: no host", raw)
	}
	if p.opts.AllowRemote || strings.EqualFold(host, "localhost") {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("url %q: host is not loopback (--allow-remote permits others)", raw)
	}
	return nil
}

// call sends one Call with the trace context of tc.
func (p *Participant) call(ctx context.Context, tc Context, c Call) Result {
	res := Result{URL: c.URL}
	args := bytes.TrimSpace(c.Arguments)
	if len(args) == 0 || string(args) == "null" {
		args = []byte("[]")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(args))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header = http.Header{}
	req.Header.Set("Content-Type", "application/json")
	tp := tc.Inject(req.Header)
	res.Traceparent = tp.String()
	res.Tracestate = req.Header.Get(TracestateHeader)
	resp, err := p.client.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, p.opts.MaxBody))
	resp.Body.Close()
	res.Status = resp.StatusCode
	return res
}

var errNotLoopback = errors.New("refusing a non-loopback address (--allow-remote permits it)")

// loopbackOnly is a dialer Control refusing any address that is not
// loopback, whatever name resolved to it.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("dial %s: %w", address, errNotLoopback)
	}
	return nil
}
