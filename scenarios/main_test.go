package scenarios

import (
	"os"
	"testing"

	"go.opentelemetry.io/otel"
	"go.uber.org/goleak"

	"github.com/tracerig/tracerig/simulator/containers"
)

func TestMain(m *testing.M) {
	// Export failures are what several tests plant; the report counts each
	// one, so the SDK's log line per failure would only bury the results.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	// What cmd/tracerig's main does for testcontainers.
	if os.Getenv(containers.RyukEnv) == "" {
		os.Setenv(containers.RyukEnv, "true")
	}
	goleak.VerifyTestMain(m)
}
