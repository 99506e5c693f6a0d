package main

import (
	"fmt"
	"strconv"

	"github.com/tracerig/tracerig/topology"
)

// spanRate is the --rate of blast and bench, in spans per second: written
// as run's --rate is (N/s, N/100ms, N/1m), or as a bare number of spans
// per second.
type spanRate float64

// String returns the rate in spans per second.
func (r *spanRate) String() string { return strconv.FormatFloat(float64(*r), 'g', -1, 64) }

// Set parses s.
func (r *spanRate) Set(s string) error {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		*r = spanRate(v)
		return nil
	}
	rt, err := topology.ParseRate(s)
	if err != nil {
		return fmt.Errorf("want spans per second as N/s (e.g. 50000/s, 3000/100ms) or a bare number, got %q", s)
	}
	*r = spanRate(rt.PerSecond())
	return nil
}

// Type names the value in errors.
func (r *spanRate) Type() string { return "rate" }
