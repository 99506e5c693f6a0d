// Package live serves the live page of a run: the topology with every
// edge coloured by what crosses it now, the run's series growing second by
// second with the fault windows shaded, a panel that plants and clears
// faults through the run's fault API, and, at the end, the verdicts.
//
// A View is an http.Handler; Listen serves it on an address of its own.
// The run feeds it a Frame about once a second (Publish) and the verdicts
// once at the end (Reveal); every open page gets them over server-sent
// events:
//
//	GET    /               the page, self-contained
//	GET    /events         event stream: setup, history, then frame per
//	                       Publish, reveal, and a keepalive comment every 15 s
//	*      /faults         the run's fault API (SetFaults); 503 when unset
//	*      /faults/{id}    ditto
//	POST   /api/stop       stop the load (Config.Stop); 404 without one
//	POST   /api/close      a viewer is done: closes Done
//	GET    /report/{file}  the run's report files (ServeReports)
//
// Every error answer is {"error": "message"}. A request that changes
// something from a page of another origin (its Origin header) is refused
// with 403.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Config is what a View shows besides its frames.
type Config struct {
	Title   string  // the page's title: the scenario's name
	SVG     string  // the topology drawing: report.LiveTopologySVG(topology)
	Targets Targets // what a fault can target, for the fault panel's forms
	Stop    func()  // when set, the page offers "Stop load" (POST /api/stop calls it once)
	Demo    bool    // the load runs until stopped: the page says so
}

// Targets is what the topology offers a fault to act on.
type Targets struct {
	Services []Service `json:"services"`
	Edges    []Edge    `json:"edges"`
	Brokers  []string  `json:"brokers"`
}

// Service is a service a fault can act on: its routes and how many
// instances it runs.
type Service struct {
	Name      string   `json:"name"`
	Routes    []string `json:"routes"`
	Instances int      `json:"instances"`
}

// Edge is an edge a fault can act on; Topic is set for an asynchronous
// edge (a message through a broker).
type Edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Topic string `json:"topic,omitempty"`
}

// View serves the live page of one run and streams its frames to every
// open page.
type View struct {
	cfg  Config
	page []byte // the rendered page
	mux  *http.ServeMux

	faults  atomic.Pointer[http.Handler]
	reports atomic.Pointer[string]

	hub hub

	stopOnce  sync.Once
	doneOnce  sync.Once
	done      chan struct{} // closed by POST /api/close
	closeOnce sync.Once
	closing   chan struct{} // closed by Close: every stream ends

	keepalive time.Duration // how often an idle stream gets a comment

	srv    *http.Server
	addr   string
	served chan struct{} // closed when srv stops serving
}

// keepalive is how often an idle event stream gets a comment, so that
// proxies and browsers keep it open.
const keepalive = 15 * time.Second

// New returns the view of a run described by cfg. Its page is rendered
// once, here; a page that cannot be rendered shows the error instead.
func New(cfg Config) *View {
	v := &View{
		cfg:       cfg,
		mux:       http.NewServeMux(),
		done:      make(chan struct{}),
		closing:   make(chan struct{}),
		keepalive: keepalive,
	}
	v.hub.init()
	page, err := renderPage(cfg)
	if err != nil {
		page = []byte(fmt.Sprintf("<!doctype html><title>tracerig</title><p>the live page cannot be rendered: %s", htmlEscape(err.Error())))
	}
	v.page = page
	v.mux.HandleFunc("GET /{$}", v.index)
	v.mux.HandleFunc("GET /events", v.events)
	v.mux.Handle("/faults", sameOrigin(v.forwardFaults))
	v.mux.Handle("/faults/{id}", sameOrigin(v.forwardFaults))
	v.mux.Handle("POST /api/stop", sameOrigin(v.stop))
	v.mux.Handle("POST /api/close", sameOrigin(v.closeDone))
	v.mux.HandleFunc("GET /report/{file...}", v.report)
	return v
}

// ServeHTTP serves one request of the page, its events or its API.
func (v *View) ServeHTTP(w http.ResponseWriter, r *http.Request) { v.mux.ServeHTTP(w, r) }

// Listen listens on addr and serves the view in the background until
// Close, and returns the address it listens on. It is called once.
func (v *View) Listen(addr string) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen for the live page on %s: %w", addr, err)
	}
	v.srv = &http.Server{Handler: v, ReadHeaderTimeout: 5 * time.Second}
	v.addr = lis.Addr().String()
	v.served = make(chan struct{})
	go func() {
		defer close(v.served)
		v.srv.Serve(lis)
	}()
	return v.addr, nil
}

// Addr returns the address Listen listens on, "" before.
func (v *View) Addr() string { return v.addr }

// SetFaults serves the run's fault API from h at /faults and
// /faults/{id}; nil unsets it (after the load), and those routes then
// answer 503.
func (v *View) SetFaults(h http.Handler) {
	if h == nil {
		v.faults.Store(nil)
		return
	}
	v.faults.Store(&h)
}

// ServeReports serves the files of dir (report.html, report.json,
// junit.xml) under /report/ from now on; "" serves none.
func (v *View) ServeReports(dir string) {
	if dir == "" {
		v.reports.Store(nil)
		return
	}
	v.reports.Store(&dir)
}

// Done returns a channel closed when a viewer presses "Close" on the page
// (POST /api/close).
func (v *View) Done() <-chan struct{} { return v.done }

// Close ends every event stream and stops serving, after the requests in
// flight (within ctx).
func (v *View) Close(ctx context.Context) error {
	v.closeOnce.Do(func() { close(v.closing) })
	if v.srv == nil {
		return nil
	}
	err := v.srv.Shutdown(ctx)
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		// Shutdown gave up on connections still busy: close them.
		v.srv.Close()
		<-v.served
		return fmt.Errorf("stop the live page on %s: %w", v.addr, err)
	}
	<-v.served
	return nil
}

func (v *View) index(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; font-src data:")
	w.Write(v.page)
}

func (v *View) forwardFaults(w http.ResponseWriter, r *http.Request) {
	h := v.faults.Load()
	if h == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("the load is over: faults can no longer be planted or cleared"))
		return
	}
	(*h).ServeHTTP(w, r)
}

func (v *View) stop(w http.ResponseWriter, _ *http.Request) {
	if v.cfg.Stop == nil {
		writeError(w, http.StatusNotFound, errors.New("this run cannot be stopped from the page"))
		return
	}
	v.stopOnce.Do(v.cfg.Stop)
	w.WriteHeader(http.StatusNoContent)
}

func (v *View) closeDone(w http.ResponseWriter, _ *http.Request) {
	v.doneOnce.Do(func() { close(v.done) })
	w.WriteHeader(http.StatusNoContent)
}

// sameOrigin refuses (403) a request that changes something when a
// browser sent it from a page of another origin: a site the viewer has
// open must not plant faults or stop the run through the viewer's
// browser. Requests without an Origin (tracerig fault, curl) pass.
func sameOrigin(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o != "" {
				u, err := url.Parse(o)
				if err != nil || u.Host != r.Host {
					writeError(w, http.StatusForbidden, fmt.Errorf("origin %s is not the live page's own (%s)", o, r.Host))
					return
				}
			}
		}
		next(w, r)
	})
}

// writeError answers status with {"error": err}.
func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
