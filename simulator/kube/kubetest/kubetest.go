// Package kubetest gives tests the Kubernetes cluster they run against
// (tools/kubernetes/up.sh makes one on this machine): its client, tracerig's
// images loaded into it, and the check that a run left nothing behind.
package kubetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tracerig/tracerig/internal/kubecluster"
	"github.com/tracerig/tracerig/simulator/containers"
	"github.com/tracerig/tracerig/simulator/kube"
)

// Cluster returns a client of the test cluster (kubecluster.Kubeconfig),
// once it answers, and points $KUBECONFIG at it for the code under test;
// without one the test is skipped, or fails with TRACERIG_REQUIRE_KUBERNETES
// set.
func Cluster(t testing.TB) kubernetes.Interface {
	t.Helper()
	path, err := kubecluster.Kubeconfig()
	var cs kubernetes.Interface
	if err == nil {
		var cfg *rest.Config
		if cs, cfg, err = kube.Client(path); err == nil {
			t.Cleanup(func() { kube.CloseIdle(cfg) })
			_, err = cs.Discovery().ServerVersion()
		}
	}
	if err != nil {
		if kubecluster.Required() {
			t.Fatalf("%s is set: no cluster answers: %v", kubecluster.RequireEnv, err)
		}
		t.Skipf("no Kubernetes cluster: %v", err)
	}
	if os.Getenv("KUBECONFIG") != path {
		t.Setenv("KUBECONFIG", path)
	}
	return cs
}

// Image builds tracerig's service image with Docker (as runtime containers
// does) and loads it into the cluster's nodes (tools/kubernetes/
// load-image.sh); the pods run it with pull policy Never.
func Image(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := docker(t, ctx)
	defer cli.Close()
	image, err := containers.EnsureImage(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	Load(t, image)
	return image
}

// JaegerImage builds Jaeger's image around the binary bin and loads it.
func JaegerImage(t testing.TB, bin string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cli := docker(t, ctx)
	defer cli.Close()
	image, err := containers.EnsureJaegerImage(ctx, cli, bin)
	if err != nil {
		t.Fatal(err)
	}
	Load(t, image)
	return image
}

// docker returns a Docker client for building images, with testcontainers'
// Ryuk off as the tracerig command turns it off (it cannot start here).
func docker(t testing.TB, ctx context.Context) *testcontainers.DockerClient {
	t.Helper()
	if os.Getenv(containers.RyukEnv) == "" {
		os.Setenv(containers.RyukEnv, "true")
	}
	cli, err := containers.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// Load imports Docker images into the test cluster's container runtime.
func Load(t testing.TB, images ...string) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "tools", "kubernetes", "load-image.sh")}, images...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("load %v into the cluster: %v\n%s", images, err, out)
	}
}

// NothingLeft fails the test when anything labelled with run ID id is still
// in the cluster once deletion has had a minute: namespaces, pods,
// services, StatefulSets, Deployments, Jobs, ConfigMaps.
func NothingLeft(t testing.TB, cs kubernetes.Interface, id string) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: kube.RunLabel + "=" + id}
	var left []string
	for deadline := time.Now().Add(time.Minute); ; {
		left = left[:0]
		if l, err := cs.CoreV1().Namespaces().List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "namespace "+o.Name+" ("+string(o.Status.Phase)+")")
			}
		}
		if l, err := cs.CoreV1().Pods("").List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "pod "+o.Namespace+"/"+o.Name)
			}
		}
		if l, err := cs.CoreV1().Services("").List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "service "+o.Namespace+"/"+o.Name)
			}
		}
		if l, err := cs.CoreV1().ConfigMaps("").List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "configmap "+o.Namespace+"/"+o.Name)
			}
		}
		if l, err := cs.AppsV1().StatefulSets("").List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "statefulset "+o.Namespace+"/"+o.Name)
			}
		}
		if l, err := cs.AppsV1().Deployments("").List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "deployment "+o.Namespace+"/"+o.Name)
			}
		}
		if l, err := cs.BatchV1().Jobs("").List(ctx, sel); err == nil {
			for _, o := range l.Items {
				left = append(left, "job "+o.Namespace+"/"+o.Name)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("run %s left in the cluster: %s", id, strings.Join(left, ", "))
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
