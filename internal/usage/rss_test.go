package usage

import (
	"runtime"
	"testing"
)

func TestRSSGrowsWithTouchedMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read on Linux only")
	}
	before := RSS()
	if before <= 0 {
		t.Fatalf("RSS = %d", before)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		if i%4096 == 0 {
			buf[i] = 1
		}
	}
	after := RSS()
	runtime.KeepAlive(buf)
	if after-before < 32<<20 {
		t.Errorf("RSS grew by %d bytes after touching 64 MiB", after-before)
	}
}
