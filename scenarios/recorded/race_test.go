//go:build race

package recorded

// raceEnabled: the race detector slows each hop by far more than a floor
// measured on a few routes predicts, so latencies are reported, not held.
const raceEnabled = true
