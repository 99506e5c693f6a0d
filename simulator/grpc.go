package simulator

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

// newGRPCServer serves every route of the service through one generic
// handler: a route "pkg.Service/Method" is the full method "/pkg.Service/Method",
// with empty messages both ways.
func (in *instance) newGRPCServer() *grpc.Server {
	opts := []grpc.ServerOption{grpc.UnknownServiceHandler(in.grpcHandler)}
	var inner stats.Handler
	if in.svc.Instrumented {
		inner = otelgrpc.NewServerHandler(
			otelgrpc.WithTracerProvider(in.tracer),
			otelgrpc.WithMeterProvider(in.meter),
			otelgrpc.WithPropagators(in.prop),
		)
	}
	opts = append(opts, grpc.StatsHandler(&serverStats{inner: inner, in: in}))
	return grpc.NewServer(opts...)
}

func (in *instance) grpcHandler(_ any, stream grpc.ServerStream) error {
	ctx := stream.Context()
	method, _ := grpc.MethodFromServerStream(stream)
	route := in.svc.Route(strings.TrimPrefix(method, "/"))
	if route == nil || route.Consume != nil {
		return status.Errorf(codes.Unimplemented, "%s serves no route %s", in.svc.Name, method)
	}
	if err := stream.RecvMsg(&emptypb.Empty{}); err != nil {
		return err
	}
	md, _ := metadata.FromIncomingContext(ctx)
	get := mdGetter(md)
	traced := ctx.Value(bareKey{}) == nil && in.svc.Instrumented
	req := &inbound{route: route, instrumented: traced}
	req.hop, req.request, _ = parseHop(get(hopMetadata))
	orphan := req.hop == 0
	at := time.Now()
	if orphan {
		req.hop = in.rt.externalHop()
	}
	rec := recvRec{hop: req.hop, headers: headerSet(get)}
	carrier := metadataCarrier(md)
	if traced {
		rec.got = extracted(in.prop, carrier)
		sc := trace.SpanContextFromContext(ctx)
		rec.server, rec.serverSpan = contextOf(sc), sc.IsValid()
	} else {
		rec.got = extracted(anyFormat, carrier)
		if _, forward := in.instrumentedNow(); forward {
			req.forward = forwardableMD(md)
		}
	}
	in.rt.ledger.headerDetail(&rec, get)
	err := in.handle(ctx, req)
	rec.calleeError = err != nil && ctx.Err() == nil
	if orphan {
		in.recordOrphan(route, rec, at)
	} else {
		in.shard.addRecv(rec)
	}
	var inj *injected
	switch {
	case err == nil:
		return stream.SendMsg(&emptypb.Empty{})
	case errors.As(err, &inj):
		return status.Error(codes.Code(inj.grpcCode), "injected error")
	case ctx.Err() != nil:
		return status.FromContextError(ctx.Err()).Err()
	default:
		return status.Error(codes.Unavailable, err.Error())
	}
}

// serverStats puts the hop into the context before otelgrpc starts the
// server span, so a trace the callee starts gets an ID derived from the hop;
// under an uninstrument fault it keeps otelgrpc out of the call.
type serverStats struct {
	inner stats.Handler
	in    *instance
}

// bareKey marks a call the instance does not trace.
type bareKey struct{}

func (s *serverStats) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	if hop, _, ok := parseHop(mdGetter(md)(hopMetadata)); ok {
		ctx = withHop(ctx, hop)
	}
	if s.inner == nil {
		return ctx
	}
	if on, _ := s.in.instrumentedNow(); !on {
		return context.WithValue(ctx, bareKey{}, true)
	}
	return s.inner.TagRPC(ctx, info)
}

func (s *serverStats) HandleRPC(ctx context.Context, rs stats.RPCStats) {
	if s.inner != nil && ctx.Value(bareKey{}) == nil {
		s.inner.HandleRPC(ctx, rs)
	}
}

func (s *serverStats) TagConn(ctx context.Context, info *stats.ConnTagInfo) context.Context {
	if s.inner != nil {
		return s.inner.TagConn(ctx, info)
	}
	return ctx
}

