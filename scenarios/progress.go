package scenarios

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// progress shows how a run goes while load runs and while the backend
// settles: the share done of the load's duration (or request count),
// requests sent and the current rate; then the spans the backend holds out
// of those exported. On a terminal it redraws one line with a bar, at most
// every 200ms; plain, for logs, it prints a complete line at most every 5s.
type progress struct {
	w        io.Writer
	plain    bool
	every    time.Duration    // the least time between two lines
	now      func() time.Time // time.Now
	total    time.Duration    // longest load duration; 0 when loads count requests
	requests int              // total requests when every load counts them
	start    time.Time
	mu       sync.Mutex
	last     time.Time
	printed  bool // a redrawn line is open
	full     bool // the settling bar reached 100%
	// verified, when set, adds what the run has verified so far to the
	// load's line.
	verified func() string
}

// How often progress redraws its line, and how often it prints a plain
// one.
const (
	redrawEvery = 200 * time.Millisecond
	plainEvery  = 5 * time.Second
	barWidth    = 24
)

func newProgress(w io.Writer, plain bool, loads []topology.Load) *progress {
	p := &progress{w: w, plain: plain, every: redrawEvery, now: time.Now}
	if plain {
		p.every = plainEvery
	}
	p.start = p.now()
	for _, l := range loads {
		p.total = max(p.total, l.Duration)
		p.requests += l.Requests
	}
	return p
}

// update is called after every load result with the requests sent so far.
func (p *progress) update(sent uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start)
	done := -1.0
	switch {
	case p.total > 0:
		done = elapsed.Seconds() / p.total.Seconds()
	case p.requests > 0:
		done = float64(sent) / float64(p.requests)
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(sent) / elapsed.Seconds()
	}
	figures := fmt.Sprintf("%d requests, %.0f/s, %s", sent, rate, elapsed.Truncate(time.Second))
	if p.verified != nil {
		if v := p.verified(); v != "" {
			figures += "; " + v
		}
	}
	p.show("load    ", done, figures)
}

// settling shows the backend catching up with what was exported.
func (p *progress) settling(have, want int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	full := have >= want
	if now.Sub(p.last) < p.every && (!full || p.full) {
		return
	}
	p.last, p.full = now, full
	done := 1.0
	if want > 0 {
		done = float64(have) / float64(want)
	}
	p.show("settling", done, fmt.Sprintf("%d of %d exported spans in the backend", have, want))
}

// show writes a stage's progress: done (0..1, negative when unknown) and
// its figures.
func (p *progress) show(stage string, done float64, figures string) {
	if p.plain {
		stage = strings.TrimSpace(stage)
		if done >= 0 {
			stage += fmt.Sprintf(" %.0f%%", min(done, 1)*100)
		}
		fmt.Fprintf(p.w, "%s: %s\n", stage, figures)
		return
	}
	fmt.Fprintf(p.w, "\r%-90s", stage+" "+bar(done)+" "+figures)
	p.printed = true
}

// done ends the line.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.printed {
		fmt.Fprintln(p.w)
		p.printed = false
	}
}

// bar renders done (0..1) as a bar; a negative done (unknown) as a spinner
// position.
func bar(done float64) string {
	if done < 0 {
		return "[" + strings.Repeat("?", barWidth) + "]"
	}
	n := int(min(done, 1) * barWidth)
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", barWidth-n) + "]" + fmt.Sprintf(" %3.0f%%", min(done, 1)*100)
}
