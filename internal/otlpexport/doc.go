// Package otlpexport is an OTLP span exporter for the OpenTelemetry Go SDK
// that writes the protobuf wire bytes of the export request directly from
// the SDK's ReadOnlySpans, and sends them over OTLP/gRPC or OTLP/HTTP.
//
// The SDK's own exporters (otlptracegrpc, otlptracehttp) first build the
// OTLP protobuf structs of every span, attribute, event and link, then
// marshal them: many allocations and two passes over every span. This
// exporter encodes each span once into a reusable buffer. The request is
// the same message otlptracegrpc v1.47.0 sends for the same spans (the
// same fields and grouping, in the same field order).
//
// A Client, opened from an otlpconf.Config, is the transport that
// Exporters share:
//
//   - gRPC: one connection, which redials within a second of the endpoint
//     coming (back) up. The bytes are sent with a raw codec; the headers
//     go as metadata on every call (keys lowercased), and gzip through
//     gRPC's compressor.
//   - OTLP/HTTP (http/protobuf): the bytes are POSTed to the endpoint URL
//     as application/x-protobuf, gzipped (Content-Encoding: gzip) when
//     configured, on one pool of keep-alive connections (HTTP/2 when the
//     endpoint offers it over TLS).
//
// Both use TLS unless the configuration says plaintext, with the system's
// roots or a CA file of its own, and a client certificate for mutual TLS.
// WithDialAddr connects through a proxy while still speaking to the
// configured endpoint.
//
// Exports are retried by otlptracegrpc's rules: the same retryable gRPC
// status codes and RetryInfo delays, exponential backoff, maximum elapsed
// time and export timeout. Over HTTP the retryable statuses are the OTLP
// specification's (429, 502, 503, 504), with the delay of their
// Retry-After header; a failure to connect or to get an answer is retried
// as gRPC's UNAVAILABLE is, except a TLS failure. Another status is an
// *HTTPError, not retried. A partial success, over either transport, is
// returned as an error. Reason names any export failure in a few words a
// report can count by.
package otlpexport
