package otlpexport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
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
		{fmt.Errorf("otlpexport: %w", &HTTPError{StatusCode: 401, Message: "missing token"}), "http 401"},
		{fmt.Errorf("otlpexport: max retry time elapsed: %w", &HTTPError{StatusCode: 503}), "http 503"},
		{fmt.Errorf("otlpexport: %w", &HTTPError{StatusCode: 400, Message: "tls: looks like an error"}), "http 400"},
		{&url.Error{Op: "Post", URL: "https://otlp.example/v1/traces", Err: errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority")},
			"tls: certificate signed by unknown authority"},
		{&url.Error{Op: "Post", URL: "https://otlp.example/v1/traces", Err: errors.New("http: server gave HTTP response to HTTPS client")},
			"tls: endpoint is plaintext"},
		{&url.Error{Op: "Post", URL: "https://otlp.example/v1/traces", Err: errors.New("remote error: tls: certificate required")},
			"tls: client certificate required"},
		{&url.Error{Op: "Post", URL: "http://127.0.0.1:1/v1/traces", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}},
			"connection refused"},
		{fmt.Errorf("otlpexport: %w", errClosed), "client closed"},
		{errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestHint(t *testing.T) {
	tests := []struct {
		err  error
		want string // in the hint; "" for none
	}{
		{status.Error(codes.Unauthenticated, "missing token"), "OTEL_EXPORTER_OTLP_HEADERS"},
		{&HTTPError{StatusCode: 401, Message: "bad token"}, "backend.headers"},
		{status.Error(codes.Unavailable, "x509: certificate signed by unknown authority"), "OTEL_EXPORTER_OTLP_CERTIFICATE"},
		{status.Error(codes.Unavailable, "remote error: tls: certificate required"), "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"},
		{&HTTPError{StatusCode: 404}, "/v1/traces"},
		{errors.New("something else"), ""},
	}
	for _, tt := range tests {
		got := Hint(tt.err)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("Hint(%v) = %q, want one with %q", tt.err, got, tt.want)
		}
	}
}
