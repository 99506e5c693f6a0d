// Package infer derives a topology and a scenario from recorded spans: the
// core of `tracerig infer`, whose sources and fidelity check are in
// scenarios/recorded.
//
// A Builder takes spans one at a time, in any order within a trace and with
// traces interleaved. Spans wait in a pending map, grouped by trace, until
// their trace is finished: FlushTrace says so explicitly (a source that
// reads whole traces, like a query API, calls it after each); otherwise,
// when more than Options.MaxPendingTraces traces are pending, the trace
// seen first is taken as finished. A span that arrives after its trace was
// finished starts a new pending trace whose parents are missing: it is
// counted as an orphan. Result finishes every pending trace.
//
// Memory: a pending span is kept as a fixed 48-byte record (IDs, times,
// interned service and route numbers, kind, status), so pending memory is
// 48 bytes times the spans of at most MaxPendingTraces traces. A finished
// trace is folded into per-route aggregates and dropped: a log-bucketed
// histogram of the route's own latency (1% wide buckets), counters of
// errors and statuses, and per callee the counters that decide the call
// tree; per topic and consume route, what their messaging spans said,
// read as each span is added. The aggregates grow with the number of
// routes and edges, not with the number of spans.
//
// What is derived, and how:
//
//   - services from the resource's service.name, their instances from the
//     distinct service.instance.id (capped at 64), the protocol from the
//     server spans' attributes (rpc.system=grpc: grpc; otherwise http);
//   - routes from server spans: "METHOD http.route" (or the span name when
//     it already reads "METHOD /path"), gRPC "rpc.service/rpc.method";
//     consume routes from consumer spans, named as the span ("process
//     orders"): a consumer span is its route's request, like a server
//     span, and the spans under it are its calls;
//   - edges: a client span whose child is a server span of a service is a
//     call from the route whose server span holds the client span (through
//     internal spans) to the child's route; a server span directly under
//     another service's span is a call too, without a client span;
//   - retries: client spans to one callee following a failed one, in
//     sequence, are attempts of one call;
//   - timeouts, where evident: an attempt that failed while its callee's
//     span went on past it is one its caller gave up on; with at least
//     three of them, the call's timeout is their median length (three
//     significant digits), and the callee's failures they explain are not
//     its own errors;
//   - sequence or parallel: calls whose intervals overlap run in parallel;
//     across requests, two callees are parallel when they overlap in most
//     of the requests that call both, and callees are ordered by their
//     mean position;
//   - optional calls: a call made in a share of its route's requests. The
//     topology has no probability on a call, so the share is rounded: a
//     call made in at least half of the requests is written, one made in
//     fewer is left out; both are said in a comment with the share;
//   - own latency: the server (or consumer) span's duration minus the
//     union of its calls' (and publishes') intervals, fitted to the
//     lognormal {p50, p99} form; the fit error is the largest relative gap
//     between the fitted and the observed quantiles at p10, p25, p75, p90
//     and p95;
//   - own errors: server (or consumer) spans with status error or an HTTP status of 500
//     and above (a gRPC code other than OK), not explained by a call that
//     failed after its retries; the status is the most common one;
//   - publishes: a producer span is a step of the request above it, like
//     a call, keyed by its messaging.destination.name: counted per
//     request, ordered and written (or left out when optional) by the
//     same rules as calls; one whose messages lead back to its own route
//     is left out, as a call closing a cycle is;
//   - brokers: one per messaging.system, named after it (kind kafka for
//     kafka, nats for any other); topics from messaging.destination.name,
//     a Kafka topic's partitions the highest
//     messaging.destination.partition.id seen plus one;
//   - consume: the route's topic; its group, the most common
//     messaging.consumer.group.name, written when it is not the service's
//     name (the default); batch, the most messages one consumer span
//     carried (its links or messaging.batch.message_count); mode parent
//     when most consumer spans are children of a producer span and none
//     carried a batch, else link;
//   - both ends: the topology takes a topic only with a producer and a
//     consumer, so a publish to a topic no written route consumes, and a
//     consume route of a topic no written route publishes to, are left
//     out (with a comment), until every topic written has both;
//   - load: root server spans are entry requests; their routes' rates over
//     the window, the mix as weights. A consumer span is never one: a
//     trace rooted at it (mode link) is neither an entry nor an orphan.
//
// Spans that cannot be used are counted in Result.Unused by reason.
package infer
