package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"

	"github.com/tracerig/tracerig/topology"
)

// instance is one running copy of a simulated service: its own server on
// loopback, its own TracerProvider, propagators and sampler.
type instance struct {
	rt    *Runtime
	svc   *topology.Service
	index int
	id    string // service.instance.id

	sdk      *sdktrace.TracerProvider // nil when uninstrumented
	tracer   trace.TracerProvider
	exporter sdktrace.SpanExporter // the instance's own, shut down last
	bsp      sdktrace.SpanProcessor
	prop     propagation.TextMapPropagator // consults propagator faults
	baseProp propagation.TextMapPropagator
	meter    noop.MeterProvider
	shard    *shard

	svcSym, instSym uint32
	peer            *peer // how callers know it

	address    string       // fixed at first listen, kept across restarts
	httpClient *http.Client // instrumented: otelhttp over the recorder
	bareClient *http.Client // no instrumentation, for uninstrument faults
	transport  *http.Transport

	srvMu    sync.Mutex
	lis      net.Listener
	httpSrv  *http.Server
	grpcSrv  *grpc.Server
	served   chan struct{} // closed when the current serve loop returns
	down     atomic.Bool   // crashed
	restarts atomic.Int64  // unix ns of the last restart: unsent spans older are lost

	connsMu sync.Mutex
	conns   map[*peer]*grpc.ClientConn

	cons instanceClients // broker connections and consumers
}

func newInstance(ctx context.Context, rt *Runtime, svc *topology.Service, index int) (*instance, error) {
	in := &instance{
		rt:       rt,
		svc:      svc,
		index:    index,
		id:       fmt.Sprintf("%s-%d", svc.Name, index),
		baseProp: propagatorFor(svc.Propagators),
		meter:    noop.NewMeterProvider(),
		shard:    rt.ledger.newShard(),
		conns:    make(map[*peer]*grpc.ClientConn),
	}
	in.prop = faultyPropagator{in}
	in.svcSym = rt.ledger.syms.id(svc.Name)
	in.instSym = rt.ledger.syms.id(in.id)
	in.peer = &peer{svc: svc, index: index, id: in.id, svcSym: in.svcSym, local: in}
	in.tracer = tracenoop.NewTracerProvider()
	if svc.Instrumented {
		if err := in.newTracerProvider(ctx); err != nil {
			return nil, err
		}
	}
	in.transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256}
	rec := &recordingTransport{next: in.transport}
	in.bareClient = &http.Client{Transport: rec}
	in.httpClient = &http.Client{Transport: in.instrumentedTransport(rec)}
	return in, nil
}

func (in *instance) newTracerProvider(ctx context.Context) error {
	exp, err := in.rt.cfg.exporter(ctx)
	if err != nil {
		return fmt.Errorf("create exporter for %s: %w", in.id, err)
	}
	in.exporter = exp
	in.bsp = in.newBatcher(in.rt.cfg.queueSize)
	in.sdk = sdktrace.NewTracerProvider(
		sdktrace.WithResource(in.resource()),
		sdktrace.WithSampler(samplerFor(in.svc.Sampler)),
		sdktrace.WithIDGenerator(newIDGenerator(in.rt.cfg.idSeed(), instanceSalt(in.id))),
		sdktrace.WithSpanProcessor(newLedgerProcessor(in.shard, in.svc.Name, in.id)),
		sdktrace.WithSpanProcessor(in.bsp),
	)
	in.tracer = in.sdk
	return nil
}

// resource is the instance's resource: the run's resource attributes,
// then tracerig's own, which win over them (see WithResourceAttributes).
func (in *instance) resource() *resource.Resource {
	own := []attribute.KeyValue{
		semconv.ServiceName(in.svc.Name),
		semconv.ServiceInstanceID(in.id),
		semconv.ServiceVersion(in.svc.Version),
		semconv.TelemetrySDKName("opentelemetry"),
		semconv.TelemetrySDKLanguageGo,
	}
	if id := in.rt.cfg.runID; id != 0 {
		own = append(own, RunIDKey.String(id.String()))
	}
	attrs := make([]attribute.KeyValue, 0, len(in.rt.cfg.resource)+len(own))
	for _, kv := range in.rt.cfg.resource {
		if !strings.HasPrefix(string(kv.Key), "tracerig.") {
			attrs = append(attrs, kv)
		}
	}
	// NewWithAttributes keeps the last of attributes sharing a key.
	return resource.NewWithAttributes(semconv.SchemaURL, append(attrs, own...)...)
}

// newBatcher returns a batch span processor over the instance's exporter
// with the given queue size; shutting it down leaves the exporter open.
func (in *instance) newBatcher(queue int) sdktrace.SpanProcessor {
	return sdktrace.NewBatchSpanProcessor(&ledgerExporter{next: in.exporter, in: in},
		sdktrace.WithMaxQueueSize(queue),
		sdktrace.WithMaxExportBatchSize(min(queue, in.rt.cfg.batchSize)),
		sdktrace.WithBatchTimeout(in.rt.cfg.batchTimeout),
	)
}

