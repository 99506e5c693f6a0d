package simulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	Name string // the load's route, or its mix of routes
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
		tr, err := rt.targeter(l, &seq)
		if err != nil {
			return nil, err
		}
		results[i] = LoadResult{Name: l.Name(), RequestedRate: l.Rate.PerSecond()}
		wg.Go(func() {
			atk, transport := newAttacker(l, cfg.timeout, rt.ledger.loads)
			defer transport.CloseIdleConnections()
			stop := context.AfterFunc(ctx, func() { atk.Stop() })
			defer stop()
			for res := range atk.Attack(tr, pacerFor(l), l.Duration, l.Name()) {
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

// newAttacker returns a vegeta attacker over a transport of its own, which
// the caller closes when the attack ends so no idle connection outlives it.
// Each request's answer time goes into the ledger's load shard, so a load
// request's time in flight is known like any other hop's.
func newAttacker(l topology.Load, timeout time.Duration, answers *shard) (*vegeta.Attacker, *http.Transport) {
	workers := uint64(max(l.Workers, 1))
	// vegeta's KeepAlive and Connections options set these on an
	// *http.Transport client; the client here wraps the transport, so
	// they are set directly.
	tr := &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: max(l.Workers, 1) * 2,
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Client(&http.Client{Transport: answering{next: tr, shard: answers}}),
		vegeta.Workers(workers),
		vegeta.Timeout(timeout),
		vegeta.Redirects(vegeta.NoFollow),
	}
	if l.Rate.Freq == 0 && !l.Rate.Ramp {
		// Flat out: vegeta needs a bound on workers to not spawn without end.
		opts = append(opts, vegeta.MaxWorkers(workers))
	}
	return vegeta.NewAttacker(opts...), tr
}

// answering records in the ledger when each load request got its answer
// (its response's headers) or failed.
type answering struct {
	next  http.RoundTripper
	shard *shard
}

func (a answering) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if hop, _, ok := parseHop(r.Header.Get(HopHeader)); ok {
		a.shard.addAnswer(hop, time.Now().UnixNano(), 0)
	}
	return resp, err
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

// entry is one target of a load, resolved against the running instances.
type entry struct {
	method string
	urls   []string // per instance
	ins    []*peer
	route  uint32
	cum    float64 // cumulative share, up to 1
}

// targeter aims each request at an entry route (picked by weight from the
// request's sequence number) and at its instances in turn, stamps it with the
// harness header (and, to an external entry, the trace context that starts
// the request's trace; see startExternal) and records the load's side of
// the hop in the ledger.
func (rt *Runtime) targeter(l topology.Load, seq *atomic.Uint64) (vegeta.Targeter, error) {
	entries, err := rt.entries(l)
	if err != nil {
		return nil, err
	}
	shard := rt.ledger.loads
	from := rt.ledger.syms.id("")
	return func(t *vegeta.Target) error {
		n := seq.Add(1)
		hop := requestHop(rt.cfg.seed, n)
		e := pick(entries, hop)
		to := e.ins[n%uint64(len(e.ins))]
		t.Method = e.method
		t.URL = e.urls[to.index]
		t.Header = http.Header{HopHeader: []string{formatHop(hop, n)}}
		rec := sendRec{
			hop: hop, request: n,
			from: from, to: to.svcSym, toInst: uint16(to.index), route: e.route,
		}
		if to.local == nil && to.svc.IsExternal() {
			rt.startExternal(t.Header, &rec)
		}
		rec.sentAt = time.Now().UnixNano()
		shard.addSend(rec)
		return nil
	}, nil
}

func (rt *Runtime) entries(l topology.Load) ([]entry, error) {
	var total float64
	for _, t := range l.Targets {
		total += t.Weight
	}
	if len(l.Targets) == 0 || total <= 0 {
		return nil, fmt.Errorf("drive load %q: no route with a positive weight", l.Name())
	}
	out := make([]entry, len(l.Targets))
	var cum float64
	for i, t := range l.Targets {
		ins := rt.peers[t.Service]
		if len(ins) == 0 {
			return nil, fmt.Errorf("drive load on %s: service is not running", t)
		}
		method, path, _ := strings.Cut(t.Route, " ")
		cum += t.Weight / total
		out[i] = entry{method: method, ins: ins, route: rt.ledger.syms.id(t.Route), cum: cum}
		for _, in := range ins {
			out[i].urls = append(out[i].urls, "http://"+in.addr()+path)
		}
	}
	out[len(out)-1].cum = 1
	return out, nil
}

// pick chooses an entry by weight, as a pure function of the hop ID.
func pick(entries []entry, hop uint64) *entry {
	u := float64(mix(hop, 0xe7)>>11) / (1 << 53)
	for i := range entries {
		if u < entries[i].cum {
			return &entries[i]
		}
	}
	return &entries[len(entries)-1]
}
