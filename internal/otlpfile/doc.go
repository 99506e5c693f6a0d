// Package otlpfile reads and writes OTLP trace files as streams of
// record.Span: the spans a run saved, or those an OpenTelemetry Collector's
// file exporter wrote, as input for deriving a topology from recorded
// spans.
//
// A Writer appends each batch of spans as one serialized
// ExportTraceServiceRequest (OTLP protobuf). Protobuf parses a
// concatenation of two messages of one type as one message whose repeated
// fields hold both's, so a file built from many writes is itself one valid
// ExportTraceServiceRequest that any OTLP tool reads.
//
// Read detects the format of what it reads:
//
//   - OTLP protobuf: an ExportTraceServiceRequest (or TracesData, the same
//     message on the wire), also a concatenation of them. It is read one
//     ResourceSpans at a time, so memory is bounded by the largest
//     ResourceSpans, not by the file.
//   - OTLP/JSON: one ExportTraceServiceRequest object, compact or
//     pretty-printed.
//   - JSON lines: one TracesData object a line, as the Collector's file
//     exporter writes them with format: json.
//
// Any of them may be gzip-compressed. Errors name where the input went
// wrong: the byte offset in protobuf, the line in JSON lines.
//
// Spans keep what record.Span holds: IDs, parent, times, service and
// instance (the resource's service.name and service.instance.id), name,
// kind, status code, attributes, trace state, the other resource
// attributes, and links. Attribute values are read as strings, as
// pcommon.Value.AsString renders them; Arrived is not kept (OTLP has no
// field for it).
package otlpfile
