package kube_test

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/simulator/kube/kubetest"
)

// TestClean leaves two runs in the cluster as a process that died would
// and one that still runs: the sweep of orphans removes only the first, a
// clean of the other's ID the other. (Other tests' runs may be in the
// cluster at the same time: it never cleans every run.)
func TestClean(t *testing.T) {
	cs := kubetest.Cluster(t)
	image := kubetest.Image(t)
	dead := startOn(t, image, wideTopology(1, 1))
	alive := startOn(t, image, wideTopology(1, 1))
	// The first run's process is gone: its namespace names a PID that
	// no process has.
	patch := []byte(`{"metadata":{"annotations":{"` + kube.PIDAnnotation + `":"2147483646"}}}`)
	if _, err := cs.CoreV1().Namespaces().Patch(t.Context(), dead.Namespace(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	ids, err := kube.Clean(t.Context(), cs, kube.CleanOptions{Orphans: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ids, dead.RunID()) || slices.Contains(ids, alive.RunID()) {
		t.Errorf("orphans swept: %v; want %s and not %s", ids, dead.RunID(), alive.RunID())
	}
	kubetest.NothingLeft(t, cs, dead.RunID())
	if ids, err = kube.Clean(context.Background(), cs, kube.CleanOptions{Run: alive.RunID()}); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != alive.RunID() {
		t.Errorf("clean removed %v; want %s", ids, alive.RunID())
	}
	kubetest.NothingLeft(t, cs, alive.RunID())
}
