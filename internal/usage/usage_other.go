//go:build !unix

package main

import (
	"os"
	"time"
)

// processUsage is not measured here: no getrusage.
func processUsage() (time.Duration, int64) { return 0, 0 }

func childUsage(ps *os.ProcessState) (time.Duration, int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}
