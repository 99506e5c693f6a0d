package scenarios

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// progress prints one self-overwriting line while load runs, at most every
// 200ms: requests sent, elapsed and current rate.
type progress struct {
	w       io.Writer
	total   time.Duration
	start   time.Time
	mu      sync.Mutex
	last    time.Time
	printed bool
}

func newProgress(w io.Writer, loads []topology.Load) *progress {
	var total time.Duration
	for _, l := range loads {
		total = max(total, l.Duration)
	}
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) update(sent uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	of := ""
	if p.total > 0 {
		of = fmt.Sprintf("/%s", p.total)
	}
	fmt.Fprintf(p.w, "\rload: %d requests, %s%s, %.0f/s   ", sent, elapsed.Truncate(time.Second), of, float64(sent)/elapsed.Seconds())
	p.printed = true
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		fmt.Fprintln(p.w)
	}
}
