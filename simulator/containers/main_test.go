package containers

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	// What cmd/tracerig's main does for testcontainers.
	if os.Getenv(RyukEnv) == "" {
		os.Setenv(RyukEnv, "true")
	}
	os.Exit(m.Run())
}
