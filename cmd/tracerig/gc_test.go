package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	t.Run("user setting wins", func(t *testing.T) {
		for _, env := range []string{"GOGC", "GOMEMLIMIT"} {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			t.Setenv(env, "200")
			restore, setting := tuneGC()
			if setting != "" {
				t.Errorf("%s set: tuneGC set %q", env, setting)
			}
			restore()
		}
	})
	t.Run("run settings and restore", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("the machine's memory is read on Linux only")
		}
		t.Setenv("GOGC", "")
		t.Setenv("GOMEMLIMIT", "")
		before := debug.SetGCPercent(-1)
		debug.SetGCPercent(before)
		limitBefore := debug.SetMemoryLimit(-1)
		restore, setting := tuneGC()
		if setting == "" {
			t.Fatal("nothing set")
		}
		if got := debug.SetGCPercent(runGCPercent); got != runGCPercent {
			t.Errorf("GC percent during the run %d, want %d", got, runGCPercent)
		}
		if limit := debug.SetMemoryLimit(-1); limit <= 0 || limit == math.MaxInt64 || limit > totalMemory() {
			t.Errorf("memory limit %d, machine %d", limit, totalMemory())
		}
		restore()
		if got := debug.SetGCPercent(before); got != before {
			t.Errorf("GC percent after restore %d, want %d", got, before)
		}
		if limit := debug.SetMemoryLimit(-1); limit != limitBefore {
			t.Errorf("memory limit after restore %d, want %d", limit, limitBefore)
		}
	})
}
