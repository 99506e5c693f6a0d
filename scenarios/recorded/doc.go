// Package recorded turns recorded traces into a scenario that runs: it
// reads spans from a source (an OTLP file, a Jaeger or Tempo query API, a
// running `tracerig backend`), derives a topology and a scenario with
// topology/infer, writes them, and measures how faithfully a run of them
// reproduces the source (Check): route by route, the call tree, the own
// latency's p50 and p99, the error rate, and the spans per trace.
//
// A file is read as a stream: memory is bounded by the traces pending in
// the Builder (see infer.Options.MaxPendingTraces), not by the file. A
// query API answers with whole traces for a time window, held in memory
// once while they are read.
package recorded
