package scenarios

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// progress draws one self-overwriting line while load runs and while the
// backend settles, at most every 200ms: a bar over the load's duration (or
// request count), requests sent and the current rate; then the spans the
// backend holds out of those exported.
type progress struct {
	w        io.Writer
	total    time.Duration // longest load duration; 0 when loads count requests
	requests int           // total requests when every load counts them
	start    time.Time
	mu       sync.Mutex
	last     time.Time
	printed  bool
	full     bool // the settling bar reached 100%
	plain    bool // a line every plainEvery, no \r
}

// plainEvery is how often a plain progress line is printed.
const plainEvery = 5 * time.Second

// every is the least time between two lines.
func (p *progress) every() time.Duration {
	if p.plain {
		return plainEvery
	}
	return 200 * time.Millisecond
}

const barWidth = 24

func newProgress(w io.Writer, loads []topology.Load) *progress {
	p := &progress{w: w, start: time.Now()}
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
	now := time.Now()
	if now.Sub(p.last) < p.every() {
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
	p.draw(fmt.Sprintf("load     %s %d requests, %.0f/s, %s", bar(done), sent, float64(sent)/elapsed.Seconds(), elapsed.Truncate(time.Second)))
}

// settling shows the backend catching up with what was exported.
func (p *progress) settling(have, want int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	full := have >= want
	if now.Sub(p.last) < p.every() && (!full || p.full) {
		return
	}
	p.last, p.full = now, full
	done := 1.0
	if want > 0 {
		done = float64(have) / float64(want)
	}
	p.draw(fmt.Sprintf("settling %s %d of %d exported spans in the backend", bar(done), have, want))
}

func (p *progress) draw(line string) {
	if p.plain {
		fmt.Fprintln(p.w, line)
		return
	}
	fmt.Fprintf(p.w, "\r%-90s", line)
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
