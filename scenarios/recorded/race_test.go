//go:build race

package recorded

// raceEnabled: the race detector slows each hop by far more than a floor
// measured on a few routes predicts, so latencies are reported, not held,
// and the round trip runs its smallest scenario only.
const raceEnabled = true
