package synthetic

import "time"

// pollsPerSample is how often the sampler looks at the queue and the
// workers within one sample interval.
const pollsPerSample = 100

// gauges accumulate polls of the queue and the workers.
type gauges struct {
	polls     int
	fullPolls int // polls that found a builder waiting for room in the queue
	queuedSum int64
	busySum   int64
}

func (g *gauges) add(queued, busy int64, full bool) {
	g.polls++
	if full {
		g.fullPolls++
	}
	g.queuedSum += queued
	g.busySum += busy
}

func (g gauges) queued() float64 { return ratio(float64(g.queuedSum), g.polls) }
func (g gauges) full() float64   { return ratio(float64(g.fullPolls), g.polls) }
func (g gauges) busy() float64   { return ratio(float64(g.busySum), g.polls) }

func ratio(x float64, n int) float64 {
	if n == 0 {
		return 0
	}
	return x / float64(n)
}

// totals is a snapshot of the counters a Sample differences.
type totals struct {
	sent, delivered, failed, rejected, requests, retries, attempts, latency int64
}

// sampler cuts a run into Samples.
type sampler struct {
	r       *run
	last    time.Time
	prev    totals
	cur     gauges // since last
	all     gauges // the whole run
	samples []Sample
}

func newSampler(r *run) *sampler { return &sampler{r: r, last: r.start} }

func (s *sampler) snapshot() totals {
	c := &s.r.c
	return totals{
		sent: c.sent.Load(), delivered: c.delivered.Load(), failed: c.failed.Load(), rejected: c.rejected.Load(),
		requests: c.requests.Load(), retries: c.retries.Load(), attempts: c.attempts.Load(), latency: c.latency.Load(),
	}
}

// loop polls and cuts samples until done is closed.
func (s *sampler) loop(done <-chan struct{}) {
	every := s.r.o.SampleEvery
	poll := time.NewTicker(max(every/pollsPerSample, time.Millisecond))
	defer poll.Stop()
	cut := time.NewTicker(every)
	defer cut.Stop()
	for {
		select {
		case <-done:
			return
		case <-poll.C:
			s.observe()
		case now := <-cut.C:
			s.cut(now)
		}
	}
}

// observe polls the queue and the workers once.
func (s *sampler) observe() {
	q, busy := int64(len(s.r.queue)), s.r.c.busy.Load()
	full := s.r.c.blocked.Load() > 0
	s.cur.add(q, busy, full)
	s.all.add(q, busy, full)
}

// cut ends the current sample at now.
func (s *sampler) cut(now time.Time) {
	if !now.After(s.last) {
		return
	}
	t := s.snapshot()
	p := s.prev
	smp := Sample{
		At: now.Sub(s.r.start), Interval: now.Sub(s.last),
		Built: t.sent - p.sent, Delivered: t.delivered - p.delivered, Failed: t.failed - p.failed,
		Rejected: t.rejected - p.rejected, Requests: t.requests - p.requests, Retries: t.retries - p.retries,
		Queued: s.cur.queued(), QueueFull: s.cur.full(), Busy: s.cur.busy(),
		ExportLatency: meanLatency(t.latency-p.latency, t.attempts-p.attempts),
	}
	s.samples = append(s.samples, smp)
	if f := s.r.o.OnSample; f != nil {
		f(smp)
	}
	s.last, s.prev, s.cur = now, t, gauges{}
}

func meanLatency(total, n int64) time.Duration {
	if n == 0 {
		return 0
	}
	return time.Duration(total / n)
}
