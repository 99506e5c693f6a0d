package otlpexport

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHTTPErrorText(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name     string
		status   int
		protobuf bool
		body     []byte
		want     string
	}{
		{"status message", 401, true, statusBody(t, 16, "missing token"), "http 401 Unauthorized: missing token"},
		{"status without a message", 403, true, statusBody(t, 7, ""), "http 403 Forbidden"},
		{"protobuf that is not a status", 500, true, []byte{0x0a, 0x05}, "http 500 Internal Server Error"},
		{"text", 400, false, []byte("bad request:\n  no spans\n"), "http 400 Bad Request: bad request: no spans"},
		{"a status body sent as text", 401, false, statusBody(t, 16, "missing token"), "http 401 Unauthorized"},
		{"binary", 502, false, []byte{0, 1, 2, 'x'}, "http 502 Bad Gateway"},
		{"long text, cut at a character", 413, false, []byte(long), "http 413 Request Entity Too Large: " + long[:200]},
		{"long status message", 429, true, statusBody(t, 8, long+"!"), "http 429 Too Many Requests: " + long[:200]},
		{"unknown status", 499, false, nil, "http 499"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Response{StatusCode: tt.status, Header: http.Header{}}
			if tt.protobuf {
				r.Header.Set("Content-Type", contentTypeProtobuf)
			}
			err := NewHTTPError(r, tt.body)
			if got := err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if len(err.Message) > maxMessageSize {
				t.Errorf("message of %d bytes", len(err.Message))
			}
		})
	}
}

func TestHTTPRetryable(t *testing.T) {
	httpErr := func(status int, retryAfter string) error {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		return fmt.Errorf("otlpexport: %w", NewHTTPError(&http.Response{StatusCode: status, Header: h}, nil))
	}
	post := func(err error) error { return &url.Error{Op: "Post", URL: "https://otlp.example/v1/traces", Err: err} }
	tests := []struct {
		name  string
		err   error
		retry bool
		delay time.Duration
	}{
		{"429", httpErr(429, ""), true, 0},
		{"429 with Retry-After", httpErr(429, "7"), true, 7 * time.Second},
		{"502", httpErr(502, ""), true, 0},
		{"503 with Retry-After", httpErr(503, "2"), true, 2 * time.Second},
		{"503 with a Retry-After date", httpErr(503, "Wed, 21 Oct 2015 07:28:00 GMT"), true, 0},
		{"504", httpErr(504, ""), true, 0},
		{"400", httpErr(400, ""), false, 0},
		{"401", httpErr(401, "5"), false, 0},
		{"403", httpErr(403, ""), false, 0},
		{"404", httpErr(404, ""), false, 0},
		{"500", httpErr(500, ""), false, 0},
		{"connection refused", post(syscall.ECONNREFUSED), true, 0},
		{"connection reset", post(errors.New("read: connection reset by peer")), true, 0},
		{"unknown authority", post(errors.New("tls: failed to verify certificate: x509: certificate signed by unknown authority")), false, 0},
		{"certificate refused", post(errors.New("remote error: tls: certificate required")), false, 0},
		{"plaintext endpoint", post(errors.New("http: server gave HTTP response to HTTPS client")), false, 0},
		{"client closed", fmt.Errorf("otlpexport: %w", errClosed), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			retry, delay := retryable(tt.err)
			if retry != tt.retry || delay != tt.delay {
				t.Errorf("retryable(%v) = %v, %v, want %v, %v", tt.err, retry, delay, tt.retry, tt.delay)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"Fri, 02 Jan 2026 15:04:35 GMT", 30 * time.Second},
		{"Fri, 02 Jan 2026 15:00:00 GMT", 0},
		{"-1", 0},
		{"soon", 0},
	} {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
}
