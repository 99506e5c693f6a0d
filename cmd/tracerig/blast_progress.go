package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tracerig/tracerig/simulator/synthetic"
)

// blastProgressEvery is how often blast and bench print a progress line.
const blastProgressEvery = 5 * time.Second

// blastProgress returns a synthetic.RunOptions.OnSample that prints a plain
// progress line to w at most every blastProgressEvery: the share of d
// (the run's duration) gone, the spans sent and delivered so far, and the
// rate of the last interval. Plain lines, no \r: they read the same on a
// terminal and in a CI log.
func blastProgress(w io.Writer, d time.Duration) func(synthetic.Sample) {
	var (
		mu                    sync.Mutex
		sent, delivered, lost int64
		last                  time.Duration
		builtRecent           int64
		recent                time.Duration
	)
	return func(s synthetic.Sample) {
		mu.Lock()
		defer mu.Unlock()
		sent += s.Built
		delivered += s.Delivered
		lost += s.Failed + s.Rejected
		builtRecent += s.Built
		recent += s.Interval
		if s.At-last < blastProgressEvery {
			return
		}
		last = s.At
		rate := 0.0
		if recent > 0 {
			rate = float64(builtRecent) / recent.Seconds()
		}
		done := 100 * min(1, s.At.Seconds()/d.Seconds())
		fmt.Fprintf(w, "blast %3.0f%%: %d spans sent, %d delivered, %d undelivered, %.0f/s\n", done, sent, delivered, lost, rate)
		builtRecent, recent = 0, 0
	}
}
