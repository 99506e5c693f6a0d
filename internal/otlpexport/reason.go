package otlpexport

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall"

	"google.golang.org/grpc/status"
)

// Reason classifies an export's failure into a short, stable phrase a
// report counts failures by: "grpc Unauthenticated", "tls: certificate
// signed by unknown authority", "http 401", "connection refused",
// "timeout", "partial success", "shut down". The phrase never holds a header value, and is ""
// for a nil error.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var ps partialSuccess
	var he *HTTPError
	switch {
	case errors.As(err, &ps):
		return "partial success"
	case errors.As(err, &he):
		return "http " + strconv.Itoa(he.StatusCode)
	case errors.Is(err, errClosed):
		return "client closed"
	case errors.Is(err, errShutdown):
		return "shut down"
	case errors.Is(err, errExportTimeout), errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	// A gRPC status error keeps only its message: the transport's cause
	// (TLS, a refused connection) is read from it.
	msg := err.Error()
	if r := transportReason(msg); r != "" {
		return r
	}
	if s, ok := status.FromError(err); ok {
		return "grpc " + s.Code().String()
	}
	return "other"
}

// transportReason names a TLS or connection failure from an error's text,
// "" when it is neither.
func transportReason(msg string) string {
	for _, r := range []struct{ in, reason string }{
		{"x509: certificate signed by unknown authority", "tls: certificate signed by unknown authority"},
		{"x509: certificate is valid for", "tls: certificate not valid for the endpoint's name"},
		{"x509: certificate has expired", "tls: certificate expired"},
		{"x509:", "tls: certificate"},
		{"certificate required", "tls: client certificate required"},
		{"bad certificate", "tls: client certificate refused"},
		{"first record does not look like a TLS handshake", "tls: endpoint is plaintext"},
		{"server gave HTTP response to HTTPS client", "tls: endpoint is plaintext"},
		{"tls:", "tls: handshake"},
		{"connection refused", "connection refused"},
		{"connection reset", "connection reset"},
		{"no such host", "unknown host"},
	} {
		if strings.Contains(msg, r.in) {
			return r.reason
		}
	}
	return ""
}
