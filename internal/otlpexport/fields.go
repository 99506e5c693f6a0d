package otlpexport

// Field numbers of the OTLP messages the exporter writes and reads, from
// opentelemetry/proto/{collector/trace,trace,common,resource}/v1. The
// comment after each is the field's proto declaration.
const (
	// ExportTraceServiceRequest
	fieldRequestResourceSpans = 1 // repeated ResourceSpans resource_spans

	// ResourceSpans
	fieldResourceSpansResource   = 1 // Resource resource
	fieldResourceSpansScopeSpans = 2 // repeated ScopeSpans scope_spans
	fieldResourceSpansSchemaURL  = 3 // string schema_url

	// Resource
	fieldResourceAttributes = 1 // repeated KeyValue attributes

	// ScopeSpans
	fieldScopeSpansScope     = 1 // InstrumentationScope scope
	fieldScopeSpansSpans     = 2 // repeated Span spans
	fieldScopeSpansSchemaURL = 3 // string schema_url

	// InstrumentationScope
	fieldScopeName       = 1 // string name
	fieldScopeVersion    = 2 // string version
	fieldScopeAttributes = 3 // repeated KeyValue attributes

	// Span
	fieldSpanTraceID                = 1  // bytes trace_id
	fieldSpanSpanID                 = 2  // bytes span_id
	fieldSpanTraceState             = 3  // string trace_state
	fieldSpanParentSpanID           = 4  // bytes parent_span_id
	fieldSpanName                   = 5  // string name
	fieldSpanKind                   = 6  // SpanKind kind
	fieldSpanStartTimeUnixNano      = 7  // fixed64 start_time_unix_nano
	fieldSpanEndTimeUnixNano        = 8  // fixed64 end_time_unix_nano
	fieldSpanAttributes             = 9  // repeated KeyValue attributes
	fieldSpanDroppedAttributesCount = 10 // uint32 dropped_attributes_count
	fieldSpanEvents                 = 11 // repeated Event events
	fieldSpanDroppedEventsCount     = 12 // uint32 dropped_events_count
	fieldSpanLinks                  = 13 // repeated Link links
	fieldSpanDroppedLinksCount      = 14 // uint32 dropped_links_count
	fieldSpanStatus                 = 15 // Status status
	fieldSpanFlags                  = 16 // fixed32 flags

	// Span.Event
	fieldEventTimeUnixNano           = 1 // fixed64 time_unix_nano
	fieldEventName                   = 2 // string name
	fieldEventAttributes             = 3 // repeated KeyValue attributes
	fieldEventDroppedAttributesCount = 4 // uint32 dropped_attributes_count

	// Span.Link
	fieldLinkTraceID                = 1 // bytes trace_id
	fieldLinkSpanID                 = 2 // bytes span_id
	fieldLinkAttributes             = 4 // repeated KeyValue attributes
	fieldLinkDroppedAttributesCount = 5 // uint32 dropped_attributes_count
	fieldLinkFlags                  = 6 // fixed32 flags

	// Status
	fieldStatusMessage = 2 // string message
	fieldStatusCode    = 3 // StatusCode code

	// KeyValue
	fieldKeyValueKey   = 1 // string key
	fieldKeyValueValue = 2 // AnyValue value

	// AnyValue (oneof value)
	fieldAnyValueString = 1 // string string_value
	fieldAnyValueBool   = 2 // bool bool_value
	fieldAnyValueInt    = 3 // int64 int_value
	fieldAnyValueDouble = 4 // double double_value
	fieldAnyValueArray  = 5 // ArrayValue array_value
	fieldAnyValueKvlist = 6 // KeyValueList kvlist_value
	fieldAnyValueBytes  = 7 // bytes bytes_value

	// ArrayValue
	fieldArrayValueValues = 1 // repeated AnyValue values

	// KeyValueList
	fieldKeyValueListValues = 1 // repeated KeyValue values

	// ExportTraceServiceResponse
	fieldResponsePartialSuccess = 1 // ExportTracePartialSuccess partial_success

	// ExportTracePartialSuccess
	fieldPartialSuccessRejectedSpans = 1 // int64 rejected_spans
	fieldPartialSuccessErrorMessage  = 2 // string error_message
)

// Enum values written by the exporter.
const (
	// Span.SpanKind
	spanKindUnspecified = 0 // SPAN_KIND_UNSPECIFIED
	spanKindInternal    = 1 // SPAN_KIND_INTERNAL
	spanKindServer      = 2 // SPAN_KIND_SERVER
	spanKindClient      = 3 // SPAN_KIND_CLIENT
	spanKindProducer    = 4 // SPAN_KIND_PRODUCER
	spanKindConsumer    = 5 // SPAN_KIND_CONSUMER

	// Status.StatusCode
	statusCodeUnset = 0 // STATUS_CODE_UNSET
	statusCodeOk    = 1 // STATUS_CODE_OK
	statusCodeError = 2 // STATUS_CODE_ERROR

	// SpanFlags
	spanFlagsContextHasIsRemote = 0x100 // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
	spanFlagsContextIsRemote    = 0x200 // SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
)
