//go:build !unix

package usage

import (
	"os"
	"time"
)

// Self is not measured here: no getrusage.
func Self() (time.Duration, int64) { return 0, 0 }

// Child returns the CPU time of an exited child; its peak RSS is not known here.
func Child(ps *os.ProcessState) (time.Duration, int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}