func (s *serverStats) HandleConn(ctx context.Context, cs stats.ConnStats) {
	if s.inner != nil {
		s.inner.HandleConn(ctx, cs)
	}
}

// clientStats records what goes on the wire: it runs otelgrpc's TagRPC
// (client span, injection into metadata) and then reads the result.
type clientStats struct {
	serverStats
	from *instance
}

type outboundGRPCKey struct{}

func (c *clientStats) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	o, ok := ctx.Value(outboundGRPCKey{}).(*outbound)
	switch {
	case c.inner != nil && (!ok || o.instrumented):
		ctx = c.inner.TagRPC(ctx, info)
	case c.inner != nil:
		ctx = context.WithValue(ctx, bareKey{}, true)
	}
	if !ok {
		return ctx
	}
	md, _ := metadata.FromOutgoingContext(ctx)
	rec := o.record()
	rec.headers = headerSet(mdGetter(md))
	o.from.rt.ledger.sentDetail(&rec, mdGetter(md))
	if rec.clientSpan {
		rec.sent = contextOf(trace.SpanContextFromContext(ctx))
	} else {
		rec.sent = extracted(anyFormat, metadataCarrier(md))
	}
	o.from.shard.addSend(rec)
	if hf := o.from.rt.headerFaults(o.from.svc.Name, o.to.svc.Name); len(hf) > 0 {
		md = md.Copy()
		for _, a := range hf {
			applyHeaderFault(mdHeaders(md), a.f, o.hop)
		}
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	return ctx
}

func (in *instance) conn(to *peer) (*grpc.ClientConn, error) {
	in.connsMu.Lock()
	defer in.connsMu.Unlock()
	if c, ok := in.conns[to]; ok {
		return c, nil
	}
	var inner stats.Handler
	if in.svc.Instrumented {
		inner = otelgrpc.NewClientHandler(
			otelgrpc.WithTracerProvider(in.tracer),
			otelgrpc.WithMeterProvider(in.meter),
			otelgrpc.WithPropagators(in.prop),
		)
	}
	c, err := grpc.NewClient(to.addr(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(&clientStats{serverStats: serverStats{inner: inner, in: in}, from: in}),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			if err := in.rt.partitioned(ctx, in.svc.Name, to.svc.Name); err != nil {
				return nil, err
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}),
	)
	if err != nil {
		return nil, err
	}
	in.conns[to] = c
	return c, nil
}

// dropConns closes the instance's connections to service to.
func (in *instance) dropConns(to string) {
	in.connsMu.Lock()
	defer in.connsMu.Unlock()
	for callee, c := range in.conns {
		if callee.svc.Name == to {
			c.Close()
			delete(in.conns, callee)
		}
	}
}

func (in *instance) sendGRPC(ctx context.Context, o *outbound) error {
	c, err := in.conn(o.to)
	if err != nil {
		return err
	}
	md := metadata.Pairs(hopMetadata, formatHop(o.hop, o.request))
	for k, v := range o.forward {
		md.Set(k, v)
	}
	ctx = metadata.NewOutgoingContext(context.WithValue(ctx, outboundGRPCKey{}, o), md)
	return c.Invoke(ctx, "/"+o.route, &emptypb.Empty{}, &emptypb.Empty{})
}

// metadataCarrier adapts gRPC metadata to a propagation.TextMapCarrier.
type metadataCarrier metadata.MD

func (m metadataCarrier) Get(key string) string {
	if v := metadata.MD(m).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (m metadataCarrier) Set(key, value string) { metadata.MD(m).Set(key, value) }

func (m metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func mdGetter(md metadata.MD) func(string) string {
	return metadataCarrier(md).Get
}

func forwardableMD(md metadata.MD) map[string]string {
	return forwardable(headerFromMD(md))
}

func headerFromMD(md metadata.MD) map[string][]string {
	h := make(map[string][]string, len(md))
	for _, th := range traceHeaders {
		if v := md.Get(th.name); len(v) > 0 {
			h[th.name] = v
		}
	}
	return h
}
