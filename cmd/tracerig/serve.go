package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerig/tracerig/internal/otlpexport"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// serveCmd runs one instance of one service of a topology, knowing every
// other instance by address, plus a control API: the building block of the
// container runtime (one container per instance runs `tracerig serve`).
//
// Control API (on --control):
//
//	GET    /healthz       200 once the instance serves
//	GET    /ledger        the instance's ledger so far (simulator.Ledger.Export)
//	POST   /shutdown      stop serving and flush spans (the ledger stays readable)
//	POST   /faults        a fault as in a scenario (YAML or JSON); with header
//	                      X-Tracerig-Fault: struct, a JSON topology.Fault; 201 {"id": N}
//	DELETE /faults/{id}   clear one fault; DELETE /faults clears all
func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		topoFile = fs.String("topology", "", "topology or scenario file (required)")
		service  = fs.String("service", "", "the service to run (required)")
		instance = fs.Int("instance", 0, "the instance of the service to run")
		listen   = fs.String("listen", ":8080", "the instance's listen address")
		control  = fs.String("control", ":9090", "the control API's listen address")
		peers    = fs.String("peers", "", "every other instance: 'svc=host:port,host:port;svc2=host:port'")
		otlp     = fs.String("otlp-endpoint", "127.0.0.1:4317", "OTLP gRPC endpoint to export to")
		seed     = fs.Uint64("seed", 1, "the seed every decision derives from")
		retryFor = fs.Duration("export-retry", 3*time.Second, "how long a failed export is retried before its spans are dropped")
		conform  = fs.String("conformance", "", "serve only the W3C Trace Context test-harness participant on `ADDR` (as 'tracerig conformance --listen ADDR')")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tracerig serve --topology FILE --service S [flags]\n       tracerig serve --conformance ADDR\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *conform != "" {
		return conformanceCmd(ctx, []string{"--listen", *conform}, stdout, stderr)
	}
	if *topoFile == "" || *service == "" {
		return usageError("--topology and --service are required")
	}
	topo, err := loadServeTopology(*topoFile)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	svc := topo.Service(*service)
	if svc == nil {
		return usageError("topology %s has no service %q", topo.Name, *service)
	}
	if *instance < 0 || *instance >= svc.Instances {
		return usageError("service %s has %d instances, no instance %d", *service, svc.Instances, *instance)
	}
	peerMap, err := parsePeers(*peers)
	if err != nil {
		return usageError("--peers: %v", err)
	}
	conn, err := grpc.NewClient(*otlp,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: time.Second,
		}),
	)
	if err != nil {
		return &exitError{code: exitRuntime, err: fmt.Errorf("connect to %s: %w", *otlp, err)}
	}
	defer conn.Close()
	var rt *simulator.Runtime
	retried := otlpexport.WithRetryHook(func(spans int, _ error) { rt.Ledger().ExportRetried(spans) })
	rt = simulator.New(topo,
		simulator.WithSeed(*seed),
		simulator.WithOnly(*service, *instance),
		simulator.WithPeers(peerMap),
		simulator.WithListen(*listen),
		simulator.WithExporter(func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlpexport.New(conn,
				otlpexport.WithTimeout(5*time.Second),
				otlpexport.WithRetry(otlptracegrpc.RetryConfig{Enabled: *retryFor > 0, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, MaxElapsedTime: *retryFor}),
				retried,
			), nil
		}),
	)
	if err := rt.Start(ctx); err != nil {
		return &exitError{code: exitRuntime, err: err}
	}
	sc := &serveControl{rt: rt, topo: topo, timers: map[int]*time.Timer{}}
	lis, err := net.Listen("tcp", *control)
	if err != nil {
		rt.Shutdown(context.WithoutCancel(ctx))
		return &exitError{code: exitRuntime, err: fmt.Errorf("listen for the control API on %s: %w", *control, err)}
	}
	srv := &http.Server{Handler: sc.handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(lis)
	fmt.Fprintf(stdout, "tracerig serve: %s-%d on %s, control on %s, exporting to %s\n", *service, *instance, *listen, lis.Addr(), *otlp)
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = sc.shutdown(stopCtx)
	srv.Shutdown(stopCtx)
	if err != nil {
		fmt.Fprintf(stderr, "tracerig serve: %v\n", err)
	}
	return nil
}

// loadServeTopology reads a topology file, or the topology of a scenario
// file.
func loadServeTopology(file string) (*topology.Topology, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	topo, terr := topology.ParseTopology(file, data)
	if terr == nil {
		return topo, nil
	}
	sc, serr := topology.ParseScenario(file, data, nil)
	if serr != nil {
		return nil, fmt.Errorf("%s is neither a topology (%v) nor a scenario (%v)", file, terr, serr)
	}
	return sc.Topology, nil
}

// parsePeers parses 'svc=h:p,h:p;svc2=h:p'.
func parsePeers(s string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, part := range strings.Split(s, ";") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, addrs, ok := strings.Cut(part, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want svc=host:port,host:port", part)
		}
		for _, a := range strings.Split(addrs, ",") {
			if _, _, err := net.SplitHostPort(a); err != nil && a != "" {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			out[name] = append(out[name], a)
		}
	}
	return out, nil
}

type serveControl struct {
	rt   *simulator.Runtime
	topo *topology.Topology

	once    sync.Once
	stopErr error

	mu     sync.Mutex
	timers map[int]*time.Timer
}

func (c *serveControl) shutdown(ctx context.Context) error {
	c.once.Do(func() {
		c.mu.Lock()
		for _, t := range c.timers {
			t.Stop()
		}
		c.mu.Unlock()
		c.stopErr = c.rt.Shutdown(ctx)
	})
	return c.stopErr
}

func (c *serveControl) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := c.rt.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /ledger", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		c.rt.Ledger().Export(w)
	})
	mux.HandleFunc("POST /shutdown", func(w http.ResponseWriter, r *http.Request) {
		if err := c.shutdown(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, _ *http.Request) {
		serveJSON(w, http.StatusOK, map[string]any{"active": c.rt.Faults(), "windows": c.rt.FaultWindows()})
	})
	mux.HandleFunc("POST /faults", c.addFault)
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, _ *http.Request) {
		c.rt.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("DELETE /faults/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.PathValue("id"))
		if err != nil {
			serveJSON(w, http.StatusBadRequest, map[string]string{"error": "fault id is not a number"})
			return
		}
		if err := c.rt.ClearFault(id); err != nil {
			code := http.StatusInternalServerError
			if errors.Is(err, simulator.ErrNoFault) {
				code = http.StatusNotFound
			}
			serveJSON(w, code, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func (c *serveControl) addFault(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		serveJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	var f topology.Fault
	if r.Header.Get("X-Tracerig-Fault") == "struct" {
		err = json.Unmarshal(body, &f)
	} else {
		f, err = topology.ParseFault("request", body, c.topo)
	}
	if err != nil {
		serveJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	number, _ := strconv.Atoi(r.URL.Query().Get("number"))
	id, err := c.rt.InjectFault(f, number, number == 0)
	if err != nil {
		serveJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	if r.Header.Get("X-Tracerig-Fault") != "struct" && f.Window.For > 0 {
		c.mu.Lock()
		c.timers[id] = time.AfterFunc(f.Window.For, func() { c.rt.ClearFault(id) })
		c.mu.Unlock()
	}
	serveJSON(w, http.StatusCreated, map[string]int{"id": id})
}

func serveJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
