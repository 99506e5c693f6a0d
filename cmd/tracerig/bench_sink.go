package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/tracerig/tracerig/assert"
	rusage "github.com/tracerig/tracerig/internal/usage"
	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// benchListeningRE matches the line `tracerig backend` prints once bound.
var benchListeningRE = regexp.MustCompile(`^tracerig backend: OTLP/gRPC on (\S+), OTLP/HTTP and query API on http://(\S+)`)

// childSink is bench's sink of the given kind (backend or count) as a
// child process: this binary re-executed as `tracerig backend` or as the
// counting sink, so that the generator's CPU and memory figures are its
// own. Its counts are read back, and its own cost reported.
func childSink(kind string) *scenarios.BlastSink {
	var p *sinkProcess
	return &scenarios.BlastSink{
		Start: func(ctx context.Context, proto synthetic.Protocol) (string, error) {
			var err error
			if p, err = startSinkProcess(ctx, kind); err != nil {
				return "", &exitError{code: exitRuntime, err: err}
			}
			if proto == synthetic.ProtocolHTTP {
				return p.httpAddr, nil
			}
			return p.grpcAddr, nil
		},
		Name: func(endpoint string) string {
			return "tracerig " + kind + " sink (pid " + fmt.Sprint(p.cmd.Process.Pid) + ") on " + endpoint
		},
		Held: func(context.Context, synthetic.Stats) assert.SinkHeld {
			s, err := p.stats()
			return assert.SinkHeld{Holder: "sink", Spans: s.Spans, Traces: s.Traces, Rejected: s.Rejected, Err: err}
		},
		Stop: func() (time.Duration, int64) {
			cpu, rss, err := p.stop()
			if err != nil {
				return 0, 0
			}
			return cpu, rss
		},
	}
}

// sinkProcess is `tracerig backend` running as a child process.
type sinkProcess struct {
	cmd      *exec.Cmd
	grpcAddr string
	httpAddr string
	done     bool
	cpu      time.Duration
	rss      int64
	err      error
}

func startSinkProcess(ctx context.Context, kind string) (*sinkProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "backend", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--interval", "0")
	if kind == "count" {
		cmd = exec.Command(exe, "bench", "--serve-counting-sink")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &sinkProcess{cmd: cmd}
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := benchListeningRE.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
				break
			}
		}
		close(found)
		io.Copy(io.Discard, out)
	}()
	select {
	case m, ok := <-found:
		if !ok {
			p.stop()
			return nil, fmt.Errorf("the sink (%s backend) exited before it listened", exe)
		}
		p.grpcAddr, p.httpAddr = m[1], m[2]
		return p, nil
	case <-time.After(10 * time.Second):
		p.stop()
		return nil, fmt.Errorf("the sink (%s backend) did not listen within 10s", exe)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

type sinkStats struct {
	Spans    int64 `json:"spans"`
	Traces   int64 `json:"traces"`
	Rejected int64 `json:"rejected"`
}

func (p *sinkProcess) stats() (sinkStats, error) {
	var s sinkStats
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + p.httpAddr + "/api/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /api/stats: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// stop interrupts the sink, waits for it, and returns its CPU time and
// peak RSS over its whole life. Later calls return the same.
func (p *sinkProcess) stop() (time.Duration, int64, error) {
	if p.done {
		return p.cpu, p.rss, p.err
	}
	p.done = true
	p.cmd.Process.Signal(os.Interrupt)
	timer := time.AfterFunc(10*time.Second, func() { p.cmd.Process.Kill() })
	defer timer.Stop()
	p.cmd.Wait()
	if p.cmd.ProcessState == nil {
		p.err = fmt.Errorf("the sink did not exit")
		return 0, 0, p.err
	}
	p.cpu, p.rss = rusage.Child(p.cmd.ProcessState)
	return p.cpu, p.rss, nil
}

// countingSink is an OTLP/gRPC and OTLP/HTTP (protobuf) trace receiver
// that decodes each request and counts its spans, and serves the counts as
// /api/stats: the cheapest sink a generator can be measured against.
type countingSink struct {
	ptraceotlp.UnimplementedGRPCServer
	spans atomic.Int64
	bufs  sync.Pool // *bytes.Buffer, OTLP/HTTP request bodies
}

func (s *countingSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
}

// maxSinkRequest bounds the body of one OTLP/HTTP request to the counting
// sink, as the gRPC receiver's message size does.
const maxSinkRequest = 64 << 20

// serveOTLP receives POST /v1/traces: 200 with an empty
// ExportTraceServiceResponse, 400 when the body does not decode, 415 for a
// body that is not protobuf.
func (s *countingSink) serveOTLP(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-protobuf" {
		http.Error(w, fmt.Sprintf("unsupported media type %q, supported: [application/x-protobuf]", r.Header.Get("Content-Type")), http.StatusUnsupportedMediaType)
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer func() {
		buf.Reset()
		s.bufs.Put(buf)
	}()
	if r.ContentLength > 0 && r.ContentLength <= maxSinkRequest {
		buf.Grow(int(r.ContentLength))
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxSinkRequest)); err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(buf.Bytes()); err != nil {
		http.Error(w, "decode export request: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.spans.Add(int64(req.Traces().SpanCount()))
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func serveCountingSink(ctx context.Context, stdout io.Writer) error {
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		gl.Close()
		return &exitError{code: exitRuntime, err: err}
	}
	sink := &countingSink{bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(maxSinkRequest))
	ptraceotlp.RegisterGRPCServer(gs, sink)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", sink.serveOTLP)
	mux.HandleFunc("GET /api/stats", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(sinkStats{Spans: sink.spans.Load()})
	})
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: mux}
	go gs.Serve(gl)
	go hs.Serve(hl)
	// The same line as tracerig backend, so that bench finds the ports.
	fmt.Fprintf(stdout, "tracerig backend: OTLP/gRPC on %s, OTLP/HTTP and query API on http://%s\n", gl.Addr(), hl.Addr())
	<-ctx.Done()
	hs.Close()
	gs.Stop()
	return nil
}
