package simulator

import (
	"testing"

	"go.opentelemetry.io/otel"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Export failures are what some tests plant; the SDK's log line per
	// failure would only bury the results.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))
	goleak.VerifyTestMain(m)
}
