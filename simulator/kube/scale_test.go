package kube_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/simulator/kube/kubetest"
	"github.com/tracerig/tracerig/topology"
)

// wideTopology is a topology of n services: svc-0 calls svc-1 to svc-k,
// each of which calls the next k, a tree of fan-out k.
func wideTopology(n, k int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name: wide-%d\nservices:\n", n)
	for i := range n {
		fmt.Fprintf(&b, "  svc-%d:\n    routes:\n      GET /:\n        latency: 1ms\n", i)
		var calls []string
		for c := i*k + 1; c <= i*k+k && c < n; c++ {
			calls = append(calls, fmt.Sprintf("          - svc-%d: GET /\n", c))
		}
		if len(calls) > 0 {
			b.WriteString("        calls:\n" + strings.Join(calls, ""))
		}
	}
	return []byte(b.String())
}

// startOn brings topo (source src) up on the cluster and returns the
// runtime, closed and checked for leftovers when the test ends.
func startOn(t *testing.T, image string, src []byte) *kube.Runtime {
	t.Helper()
	cs := kubetest.Cluster(t)
	topo, err := topology.ParseTopology("topology.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	id, err := simulator.NewRunID()
	if err != nil {
		t.Fatal(err)
	}
	serve := control.DefaultServeConfig()
	r := kube.New(topo, id.String(), kube.Options{Plan: kube.Plan{Image: image, PullPolicy: "Never", Source: src, Serve: serve}})
	t.Cleanup(func() {
		r.Close(context.Background())
		kubetest.NothingLeft(t, cs, id.String())
	})
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestKubernetesScale brings a topology of 50 services up on the cluster
// and says how long it took to be ready, against one service brought up
// the same way, and what each pod uses. It runs with TRACERIG_KUBE_SCALE=1
// (it holds the cluster for a minute or two):
//
//	TRACERIG_KUBE_SCALE=1 go test -v -count=1 -run TestKubernetesScale ./simulator/kube/
func TestKubernetesScale(t *testing.T) {
	if os.Getenv("TRACERIG_KUBE_SCALE") != "1" {
		t.Skip("TRACERIG_KUBE_SCALE=1 runs it")
	}
	kubetest.Cluster(t)
	image := kubetest.Image(t)
	floor := startOn(t, image, wideTopology(1, 1))
	r := startOn(t, image, wideTopology(50, 3))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// The kubelet's summary lags a pod's start: wait for every pod's.
	var mem map[string]uint64
	for {
		m, err := r.Memory(ctx)
		if err == nil && len(m) >= 51 {
			mem = m
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("memory of the pods: %v (%d of 51 pods)", err, len(m))
		}
		time.Sleep(time.Second)
	}
	var sizes []float64
	for pod, b := range mem {
		if strings.HasPrefix(pod, "svc-") {
			sizes = append(sizes, float64(b)/(1<<20))
		}
	}
	slices.Sort(sizes)
	var sum float64
	for _, s := range sizes {
		sum += s
	}
	fmt.Printf("50 services on kubernetes: ready in %s = %.1f× one service's %s; memory per service pod (working set): mean %.1f MiB, min %.1f, max %.1f over %d pods\n",
		r.Startup.Round(time.Millisecond), r.Startup.Seconds()/floor.Startup.Seconds(), floor.Startup.Round(time.Millisecond),
		sum/float64(len(sizes)), sizes[0], sizes[len(sizes)-1], len(sizes))
	if len(sizes) != 50 {
		t.Errorf("memory of %d service pods, want 50", len(sizes))
	}
}
