//go:build !linux

package usage

// RSS returns 0: the current resident set size is read on Linux only.
func RSS() int64 { return 0 }
