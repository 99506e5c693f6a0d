package synthetic

import (
	"context"
	"time"

	"github.com/tracerig/tracerig/internal/usage"
)

// Measurement is one run of a Generator with what it cost the process
// that ran it.
type Measurement struct {
	Stats   Stats
	Started time.Time
	CPU     time.Duration // user+sys of this process during the run
	PeakRSS int64         // bytes, peak of this process
}

// Measure runs g as Run does and measures this process's CPU time over the
// run and its peak RSS.
func (g *Generator) Measure(ctx context.Context, o RunOptions) (Measurement, error) {
	started := time.Now()
	cpu0, _ := usage.Self()
	st, err := g.Run(ctx, o)
	if err != nil {
		return Measurement{}, err
	}
	cpu1, rss := usage.Self()
	return Measurement{Stats: st, Started: started, CPU: cpu1 - cpu0, PeakRSS: rss}, nil
}
