package otlpexport

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// maxMessageSize bounds HTTPError.Message.
const maxMessageSize = 200

// An HTTPError is an OTLP/HTTP export that the endpoint answered with a
// status other than 2xx.
type HTTPError struct {
	// StatusCode is the response's status code.
	StatusCode int
	// Message is the message of the google.rpc.Status the response held,
	// or else the start of its body, at most 200 bytes.
	Message string

	retryAfter time.Duration
}

// Error returns the status and the message, as "http 401 Unauthorized:
// missing token".
func (e *HTTPError) Error() string {
	s := "http " + strconv.Itoa(e.StatusCode)
	if text := http.StatusText(e.StatusCode); text != "" {
		s += " " + text
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// RetryAfter is the delay the response's Retry-After header asked for; 0
// without one.
func (e *HTTPError) RetryAfter() time.Duration { return e.retryAfter }

// Retryable reports whether the export may succeed if sent again, as the
// OTLP specification says: after a 429, 502, 503 or 504.
func (e *HTTPError) Retryable() bool {
	switch e.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// NewHTTPError returns the error of an OTLP/HTTP response r other than
// 2xx, whose body begins with b: its status, the message of the
// google.rpc.Status a protobuf body holds (else the body's start as text)
// and the delay its Retry-After header asks for.
func NewHTTPError(r *http.Response, b []byte) *HTTPError {
	e := &HTTPError{StatusCode: r.StatusCode, retryAfter: retryAfter(r.Header.Get("Retry-After"), time.Now())}
	if r.Header.Get("Content-Type") == contentTypeProtobuf {
		e.Message = statusMessage(b)
	}
	if e.Message == "" {
		e.Message = bodyPrefix(b)
	}
	return e
}

// statusMessage returns the message of the google.rpc.Status b encodes,
// "" when it is not one.
func statusMessage(b []byte) string {
	const fieldStatusMessage = 2
	var msg string
	err := walkFields(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		if num == fieldStatusMessage && typ == protowire.BytesType {
			msg = string(v)
		}
		return nil
	})
	if err != nil || !utf8.ValidString(msg) {
		return ""
	}
	return truncate(msg)
}

// bodyPrefix returns the start of a body as one line of text, "" when it
// is not text.
func bodyPrefix(b []byte) string {
	if len(b) > 4*maxMessageSize {
		b = b[:4*maxMessageSize]
	}
	s := strings.ToValidUTF8(string(b), "")
	if strings.ContainsFunc(s, func(r rune) bool { return r < ' ' && r != '\n' && r != '\r' && r != '\t' }) {
		return ""
	}
	return truncate(strings.Join(strings.Fields(s), " "))
}

// truncate cuts s to at most maxMessageSize bytes, at a rune boundary.
func truncate(s string) string {
	if len(s) <= maxMessageSize {
		return s
	}
	n := maxMessageSize
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// httpRetryable classifies an error of the HTTP transport: a status as
// the specification says, with the delay of its Retry-After header, and
// a failure to connect or to get an answer as transient (as gRPC's
// UNAVAILABLE is), unless TLS failed: a certificate refused by either
// side, or an endpoint that does not speak TLS. ok is false when err is
// not of the HTTP transport.
func httpRetryable(err error) (ok, retry bool, delay time.Duration) {
	var he *HTTPError
	if errors.As(err, &he) {
		if !he.Retryable() {
			return true, false, 0
		}
		return true, true, he.retryAfter
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		return false, false, 0
	}
	// What Reason names a TLS failure is one: tls.Dial's and x509's
	// errors are not all of a type, nor is net/http's answer to an
	// endpoint that is plaintext.
	if strings.HasPrefix(transportReason(err.Error()), "tls:") {
		return true, false, 0
	}
	return true, true, 0
}
