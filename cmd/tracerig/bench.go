package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
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
	sinkKind := fs.String("sink", "backend", "the child sink without --otlp-endpoint: backend (tracerig backend, stores every span) or count (an OTLP/gRPC receiver that decodes and counts)")
	serveCount := fs.Bool("serve-counting-sink", false, "internal: be the counting sink")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig bench [flags] [SCENARIO.yaml|NAME]   (default scenario: shop)\n\n"+
			"Runs the synthetic generator (tracerig blast) for --duration against a sink in another\n"+
			"process: `tracerig backend` started as a child (its counts are read back and its own\n"+
			"CPU is reported), or --otlp-endpoint. Prints spans/s, CPU-seconds per 1M spans and peak RSS.\n\nflags:\n")
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
	switch fs.NArg() {
	case 0:
	case 1:
		scenario = fs.Arg(0)
	default:
		fs.Usage()
		return usageError("want at most one scenario, got %d", fs.NArg())
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
	}
	res, err := runBlast(ctx, g, endpoint, f)
	if err != nil {
		return err
	}
	sink := "OTLP/gRPC " + endpoint
	if child != nil {
		sink = "tracerig " + *sinkKind + " sink (pid " + fmt.Sprint(child.cmd.Process.Pid) + ") on " + endpoint
		stats, serr := child.stats()
		if serr != nil {
			res.readBack, res.readOK = "cannot read the sink's stats: "+serr.Error(), false
		} else {
			res.readOK = stats.Spans == res.st.Delivered && stats.Rejected == 0
			res.readBack = fmt.Sprintf("sink holds %d spans in %d traces (sent %d spans in %d traces)", stats.Spans, stats.Traces, res.st.Sent, res.st.Traces)
		}
	}
	printBlast(stdout, scenario, sink, f, res)
	if child != nil {
		cpu, rss, err := child.stop()
		if err == nil {
			fmt.Fprintf(stdout, "  sink cpu   %.2f CPU-s = %.3f CPU-s per 1M spans ingested (whole life of the sink), peak RSS %.1f MiB\n",
				cpu.Seconds(), perMillion(cpu, res.st.Delivered), float64(rss)/(1<<20))
		}
	}
	return blastVerdict(ctx, res)
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
	p.cpu, p.rss = childUsage(p.cmd.ProcessState)
	return p.cpu, p.rss, nil
}

// countingSink is an OTLP/gRPC trace receiver that decodes each request
// and counts its spans, and serves the counts as /api/stats: the
// cheapest sink a generator can be measured against.
type countingSink struct {
	ptraceotlp.UnimplementedGRPCServer
	spans atomic.Int64
}

func (s *countingSink) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	s.spans.Add(int64(req.Traces().SpanCount()))
	return ptraceotlp.NewExportResponse(), nil
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
	sink := &countingSink{}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	ptraceotlp.RegisterGRPCServer(gs, sink)
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(sinkStats{Spans: sink.spans.Load()})
	})}
	go gs.Serve(gl)
	go hs.Serve(hl)
	// The same line as tracerig backend, so that bench finds the ports.
	fmt.Fprintf(stdout, "tracerig backend: OTLP/gRPC on %s, OTLP/HTTP and query API on http://%s\n", gl.Addr(), hl.Addr())
	<-ctx.Done()
	hs.Close()
	gs.Stop()
	return nil
}
