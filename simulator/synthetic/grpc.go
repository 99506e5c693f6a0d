package synthetic

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tracerig/tracerig/internal/otlpexport"
	"github.com/tracerig/tracerig/internal/rawcodec"
)

// grpcSender exports over OTLP/gRPC, worker w on connection w mod conns.
type grpcSender struct {
	conns    []*grpc.ClientConn
	resp     []rawcodec.Bytes // per worker
	callOpts []grpc.CallOption
	md       metadata.MD // headers of every request; nil without
}

func newGRPCSender(o RunOptions) (*grpcSender, error) {
	s := &grpcSender{conns: make([]*grpc.ClientConn, 0, o.Conns), resp: make([]rawcodec.Bytes, o.Workers),
		callOpts: []grpc.CallOption{grpc.ForceCodecV2(rawcodec.Codec{})}}
	creds := insecure.NewCredentials()
	if o.TLS != nil {
		creds = otlpexport.TLSCredentials(o.TLS)
	}
	if o.Gzip {
		s.callOpts = append(s.callOpts, grpc.UseCompressor(gzip.Name))
	}
	if len(o.Headers) > 0 {
		s.md = metadata.MD{}
		for _, h := range o.Headers {
			s.md.Append(strings.ToLower(h.Key), h.Value)
		}
	}
	for range o.Conns {
		c, err := grpc.NewClient(o.Endpoint,
			grpc.WithTransportCredentials(creds),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)),
		)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("otlp/grpc endpoint %q: %w", o.Endpoint, err)
		}
		c.Connect()
		s.conns = append(s.conns, c)
	}
	return s, nil
}

func (s *grpcSender) send(ctx context.Context, w int, req []byte) ([]byte, error) {
	msg := rawcodec.Bytes(req)
	if s.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, s.md)
	}
	err := s.conns[w%len(s.conns)].Invoke(ctx, rawcodec.TraceExportMethod, &msg, &s.resp[w], s.callOpts...)
	if err != nil {
		return nil, grpcError(err)
	}
	return s.resp[w], nil
}

func (s *grpcSender) close() {
	for _, c := range s.conns {
		c.Close()
	}
}

// grpcError classifies a failed OTLP/gRPC export as the OTLP specification
// does: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE
// and DATA_LOSS are transient, and RESOURCE_EXHAUSTED is when the sink
// says when to retry (google.rpc.RetryInfo).
func grpcError(err error) *exportError {
	st := status.Convert(err)
	e := &exportError{err: err}
	retryInfo := false
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			retryInfo = true
			e.after = max(ri.GetRetryDelay().AsDuration(), 0)
		}
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		e.retryable = true
	case codes.ResourceExhausted:
		e.retryable = retryInfo
	}
	return e
}
