package kube

// This file talks to the API server: the client's configuration, creating
// and deleting a run's objects, waiting for its pods.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config returns the client configuration: from kubeconfig when set, else
// $KUBECONFIG or ~/.kube/config (client-go's loading rules), else the
// in-cluster one of a pod.
func Config(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		if in, ierr := rest.InClusterConfig(); ierr == nil {
			return in, nil
		}
		return nil, fmt.Errorf("kubernetes configuration (kubeconfig from --kubeconfig, $KUBECONFIG or ~/.kube/config, or in a pod): %w", err)
	}
	// Certificates read once: with file names left in, client-go starts a
	// goroutine per process that watches them, and never stops it.
	if err := rest.LoadTLSFiles(cfg); err != nil {
		return nil, fmt.Errorf("kubernetes configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// CloseIdle closes the idle connections of the clients of cfg, which
// client-go's transport cache would otherwise keep, each with a goroutine,
// for the life of the process.
func CloseIdle(cfg *rest.Config) {
	if rt, err := rest.TransportFor(cfg); err == nil {
		utilnet.CloseIdleConnectionsFor(rt)
	}
}

// Client returns a clientset for kubeconfig (see Config).
func Client(kubeconfig string) (kubernetes.Interface, *rest.Config, error) {
	cfg, err := Config(kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cs, cfg, nil
}

// create creates objs in order. In a namespace the run was given, every
// object but the topology ConfigMap is owned by it, so deleting that
// ConfigMap removes the run.
func create(ctx context.Context, cs kubernetes.Interface, objs Objects) error {
	if ns := objs.Namespace; ns != nil {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create namespace %s: %w", ns.Name, err)
		}
	}
	var owner []metav1.OwnerReference
	for i, c := range objs.ConfigMaps {
		c.OwnerReferences = owner
		got, err := cs.CoreV1().ConfigMaps(c.Namespace).Create(ctx, c, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create configmap %s/%s: %w", c.Namespace, c.Name, err)
		}
		if i == 0 && objs.Namespace == nil {
			owner = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: got.Name, UID: got.UID}}
		}
	}
	for _, s := range objs.Secrets {
		s.OwnerReferences = owner
		if _, err := cs.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create secret %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	for _, s := range objs.Services {
		s.OwnerReferences = owner
		if _, err := cs.CoreV1().Services(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create service %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	for _, d := range objs.Deployments {
		d.OwnerReferences = owner
		if _, err := cs.AppsV1().Deployments(d.Namespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", d.Namespace, d.Name, err)
		}
	}
	for _, s := range objs.StatefulSets {
		s.OwnerReferences = owner
		if _, err := cs.AppsV1().StatefulSets(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create statefulset %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	return nil
}

// podCount is how many pods objs run.
func podCount(objs Objects) int {
	n := 0
	for _, d := range objs.Deployments {
		n += int(*d.Spec.Replicas)
	}
	for _, s := range objs.StatefulSets {
		n += int(*s.Spec.Replicas)
	}
	return n
}

// runSelector selects everything of run id.
func runSelector(id string) string { return RunLabel + "=" + id }

// waitReady waits until want pods of run id in ns are ready, polling; on
// timeout it says which are not and why (the container's waiting reason:
// an image that cannot be pulled, a crash loop).
func waitReady(ctx context.Context, cs kubernetes.Interface, ns, id string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last []string
	for {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: runSelector(id)})
		if err == nil {
			ready := 0
			last = last[:0]
			for i := range pods.Items {
				if podReady(&pods.Items[i]) {
					ready++
				} else {
					last = append(last, podProblem(&pods.Items[i]))
				}
			}
			if ready >= want && len(last) == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			slices.Sort(last)
			return fmt.Errorf("wait for %d pods in namespace %s to be ready: %w; not ready: %s",
				want, ns, ctx.Err(), strings.Join(last, "; "))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// podReady reports whether the pod runs, ready, and is not being deleted.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podProblem says why a pod is not ready.
func podProblem(p *corev1.Pod) string {
	why := string(p.Status.Phase)
	for _, c := range p.Status.ContainerStatuses {
		switch {
		case c.State.Waiting != nil:
			why = c.State.Waiting.Reason
			if m := c.State.Waiting.Message; m != "" {
				why += ": " + m
			}
		case c.State.Terminated != nil:
			why = fmt.Sprintf("%s (exit code %d)", c.State.Terminated.Reason, c.State.Terminated.ExitCode)
		case c.State.Running != nil && !c.Ready:
			why = "running, not ready"
		}
	}
	return p.Name + ": " + why
}

// backendPod returns the name of the ready pod of the run's Deployment
// name.
func backendPod(ctx context.Context, cs kubernetes.Interface, ns, id, name string) (string, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: runSelector(id) + "," + ServiceLabel + "=" + name})
	if err != nil {
		return "", fmt.Errorf("find the %s pod: %w", name, err)
	}
	for i := range pods.Items {
		if podReady(&pods.Items[i]) {
			return pods.Items[i].Name, nil
		}
	}
	return "", fmt.Errorf("find the %s pod: none is ready in namespace %s", name, ns)
}

// Delete removes run id: its namespace when it has its own (ownNS), else
// its objects in ns by label (the ConfigMap that owns them first), then
// waits until its pods are gone (at most a minute).
func Delete(ctx context.Context, cs kubernetes.Interface, ns, id string, ownNS bool) error {
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if ownNS {
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, opts); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete namespace %s: %w", ns, err)
		}
		return nil
	}
	sel := metav1.ListOptions{LabelSelector: runSelector(id)}
	errs := []error{
		cs.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, opts, sel),
		cs.CoreV1().Secrets(ns).DeleteCollection(ctx, opts, sel),
		cs.AppsV1().StatefulSets(ns).DeleteCollection(ctx, opts, sel),
		cs.AppsV1().Deployments(ns).DeleteCollection(ctx, opts, sel),
		cs.AppsV1().ReplicaSets(ns).DeleteCollection(ctx, opts, sel),
		cs.CoreV1().Pods(ns).DeleteCollection(ctx, opts, sel),
	}
	svcs, err := cs.CoreV1().Services(ns).List(ctx, sel)
	errs = append(errs, err)
	if err == nil {
		for _, s := range svcs.Items {
			if err := cs.CoreV1().Services(ns).Delete(ctx, s.Name, opts); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete run %s in namespace %s: %w", id, ns, err)
	}
	return nil
}

// podMemory returns the working set of the run's pods in bytes, by pod,
// from the kubelet's stats summary through the API server's node proxy.
func podMemory(ctx context.Context, cs kubernetes.Interface, ns, id string) (map[string]uint64, error) {
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: runSelector(id)})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	nodes := map[string]bool{}
	for _, p := range pods.Items {
		nodes[p.Spec.NodeName] = true
	}
	out := map[string]uint64{}
	for node := range nodes {
		raw, err := cs.CoreV1().RESTClient().Get().Resource("nodes").Name(node).SubResource("proxy", "stats", "summary").DoRaw(ctx)
		if err != nil {
			return nil, fmt.Errorf("stats of node %s: %w", node, err)
		}
		var sum struct {
			Pods []struct {
				PodRef struct{ Name, Namespace string } `json:"podRef"`
				Memory struct {
					WorkingSet *uint64 `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"pods"`
		}
		if err := json.Unmarshal(raw, &sum); err != nil {
			return nil, fmt.Errorf("stats of node %s: %w", node, err)
		}
		for _, p := range sum.Pods {
			// A pod the kubelet has not measured yet has none, or 0.
			if p.PodRef.Namespace == ns && p.Memory.WorkingSet != nil && *p.Memory.WorkingSet > 0 {
				out[p.PodRef.Name] = *p.Memory.WorkingSet
			}
		}
	}
	return out, nil
}