// shrinkQueue swaps the batcher for one with a small queue; the old one is
// flushed, not dropped. It returns the undo.
func (in *instance) shrinkQueue(queue int) func() {
	if in.sdk == nil {
		return func() {}
	}
	swap := func(size int) {
		next := in.newBatcher(size)
		in.sdk.RegisterSpanProcessor(next)
		in.sdk.UnregisterSpanProcessor(in.bsp)
		in.bsp = next
	}
	swap(queue)
	return func() { swap(in.rt.cfg.queueSize) }
}

func samplerFor(s topology.Sampler) sdktrace.Sampler {
	switch s.Type {
	case topology.SamplerAlwaysOn:
		return sdktrace.AlwaysSample()
	case topology.SamplerAlwaysOff:
		return sdktrace.NeverSample()
	case topology.SamplerTraceIDRatio:
		return sdktrace.TraceIDRatioBased(s.Ratio)
	case topology.SamplerParentBasedAlwaysOff:
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case topology.SamplerParentBasedTraceIDRatio:
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(s.Ratio))
	case topology.SamplerConsistentProbability:
		return newConsistentSampler(s.Ratio)
	default:
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}

// listen binds the instance's port (a fresh one, or its own again after a
// crash) and builds its server; serving starts with start.
func (in *instance) listen(addr string) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for %s on %s: %w", in.id, addr, err)
	}
	in.lis = lis
	if in.address == "" {
		in.address = lis.Addr().String()
	}
	if in.svc.Protocol == topology.ProtocolGRPC {
		in.grpcSrv, in.httpSrv = in.newGRPCServer(), nil
	} else {
		in.httpSrv, in.grpcSrv = &http.Server{Handler: in.httpHandler(), ErrorLog: discardLog}, nil
	}
	return nil
}

// addr is the host:port the instance serves on.
func (in *instance) addr() string { return in.address }

// start serves in a new goroutine until the server stops.
func (in *instance) start() {
	served := make(chan struct{})
	in.served = served
	lis, hs, gs := in.lis, in.httpSrv, in.grpcSrv
	go func() {
		defer close(served)
		var err error
		if gs != nil {
			err = gs.Serve(lis)
		} else {
			err = hs.Serve(lis)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) && !in.down.Load() {
			in.rt.fail(fmt.Errorf("serve %s: %w", in.id, err))
		}
	}()
}

// crash stops the server at once: the listener closes, open connections
// drop, and spans the instance had not exported yet are lost.
func (in *instance) crash(at time.Time) {
	in.srvMu.Lock()
	defer in.srvMu.Unlock()
	if in.down.Swap(true) || in.served == nil {
		return
	}
	if in.httpSrv != nil {
		in.httpSrv.Close()
	} else {
		in.grpcSrv.Stop()
	}
	<-in.served
	// Its consumers die with it; the broker delivers what they held to
	// the group's other members, or again after the restart.
	in.stopConsumers()
}

// restart brings a crashed instance back on its own address.
func (in *instance) restart() {
	in.srvMu.Lock()
	defer in.srvMu.Unlock()
	if !in.down.Load() {
		return
	}
	in.restarts.Store(time.Now().UnixNano())
	var err error
	for try := 0; try < 50; try++ {
		if err = in.listen(in.address); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		in.rt.fail(fmt.Errorf("restart %s: %w", in.id, err))
		return
	}
	in.down.Store(false)
	in.start()
	in.startConsumers()
}

// closeIdle closes the instance's idle client connections, so no server
// waits on a connection that will never carry a request.
func (in *instance) closeIdle() { in.transport.CloseIdleConnections() }

// shutdown stops serving, closes client connections and flushes spans.
func (in *instance) shutdown(ctx context.Context) error {
	var errs []error
	in.srvMu.Lock()
	if in.served != nil && !in.down.Load() {
		if in.httpSrv != nil {
			if err := in.httpSrv.Shutdown(ctx); err != nil {
				in.httpSrv.Close()
				errs = append(errs, fmt.Errorf("stop %s: %w", in.id, err))
			}
		} else {
			stopGRPC(ctx, in.grpcSrv)
		}
		select {
		case <-in.served:
		case <-ctx.Done():
		}
	} else if in.served == nil && in.lis != nil {
		in.lis.Close()
	}
	in.srvMu.Unlock()
	in.connsMu.Lock()
	for _, c := range in.conns {
		c.Close()
	}
	in.conns = map[*peer]*grpc.ClientConn{}
	in.connsMu.Unlock()
	in.closeIdle()
	if in.sdk != nil {
		if err := in.sdk.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush spans of %s: %w", in.id, err))
		}
		if err := in.exporter.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close exporter of %s: %w", in.id, err))
		}
	}
	return errors.Join(errs...)
}

// stopGRPC stops s gracefully, or at once when ctx ends first.
func stopGRPC(ctx context.Context, s *grpc.Server) {
	done := make(chan struct{})
	go func() {
		s.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.Stop()
		<-done
	}
}
