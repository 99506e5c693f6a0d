package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
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

	rusage "github.com/tracerig/tracerig/internal/usage"
	"github.com/tracerig/tracerig/simulator/synthetic"
)

// benchListeningRE matches the line `tracerig backend` prints once bound.
var benchListeningRE = regexp.MustCompile(`^tracerig backend: OTLP/gRPC on (\S+), OTLP/HTTP and query API on http://(\S+)`)

// benchCmd measures the synthetic generator: it runs blast against a sink
// in another process — `tracerig backend` started as a child, or any OTLP
// endpoint — so that the CPU and memory figures are the generator's alone.
func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := addBlastFlags(fs, 10*time.Second)
	sinkKind := fs.String("sink", "backend", "the child sink without --otlp-endpoint: backend (tracerig backend, stores every span) or count (an OTLP/gRPC and OTLP/HTTP receiver that decodes and counts)")
	serveCount := fs.Bool("serve-counting-sink", false, "internal: be the counting sink")
	hops := fs.Bool("hops", false, "measure real-hop mode instead: run the scenario (default throughput) as `tracerig run` does, exporting to the sink, and report CPU per 1M spans exported")
	floor := fs.Duration("floor", 4*time.Second, "with --hops: how long to measure the bare net/http hop floor the run is compared with (half before the run, half after); 0 = not at all")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig bench [flags] [SCENARIO.yaml|NAME]   (default scenario: shop)\n\n"+
			"Runs the synthetic generator (tracerig blast) for --duration against a sink in another\n"+
			"process: `tracerig backend` started as a child (its counts are read back and its own\n"+
			"CPU is reported), or --otlp-endpoint. Prints spans/s, CPU-seconds per 1M spans and peak RSS.\n"+
			"Exits 1 when a span was not delivered or --rate was not reached.\n\n"+
			"With --hops it measures real-hop mode instead: the scenario (default throughput) runs as\n"+
			"`tracerig run` runs it, exporting to the sink, for --duration, and compares its CPU per hop\n"+
			"with a bare net/http hop measured in the same process (--floor).\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *serveCount {
		return serveCountingSink(ctx, stdout)
	}
	if *sinkKind != "backend" && *sinkKind != "count" {
		return usageError("--sink must be backend or count")
	}
	scenario := "shop"
	if *hops {
		scenario = "throughput"
	}
	switch fs.NArg() {
	case 0:
	case 1:
		scenario = fs.Arg(0)
	default:
		fs.Usage()
		return usageError("want at most one scenario, got %d", fs.NArg())
	}
	if !*hops && flagSet(fs, "floor") {
		return usageError("--floor: only with --hops")
	}
	if *hops {
		if *floor < 0 {
			return usageError("--floor must not be negative, got %s", *floor)
		}
		return benchHops(ctx, fs, scenario, f, *sinkKind, *floor, stdout)
	}
	if err := f.check(); err != nil {
		return err
	}
	g, err := blastGenerator(scenario, f)
	if err != nil {
		return err
	}
	endpoint := *f.endpoint
	var child *sinkProcess
	if endpoint == "" {
		child, err = startSinkProcess(ctx, *sinkKind)
		if err != nil {
			return &exitError{code: exitRuntime, err: err}
		}
		defer child.stop()
		endpoint = child.grpcAddr
		if f.proto() == synthetic.ProtocolHTTP {
			endpoint = child.httpAddr
		}
	}
	res, err := runBlast(ctx, g, endpoint, f)
	if err != nil {
		return err
	}
	sink := sinkName(f.proto(), endpoint)
	var sinkCPU time.Duration
	var sinkRSS int64
	if child != nil {
		sink = "tracerig " + *sinkKind + " sink (pid " + fmt.Sprint(child.cmd.Process.Pid) + ") on " + sink
		stats, serr := child.stats()
		if serr != nil {
			res.readBack, res.readOK = "cannot read the sink's stats: "+serr.Error(), false
		} else {
			res.readOK = stats.Spans == res.st.Delivered && stats.Rejected == 0
			res.readBack = fmt.Sprintf("sink holds %d spans in %d traces (sent %d spans in %d traces)", stats.Spans, stats.Traces, res.st.Sent, res.st.Traces)
		}
		if cpu, rss, err := child.stop(); err == nil {
			sinkCPU, sinkRSS = cpu, rss
		}
	}
	rep := newBlastReport("bench", scenario, sink, endpoint, f, res)
	rep.Totals.SinkCPU, rep.Totals.SinkPeakRSS = sinkCPU, sinkRSS
	printBlast(stdout, rep)
	printVerdicts(stdout, rep)
	return finishBlast(ctx, f, rep)
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

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
