package simulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

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

	sdk    *sdktrace.TracerProvider // nil when uninstrumented
	tracer trace.TracerProvider
	prop   propagation.TextMapPropagator
	meter  noop.MeterProvider
	shard  *shard

	svcSym, instSym uint32

	lis        net.Listener
	httpSrv    *http.Server
	grpcSrv    *grpc.Server
	httpClient *http.Client
	transport  *http.Transport
	served     chan struct{} // closed when the serve loop returns
	started    bool          // serve was called

	connsMu sync.Mutex
	conns   map[*instance]*grpc.ClientConn
}

func newInstance(ctx context.Context, rt *Runtime, svc *topology.Service, index int) (*instance, error) {
	in := &instance{
		rt:     rt,
		svc:    svc,
		index:  index,
		id:     fmt.Sprintf("%s-%d", svc.Name, index),
		prop:   propagatorFor(svc.Propagators),
		meter:  noop.NewMeterProvider(),
		shard:  rt.ledger.newShard(),
		served: make(chan struct{}),
		conns:  make(map[*instance]*grpc.ClientConn),
	}
	in.svcSym = rt.ledger.syms.id(svc.Name)
	in.instSym = rt.ledger.syms.id(in.id)
	in.tracer = tracenoop.NewTracerProvider()
	if svc.Instrumented {
		tp, err := in.newTracerProvider(ctx)
		if err != nil {
			return nil, err
		}
		in.sdk, in.tracer = tp, tp
	}
	in.transport = &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 256,
		ForceAttemptHTTP2:   false,
	}
	in.httpClient = &http.Client{Transport: in.clientTransport()}
	return in, nil
}

func (in *instance) newTracerProvider(ctx context.Context) (*sdktrace.TracerProvider, error) {
	exp, err := in.rt.cfg.exporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("create exporter for %s: %w", in.id, err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(in.svc.Name),
		semconv.ServiceInstanceID(in.id),
		semconv.ServiceVersion(in.svc.Version),
		semconv.TelemetrySDKName("opentelemetry"),
		semconv.TelemetrySDKLanguageGo,
	)
	bsp := sdktrace.NewBatchSpanProcessor(&ledgerExporter{next: exp, shard: in.shard},
		sdktrace.WithMaxQueueSize(in.rt.cfg.queueSize),
		sdktrace.WithMaxExportBatchSize(in.rt.cfg.batchSize),
		sdktrace.WithBatchTimeout(in.rt.cfg.batchTimeout),
	)
	return sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(samplerFor(in.svc.Sampler)),
		sdktrace.WithIDGenerator(newIDGenerator(in.rt.cfg.seed, uint64(in.instSym)<<32|uint64(in.svcSym))),
		sdktrace.WithSpanProcessor(newLedgerProcessor(in.shard, in.svc.Name, in.id)),
		sdktrace.WithSpanProcessor(bsp),
	), nil
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
	default:
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
}

// listen binds the instance's port; serving starts with serve.
func (in *instance) listen(host string) error {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return fmt.Errorf("listen for %s on %s: %w", in.id, host, err)
	}
	in.lis = lis
	if in.svc.Protocol == topology.ProtocolGRPC {
		in.grpcSrv = in.newGRPCServer()
	} else {
		in.httpSrv = &http.Server{Handler: in.httpHandler(), ErrorLog: discardLog}
	}
	return nil
}

// addr is the host:port the instance serves on.
func (in *instance) addr() string { return in.lis.Addr().String() }

// serve runs the server until shutdown; call it in its own goroutine after
// setting started.
func (in *instance) serve() {
	defer close(in.served)
	var err error
	if in.grpcSrv != nil {
		err = in.grpcSrv.Serve(in.lis)
	} else {
		err = in.httpSrv.Serve(in.lis)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
		in.rt.fail(fmt.Errorf("serve %s: %w", in.id, err))
	}
}

// shutdown stops serving, closes client connections and flushes spans.
func (in *instance) shutdown(ctx context.Context) error {
	var errs []error
	switch {
	case in.httpSrv != nil:
		if err := in.httpSrv.Shutdown(ctx); err != nil {
			in.httpSrv.Close()
			errs = append(errs, fmt.Errorf("stop %s: %w", in.id, err))
		}
	case in.grpcSrv != nil:
		stopGRPC(ctx, in.grpcSrv)
	}
	if in.started {
		select {
		case <-in.served:
		case <-ctx.Done():
		}
	}
	in.connsMu.Lock()
	for _, c := range in.conns {
		c.Close()
	}
	in.conns = map[*instance]*grpc.ClientConn{}
	in.connsMu.Unlock()
	in.transport.CloseIdleConnections()
	if in.sdk != nil {
		if err := in.sdk.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush spans of %s: %w", in.id, err))
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
