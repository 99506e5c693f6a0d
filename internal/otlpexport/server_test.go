package otlpexport

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/mem"

	"github.com/tracerig/tracerig/internal/otlpconf"
)

// handlerFunc answers the call-th Export call (from 1) with an encoded
// ExportTraceServiceResponse or an error.
type handlerFunc func(ctx context.Context, call int, req []byte) ([]byte, error)

// okHandler accepts every request.
func okHandler(context.Context, int, []byte) ([]byte, error) { return nil, nil }

// testServer is an OTLP/gRPC receiver on loopback that keeps the raw bytes
// of every request.
type testServer struct {
	addr   string
	srv    *grpc.Server
	handle handlerFunc
	keep   bool

	mu      sync.Mutex
	calls   int
	methods []string
	reqs    [][]byte
}

// startServer starts a receiver answering with handle. It is stopped when
// the test ends.
func startServer(tb testing.TB, handle handlerFunc) *testServer {
	tb.Helper()
	return startServerKeeping(tb, handle, true)
}

// startServerKeeping starts a receiver that keeps the requests it
// receives only if keep is true.
func startServerKeeping(tb testing.TB, handle handlerFunc, keep bool) *testServer {
	tb.Helper()
	return startServerWith(tb, handle, keep)
}

// startServerWith starts a receiver with more server options (TLS
// credentials, interceptors, stats handlers).
func startServerWith(tb testing.TB, handle handlerFunc, keep bool, opts ...grpc.ServerOption) *testServer {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &testServer{addr: lis.Addr().String(), handle: handle, keep: keep}
	s.srv = grpc.NewServer(append([]grpc.ServerOption{
		grpc.ForceServerCodecV2(bytesCodec{discard: !keep}),
		grpc.UnknownServiceHandler(s.serve),
		grpc.MaxRecvMsgSize(128 << 20),
	}, opts...)...)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.srv.Serve(lis)
	}()
	tb.Cleanup(func() {
		s.srv.Stop()
		<-done
	})
	return s
}

func (s *testServer) serve(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	var req []byte
	if err := stream.RecvMsg(&req); err != nil {
		return err
	}
	s.mu.Lock()
	s.calls++
	call := s.calls
	s.methods = append(s.methods, method)
	if s.keep {
		s.reqs = append(s.reqs, req)
	}
	s.mu.Unlock()
	resp, err := s.handle(stream.Context(), call, req)
	if err != nil {
		return err
	}
	return stream.SendMsg(&resp)
}

// requests returns the requests received so far.
func (s *testServer) requests() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// callCount is the number of Export calls received so far.
func (s *testServer) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// dial returns a plaintext Client of s, closed when the test ends.
func (s *testServer) dial(tb testing.TB) *Client {
	tb.Helper()
	return openClient(tb, otlpconf.Config{Protocol: otlpconf.GRPC, Endpoint: s.addr, Insecure: true})
}

// openClient opens a Client, closed when the test ends.
func openClient(tb testing.TB, cfg otlpconf.Config, opts ...ClientOption) *Client {
	tb.Helper()
	c, err := Open(cfg, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// bytesCodec is the receiver's codec: messages are *[]byte, as they are on
// the wire. A discarding codec does not copy the requests it receives.
type bytesCodec struct{ discard bool }

func (bytesCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}

func (c bytesCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if c.discard {
		*v.(*[]byte) = nil
		return nil
	}
	*v.(*[]byte) = data.Materialize()
	return nil
}

func (bytesCodec) Name() string { return "proto" }
