package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/simulator/launch"
	"github.com/tracerig/tracerig/topology"
)

// The test service's image (scenarios/testdata/external/svc, FROM
// scratch), built once per test binary and removed by TestMain.
var (
	svcImageOnce sync.Once
	svcImage     string
	svcImageErr  error
)

// testServiceImage builds the instrumented test service into an image
// FROM scratch, tagged tracerig-test/checkout:<random>.
func testServiceImage(t *testing.T) string {
	t.Helper()
	svcImageOnce.Do(func() {
		svcImage, svcImageErr = buildServiceImage(context.Background())
	})
	if svcImageErr != nil {
		t.Fatal(svcImageErr)
	}
	return svcImage
}

func buildServiceImage(ctx context.Context) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "tracerig-svc-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "svc")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./scenarios/testdata/external/svc")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the test service: %w\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	cli, err := Docker(ctx)
	if err != nil {
		return "", err
	}
	defer cli.Close()
	tag := "tracerig-test/checkout:" + randomHex(4)
	return tag, buildScratchImage(ctx, cli, tag, "svc", data)
}

// removeServiceImage removes the test service's image, if a test built it.
func removeServiceImage() {
	if svcImage == "" {
		return
	}
	exec.Command("docker", "rmi", "-f", svcImage).Run()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// teeOTLP receives OTLP/gRPC, keeps every resource's attributes (the
// embedded backend keeps only service.name and service.instance.id) and
// forwards the request to the embedded backend.
type teeOTLP struct {
	ptraceotlp.UnimplementedGRPCServer
	next ptraceotlp.GRPCClient

	mu        sync.Mutex
	resources []map[string]string
}

func (t *teeOTLP) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	rss := req.Traces().ResourceSpans()
	t.mu.Lock()
	for i := range rss.Len() {
		m := map[string]string{}
		rss.At(i).Resource().Attributes().Range(func(k string, v pcommon.Value) bool {
			m[k] = v.AsString()
			return true
		})
		t.resources = append(t.resources, m)
	}
	t.mu.Unlock()
	return t.next.Export(ctx, req)
}

// resourceOf returns the attributes of the first resource named service.
func (t *teeOTLP) resourceOf(service string) map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.resources {
		if r["service.name"] == service {
			return r
		}
	}
	return nil
}

// startBackend starts the embedded backend on loopback and the tee in
// front of it; it returns the tee's address.
func startBackend(t *testing.T) (*embedded.Backend, *teeOTLP, string) {
	t.Helper()
	b := embedded.New()
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Shutdown(context.Background()) })
	conn, err := grpc.NewClient(b.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tee := &teeOTLP{next: ptraceotlp.NewGRPCClient(conn)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, tee)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)
	return b, tee, l.Addr().String()
}

// inventory is a simulated inventory on the host's loopback: GET /stock,
// keeping the traceparent of every request.
type inventory struct {
	addr string
	mu   sync.Mutex
	got  []string
}

func startInventory(t *testing.T) *inventory {
	t.Helper()
	inv := &inventory{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stock", func(w http.ResponseWriter, r *http.Request) {
		inv.mu.Lock()
		inv.got = append(inv.got, r.Header.Get("Traceparent"))
		inv.mu.Unlock()
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	inv.addr = l.Addr().String()
	return inv
}

func (inv *inventory) traceparents() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return append([]string(nil), inv.got...)
}

// nodesTopology is checkout (image) -> inventory, and two more image
// nodes that wait each their way: search (its port, the default) and
// audit (a line of its output).
const nodesTopology = `name: nodes
services:
  checkout:
    image: %[1]s
    ports: {http: 8080}
    wait: {http: /healthz, timeout: 30s}
    calls-env: {inventory: INVENTORY_URL}
    routes:
      GET /reserve:
    calls:
      - {service: inventory, route: GET /stock}
  search:
    image: %[1]s
    ports: {http: 8080}
    routes:
      GET /healthz:
  audit:
    image: %[1]s
    ports: {http: 8080}
    env: {EXT_READY: "audit listening on {port}"}
    wait: {log: "audit listening on 8080", timeout: 30s}
    routes:
      GET /healthz:
  inventory:
    routes:
      GET /stock:
`

// nodeSpec is the spec of image node name of topo, its environment from
// launch.Env for run, plus extra.
func nodeSpec(topo *topology.Topology, name, run, logDir string, extra ...string) NodeSpec {
	s := topo.Service(name)
	return NodeSpec{
		Service: s,
		Env: func(a launch.Addrs) ([]string, error) {
			env, err := launch.Env(topo, s, s.Launch.Port, launch.Identity{RunID: run}, a, os.Getenv)
			return append(env, extra...), err
		},
		LogPath: filepath.Join(logDir, name, "output.log"),
	}
}
