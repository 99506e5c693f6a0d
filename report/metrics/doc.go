// Package metrics is a run's own telemetry in the Prometheus exposition
// format: what tracerig run, blast and bench have sent and what became of
// it so far, served on /metrics while they run (Listen), and pushed over
// OTLP/gRPC through the OpenTelemetry Prometheus bridge (PushOTLP).
//
// Its collectors keep no counts of their own. Each reads, at scrape time,
// the figures its caller hands it a func for (the ledger's totals, the
// verifier's running tallies, the generator's samples), so a scrape at the
// end of a run says exactly what the report does. The descriptions are
// built once per collector; a scrape allocates only its samples.
//
// Names follow the Prometheus and OpenTelemetry conventions: the
// tracerig_ prefix, base units in the name (_seconds, _spans, _batches),
// _total on counters. Labels are bounded by the scenario (service, edge,
// export failure reason, fault kind and target), never by the traffic.
package metrics
