// Package otlpexport is an OTLP/gRPC span exporter for the OpenTelemetry
// Go SDK that writes the protobuf wire bytes of the export request
// directly from the SDK's ReadOnlySpans.
//
// The SDK's own exporter (otlptracegrpc) first builds the OTLP protobuf
// structs of every span, attribute, event and link, then marshals them:
// many allocations and two passes over every span. This exporter encodes
// each span once into a reusable buffer and sends the bytes over an
// existing gRPC connection with a raw codec. The request is the same
// message otlptracegrpc v1.47.0 sends for the same spans (the same fields
// and grouping, in the same field order), and exports are retried by the
// same rules: the same retryable status codes, RetryInfo delays,
// exponential backoff, maximum elapsed time and export timeout.
package otlpexport
