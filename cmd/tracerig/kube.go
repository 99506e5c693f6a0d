package main

import (
	"slices"

	"github.com/spf13/pflag"

	"github.com/tracerig/tracerig/scenarios"
	"github.com/tracerig/tracerig/topology"
)

// kubeFlags are the flags of a run on Kubernetes, shared by run and render.
type kubeFlags struct {
	kubeconfig, namespace, image, jaegerImage, pullPolicy *string
}

// add defines the flags on fs.
func (k *kubeFlags) add(fs *pflag.FlagSet) {
	k.kubeconfig = fs.String("kubeconfig", "", "kubeconfig `FILE` of runtime kubernetes (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	k.namespace = fs.String("namespace", "", "existing `NAMESPACE` for runtime kubernetes (default: a namespace of the run's own, deleted after it)")
	k.image = fs.String("kube-image", "", "tracerig's `IMAGE` the pods of runtime kubernetes run, in a registry the cluster pulls from or loaded into its nodes")
	k.jaegerImage = fs.String("kube-jaeger-image", "", "Jaeger's `IMAGE` for backend jaeger on runtime kubernetes")
	k.pullPolicy = fs.String("kube-pull-policy", "", "the pods' image pull `POLICY`: Always, IfNotPresent or Never (default: Kubernetes')")
}

// options returns the flags as the scenarios' options.
func (k *kubeFlags) options() (scenarios.KubernetesOptions, error) {
	if p := *k.pullPolicy; p != "" && !slices.Contains([]string{"Always", "IfNotPresent", "Never"}, p) {
		return scenarios.KubernetesOptions{}, usageError("--kube-pull-policy must be Always, IfNotPresent or Never, got %q", p)
	}
	return scenarios.KubernetesOptions{Kubeconfig: *k.kubeconfig, Namespace: *k.namespace, Image: *k.image,
		JaegerImage: *k.jaegerImage, PullPolicy: *k.pullPolicy}, nil
}

// parseRuntime checks a --runtime value.
func parseRuntime(s string) (topology.Runtime, error) {
	r := topology.Runtime(s)
	if !slices.Contains(topology.Runtimes, r) {
		return "", usageError("--runtime must be one of %v, got %q", topology.Runtimes, s)
	}
	return r, nil
}
