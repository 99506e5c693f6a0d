package otlpexport

import "strings"

// Hint says what to change when an export failed with err, naming the
// setting both as the standard variable and as the scenario's backend
// field; "" when there is nothing specific to say.
func Hint(err error) string {
	r := Reason(err)
	if msg := err.Error(); strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset") {
		// Under TLS 1.3 a server refusing the client's certificate shows
		// as a connection closed after the handshake.
		return "the endpoint closed the connection: if it requires a client certificate, give one (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY, or backend.tls.cert and backend.tls.key)"
	}
	switch r {
	case "grpc Unauthenticated", "grpc PermissionDenied", "http 401", "http 403":
		return "check the credentials the endpoint wants (OTEL_EXPORTER_OTLP_HEADERS, or backend.headers in the scenario)"
	case "tls: certificate signed by unknown authority", "tls: certificate":
		return "give the CA that signed the endpoint's certificate (OTEL_EXPORTER_OTLP_CERTIFICATE, or backend.tls.ca)"
	case "tls: certificate not valid for the endpoint's name":
		return "reach the endpoint by a name its certificate holds"
	case "tls: client certificate required", "tls: client certificate refused":
		return "give a client certificate the endpoint trusts (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY, or backend.tls.cert and backend.tls.key)"
	case "tls: endpoint is plaintext":
		return "the endpoint does not speak TLS: use an http:// endpoint (or OTEL_EXPORTER_OTLP_INSECURE=true)"
	case "connection refused", "unknown host":
		return "check the endpoint: nothing answers there"
	case "http 404":
		return "check the endpoint's path (OTLP/HTTP traces go to /v1/traces)"
	case "grpc Unimplemented":
		return "the endpoint is not an OTLP/gRPC trace receiver: check the endpoint and the protocol"
	case "timeout":
		return "the endpoint did not answer in time: check it, or raise OTEL_EXPORTER_OTLP_TIMEOUT (backend.timeout)"
	}
	return ""
}
