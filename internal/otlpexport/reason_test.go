package otlpexport

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("otlpexport: %w", partialSuccess{rejected: 3}), "partial success"},
		{fmt.Errorf("otlpexport: %w", errShutdown), "shut down"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "connection refused"},
		{status.Error(codes.Unauthenticated, "missing bearer token"), "grpc Unauthenticated"},
		{status.Error(codes.PermissionDenied, "no"), "grpc PermissionDenied"},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`),
			"tls: certificate signed by unknown authority"},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`),
			"connection refused"},
		{status.Error(codes.Unavailable, "transport is closing"), "grpc Unavailable"},
		{errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
