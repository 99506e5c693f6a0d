package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where a Server serves the metrics.
const Path = "/metrics"

// Server serves a run's metrics on Path, from a registry of its own (the
// given collectors, and the Go runtime's and the process's), and any other
// path from the handler mounted on it, if any.
type Server struct {
	srv     *http.Server
	addr    string
	done    chan struct{} // closed when srv stops serving
	mounted atomic.Pointer[http.Handler]
}

// Handler returns the handler of Path over a registry of cs, the Go
// runtime's and the process's collectors.
func Handler(cs ...prometheus.Collector) (http.Handler, error) {
	reg := prometheus.NewRegistry()
	all := append([]prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}, cs...)
	for _, c := range all {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}), nil
}

// Listen listens on addr and serves the metrics of cs in the background
// until Close.
func Listen(addr string, cs ...prometheus.Collector) (*Server, error) {
	h, err := Handler(cs...)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for metrics on %s: %w", addr, err)
	}
	s := &Server{addr: lis.Addr().String(), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, h)
	mux.HandleFunc("/", s.other)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		defer close(s.done)
		s.srv.Serve(lis)
	}()
	return s, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.addr }

// Mount serves every path but Path from h, until Mount(nil): how the
// control API shares the metrics' address while load runs.
func (s *Server) Mount(h http.Handler) {
	if h == nil {
		s.mounted.Store(nil)
		return
	}
	s.mounted.Store(&h)
}

// other serves a path other than Path: the mounted handler's, or not
// found.
func (s *Server) other(w http.ResponseWriter, r *http.Request) {
	if h := s.mounted.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	http.NotFound(w, r)
}

// Close stops serving, after the scrapes in flight (within ctx).
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("stop the metrics server on %s: %w", s.addr, err)
	}
	return nil
}
