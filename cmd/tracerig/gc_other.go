//go:build !linux

package main

// totalMemory is not known here: the collector keeps Go's defaults.
func totalMemory() int64 { return 0 }
