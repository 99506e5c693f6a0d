package kube

// This file finds the pods of a sharded blast and says what became of one.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// ShardPods are the ready pods of a sharded blast.
type ShardPods struct {
	Shards  []string // by completion index
	Backend string   // the embedded backend's pod; "" without one
}

// WaitShards waits until a ready pod runs every one of n shards of run id
// in ns, and the embedded backend's when backend is set. It fails at once
// when a shard's pod ended before it was ready, naming the pod and why,
// and on timeout names every pod not ready and why.
func WaitShards(ctx context.Context, cs kubernetes.Interface, ns, id string, n int, backend bool, timeout time.Duration) (ShardPods, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []string
	for {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: runSelector(id)})
		if err == nil {
			got, missing, ended := readyShards(pods.Items, n, backend)
			if len(ended) > 0 {
				return ShardPods{}, fmt.Errorf("shards of run %s in namespace %s: %s", id, ns, strings.Join(ended, "; "))
			}
			if len(missing) == 0 {
				return got, nil
			}
			last = missing
		}
		select {
		case <-ctx.Done():
			return ShardPods{}, fmt.Errorf("wait for %d shards in namespace %s to be ready: %w; not ready: %s",
				n, ns, ctx.Err(), strings.Join(last, "; "))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// readyShards sorts pods into the ready shards (and backend), what is not
// ready yet and why, and the shards' pods that ended.
func readyShards(pods []corev1.Pod, n int, backend bool) (got ShardPods, missing, ended []string) {
	got.Shards = make([]string, n)
	why := make([]string, n)
	for i := range pods {
		p := &pods[i]
		switch p.Labels[ServiceLabel] {
		case BackendName:
			if podReady(p) {
				got.Backend = p.Name
			} else if backend && got.Backend == "" {
				missing = append(missing, podProblem(p))
			}
		case ShardJobName:
			idx, err := strconv.Atoi(p.Annotations[batchv1.JobCompletionIndexAnnotation])
			if err != nil || idx < 0 || idx >= n {
				continue
			}
			switch {
			case p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded:
				ended = append(ended, podProblem(p))
			case podReady(p):
				got.Shards[idx] = p.Name
			default:
				why[idx] = podProblem(p)
			}
		}
	}
	if backend && got.Backend == "" && len(missing) == 0 {
		missing = append(missing, "the backend: no pod yet")
	}
	for i, pod := range got.Shards {
		if pod != "" {
			continue
		}
		if why[i] == "" {
			why[i] = "shard " + strconv.Itoa(i) + ": no pod yet"
		}
		missing = append(missing, why[i])
	}
	slices.Sort(ended)
	return got, missing, ended
}

// PodEnd says why pod ns/name is not running: its container's
// termination reason and exit code, "deleted", or its phase; "" while it
// runs.
func PodEnd(ctx context.Context, cs kubernetes.Interface, ns, name string) string {
	p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case errNotFound(err):
		return "pod deleted"
	case err != nil:
		return "pod state unknown: " + err.Error()
	case p.DeletionTimestamp != nil:
		return "pod being deleted"
	case p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending:
		return ""
	}
	return strings.TrimPrefix(podProblem(p), p.Name+": ")
}

// PodCPU returns the CPU time pod ns/name has used over its life, and
// when that was measured, from its node's kubelet summary (through the API
// server's node proxy). The kubelet refreshes it every ten seconds or so.
func PodCPU(ctx context.Context, cs kubernetes.Interface, ns, name string) (time.Duration, time.Time, error) {
	p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("cpu of pod %s: %w", name, err)
	}
	raw, err := cs.CoreV1().RESTClient().Get().Resource("nodes").Name(p.Spec.NodeName).SubResource("proxy", "stats", "summary").DoRaw(ctx)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("cpu of pod %s: stats of node %s: %w", name, p.Spec.NodeName, err)
	}
	var sum struct {
		Pods []struct {
			PodRef struct{ Name, Namespace string } `json:"podRef"`
			CPU    struct {
				Time                 time.Time `json:"time"`
				UsageCoreNanoSeconds *uint64   `json:"usageCoreNanoSeconds"`
			} `json:"cpu"`
		} `json:"pods"`
	}
	if err := json.Unmarshal(raw, &sum); err != nil {
		return 0, time.Time{}, fmt.Errorf("cpu of pod %s: stats of node %s: %w", name, p.Spec.NodeName, err)
	}
	for _, s := range sum.Pods {
		if s.PodRef.Namespace == ns && s.PodRef.Name == name && s.CPU.UsageCoreNanoSeconds != nil {
			return time.Duration(*s.CPU.UsageCoreNanoSeconds), s.CPU.Time, nil
		}
	}
	return 0, time.Time{}, fmt.Errorf("cpu of pod %s: not in the stats of node %s yet", name, p.Spec.NodeName)
}
