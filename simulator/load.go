package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/tracerig/tracerig/topology"
)

// LoadResult is what one load entry achieved, in vegeta's own metrics.
type LoadResult struct {
	Service string
	Route   string
	// RequestedRate is the rate asked for, per second (the start rate of a
	// ramp); 0 means as fast as the workers go.
	RequestedRate float64
	Metrics       vegeta.Metrics
}

type loadConfig struct {
	results  io.Writer
	progress func(sent uint64)
	timeout  time.Duration
}

// LoadOption configures Drive.
type LoadOption func(*loadConfig)

// WithResults writes every result in vegeta's own encoding to w, so that
// `vegeta report` and `vegeta plot` read them.
func WithResults(w io.Writer) LoadOption { return func(c *loadConfig) { c.results = w } }

// WithProgress calls fn with the number of requests sent so far, after every
// result. fn must be cheap and safe for concurrent use.
func WithProgress(fn func(sent uint64)) LoadOption { return func(c *loadConfig) { c.progress = fn } }

// WithRequestTimeout bounds each load request. Default 30s.
func WithRequestTimeout(d time.Duration) LoadOption { return func(c *loadConfig) { c.timeout = d } }

// Drive sends the loads through the running topology, all at once, and
// returns when every one has finished or ctx is done. Each request carries a
// sequence number from which every decision it causes derives.
func (rt *Runtime) Drive(ctx context.Context, loads []topology.Load, opts ...LoadOption) ([]LoadResult, error) {
	cfg := loadConfig{timeout: 30 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	var (
		seq     atomic.Uint64
		sent    atomic.Uint64
		encMu   sync.Mutex
		encode  vegeta.Encoder
		results = make([]LoadResult, len(loads))
		errs    = make([]error, len(loads))
		wg      sync.WaitGroup
	)
	if cfg.results != nil {
		encode = vegeta.NewEncoder(cfg.results)
	}
	for i, l := range loads {
		if rt.Instances(l.Service) == 0 {
			return nil, fmt.Errorf("drive load on %s %s: service is not running", l.Service, l.Route)
		}
		results[i] = LoadResult{Service: l.Service, Route: l.Route, RequestedRate: l.Rate.PerSecond()}
		wg.Go(func() {
			atk := newAttacker(l, cfg.timeout)
			stop := context.AfterFunc(ctx, func() { atk.Stop() })
			defer stop()
			name := l.Service + " " + l.Route
			for res := range atk.Attack(rt.targeter(l, &seq), pacerFor(l), l.Duration, name) {
				results[i].Metrics.Add(res)
				if encode != nil {
					encMu.Lock()
					if err := encode(res); err != nil && errs[i] == nil {
						errs[i] = fmt.Errorf("write load results: %w", err)
					}
					encMu.Unlock()
				}
				n := sent.Add(1)
				if cfg.progress != nil {
					cfg.progress(n)
				}
			}
			results[i].Metrics.Close()
		})
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

func newAttacker(l topology.Load, timeout time.Duration) *vegeta.Attacker {
	workers := uint64(max(l.Workers, 1))
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(workers),
		vegeta.KeepAlive(true),
		vegeta.Timeout(timeout),
		vegeta.Connections(max(l.Workers, 1) * 2),
		vegeta.Redirects(vegeta.NoFollow),
	}
	if l.Rate.Freq == 0 && !l.Rate.Ramp {
		// Flat out: vegeta needs a bound on workers to not spawn without end.
		opts = append(opts, vegeta.MaxWorkers(workers))
	}
	return vegeta.NewAttacker(opts...)
}

// pacerFor returns the load's pacer, stopping after Requests hits if set.
func pacerFor(l topology.Load) vegeta.Pacer {
	per := l.Rate.Per
	if per == 0 {
		per = time.Second
	}
	var p vegeta.Pacer = vegeta.ConstantPacer{Freq: l.Rate.Freq, Per: per}
	if l.Rate.Ramp && l.Duration > 0 {
		from := float64(l.Rate.Freq) / per.Seconds()
		to := float64(l.Rate.To) / per.Seconds()
		p = vegeta.LinearPacer{
			StartAt: vegeta.Rate{Freq: l.Rate.Freq, Per: per},
			Slope:   (to - from) / l.Duration.Seconds(),
		}
	}
	if l.Requests > 0 {
		return countPacer{Pacer: p, limit: uint64(l.Requests)}
	}
	return p
}

// countPacer stops a pacer after limit hits.
type countPacer struct {
	vegeta.Pacer
	limit uint64
}

func (c countPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= c.limit {
		return 0, true
	}
	return c.Pacer.Pace(elapsed, hits)
}

// targeter aims each request at the entry instances in turn, stamps it with
// the harness header and records the load's side of the hop in the ledger.
func (rt *Runtime) targeter(l topology.Load, seq *atomic.Uint64) vegeta.Targeter {
	method, path, _ := strings.Cut(l.Route, " ")
	ins := rt.services[l.Service]
	urls := make([]string, len(ins))
	for i, in := range ins {
		urls[i] = "http://" + in.addr() + path
	}
	shard := rt.ledger.loads
	from, route := rt.ledger.syms.id(""), rt.ledger.syms.id(l.Route)
	return func(t *vegeta.Target) error {
		n := seq.Add(1)
		hop := requestHop(rt.cfg.seed, n)
		to := ins[n%uint64(len(ins))]
		t.Method = method
		t.URL = urls[to.index]
		t.Header = http.Header{HopHeader: []string{formatHop(hop, n)}}
		shard.addSend(sendRec{
			hop: hop, request: n, sentAt: time.Now().UnixNano(),
			from: from, to: to.svcSym, toInst: uint16(to.index), route: route,
		})
		return nil
	}
}
