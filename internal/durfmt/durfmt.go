// Package durfmt rounds durations to the precision tracerig's reports and
// verdicts print them at, so that every figure of one run reads alike.
package durfmt

import "time"

// Round rounds d for printing: to 10ms from a second up, to 10µs from a
// millisecond up, and not at all below.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d
}

// Latency rounds the latency of a request for printing: to the
// millisecond from 100ms up, to 10µs from 100µs up, else to the
// microsecond.
func Latency(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= 100*time.Microsecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// Human rounds d to three significant digits, as people read a duration:
// 99.835988ms is 99.8ms, 1.234567s is 1.23s, 204.25173ms is 204ms. A
// duration below a microsecond is kept as it is.
func Human(d time.Duration) time.Duration {
	abs := d
	if abs < 0 {
		abs = -abs
	}
	unit := time.Duration(1)
	for abs >= 1000*unit && unit < time.Duration(1e17) {
		unit *= 10
	}
	return d.Round(unit)
}
