package scenarios

import (
	"sync"
	"time"

	"github.com/tracerig/tracerig/internal/usage"
	"github.com/tracerig/tracerig/report"
)

// memoryEvery is how often a run samples its resident memory.
const memoryEvery = time.Second

// memory samples the process's resident memory every memoryEvery, from its
// start until stop: a long run's report shows what its memory did, checks
// included.
type memory struct {
	spans   func() int64 // spans ended so far
	mu      sync.Mutex
	samples []sampledRSS
	done    chan struct{}
	wg      sync.WaitGroup
}

type sampledRSS struct {
	at         time.Time
	rss, spans int64
}

// startMemory takes a first sample and starts sampling; spans says how many
// spans have ended so far.
func startMemory(spans func() int64) *memory {
	m := &memory{spans: spans, done: make(chan struct{})}
	m.sample()
	m.wg.Go(func() {
		t := time.NewTicker(memoryEvery)
		defer t.Stop()
		for {
			select {
			case <-m.done:
				return
			case <-t.C:
				m.sample()
			}
		}
	})
	return m
}

func (m *memory) sample() {
	rss := usage.RSS()
	if rss <= 0 {
		return
	}
	m.mu.Lock()
	m.samples = append(m.samples, sampledRSS{time.Now(), rss, m.spans()})
	m.mu.Unlock()
}

// stop takes a last sample, stops sampling and returns the samples as times
// since from (load start); samples before it are left out.
func (m *memory) stop(from time.Time) []report.MemSample {
	close(m.done)
	m.wg.Wait()
	m.sample()
	var out []report.MemSample
	for _, s := range m.samples {
		if d := s.at.Sub(from); d >= 0 {
			out = append(out, report.MemSample{At: d, RSS: s.rss, Spans: s.spans})
		}
	}
	return out
}
