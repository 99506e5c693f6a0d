// Package hopfloor measures the floor under a real-hop run: what a bare
// HTTP/1.1 hop between two net/http servers on loopback costs this machine,
// with no instrumentation, no ledger and no export in the process.
//
// CPU-seconds per span depend on the machine (the same binary costs twice as
// much on one host as on another), so `tracerig bench --hops` measures this
// floor in the same invocation as the run and reports the run's cost as a
// multiple of it, a figure that carries from one machine to another.
package hopfloor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	rusage "github.com/tracerig/tracerig/internal/usage"
)

// HopsPerRequest is the hops one request through a Chain makes: the
// client's request to the front server, and the front server's call to
// the back one.
const HopsPerRequest = 2

// Chain is two bare net/http servers on 127.0.0.1: a GET to URL reaches
// the front server, which calls the back server with a GET of its own and
// answers 200 when the back server did. Keep-alive connections throughout,
// as in the in-process runtime.
type Chain struct {
	// URL is the front server's route.
	URL string

	front, back *http.Server
	inner       *http.Client
	wg          sync.WaitGroup
}

// Start starts a Chain. Close stops it.
func Start() (*Chain, error) {
	c := &Chain{inner: newClient()}
	backAddr, err := c.serve(&c.back, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		return nil, err
	}
	backURL := "http://" + backAddr + "/b"
	frontAddr, err := c.serve(&c.front, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, backURL, nil)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		resp, err := c.inner.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	if err != nil {
		c.Close()
		return nil, err
	}
	c.URL = "http://" + frontAddr + "/a"
	return c, nil
}

func (c *Chain) serve(dst **http.Server, h http.Handler) (string, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("hopfloor: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	*dst = srv
	c.wg.Go(func() { srv.Serve(lis) })
	return lis.Addr().String(), nil
}

// Close stops both servers and closes the front server's idle connections.
func (c *Chain) Close() {
	for _, srv := range []*http.Server{c.front, c.back} {
		if srv != nil {
			srv.Close()
		}
	}
	c.wg.Wait()
	c.inner.CloseIdleConnections()
}

// newClient is a keep-alive client with room for every worker's connection.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true},
		Timeout:   10 * time.Second,
	}
}

// Result is one measurement of the floor.
type Result struct {
	Requests int64         // requests answered 200
	Hops     int64         // Requests * HopsPerRequest
	CPU      time.Duration // this process's CPU (user+sys) over the measurement
	Wall     time.Duration
}

// Add returns the two measurements as one.
func (r Result) Add(o Result) Result {
	return Result{Requests: r.Requests + o.Requests, Hops: r.Hops + o.Hops, CPU: r.CPU + o.CPU, Wall: r.Wall + o.Wall}
}

// PerHop is the CPU one hop cost; zero when nothing was measured.
func (r Result) PerHop() time.Duration {
	if r.Hops == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Hops)
}

// Measure runs a Chain for d with workers clients sending requests back to
// back, and returns this process's CPU per hop. Anything else running in
// the process is counted too: measure when it is otherwise idle. A request
// that fails ends the measurement with its error.
func Measure(ctx context.Context, d time.Duration, workers int) (Result, error) {
	if workers < 1 {
		workers = 1
	}
	c, err := Start()
	if err != nil {
		return Result{}, err
	}
	defer c.Close()
	client := newClient()
	defer client.CloseIdleConnections()

	var (
		ok       atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	// The clocks start before the deadline is set: the wall measured is
	// never shorter than d.
	cpu0, _ := rusage.Self()
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := get(ctx, client, c.URL); err != nil {
					if ctx.Err() == nil {
						errOnce.Do(func() { firstErr = err; cancel() })
					}
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	cpu1, _ := rusage.Self()
	r := Result{Requests: ok.Load(), CPU: cpu1 - cpu0, Wall: time.Since(start)}
	r.Hops = r.Requests * HopsPerRequest
	if firstErr != nil {
		return r, fmt.Errorf("hopfloor: %w", firstErr)
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return r, fmt.Errorf("hopfloor: %w", err)
	}
	return r, nil
}

func get(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}
