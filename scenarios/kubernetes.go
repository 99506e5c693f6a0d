package scenarios

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tracerig/tracerig/fixtures/embedded"
	"github.com/tracerig/tracerig/fixtures/jaeger"
	"github.com/tracerig/tracerig/internal/otlpconf"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/simulator/kube"
	"github.com/tracerig/tracerig/topology"
)

// KubernetesOptions configure runs with runtime kubernetes.
type KubernetesOptions struct {
	// Kubeconfig is the kubeconfig file; "" takes $KUBECONFIG, the default
	// path, or the in-cluster configuration.
	Kubeconfig string
	// Namespace, when set, is an existing namespace the run goes in;
	// otherwise each run has a namespace of its own.
	Namespace string
	// Image is tracerig's image the pods run (`serve`, `backend`); the
	// cluster must hold it or be able to pull it. Required.
	Image string
	// JaegerImage is Jaeger's, for backend jaeger (an image FROM scratch
	// around tools/jaeger's binary, as `runtime: containers` builds).
	JaegerImage string
	// PullPolicy is the pods' image pull policy ("" for Kubernetes'
	// default; Never for images loaded into the nodes).
	PullPolicy string
}

// startKubernetes brings the scenario up with `runtime: kubernetes`: every
// instance in a pod, the backend (embedded or Jaeger) in the cluster and
// read back through a port-forward, or the user's OTLP endpoint, which the
// pods must reach.
func startKubernetes(ctx context.Context, sc *topology.Scenario, seed uint64, loads []topology.Load, opts Options) (*kube.Runtime, *sink, error) {
	plan, maxTraces, err := kubePlan(sc, seed, loads, opts)
	if err != nil {
		return nil, nil, &RuntimeError{err}
	}
	ko := opts.Kubernetes
	krt := kube.New(sc.Topology, opts.RunID.String(), kube.Options{
		Kubeconfig: ko.Kubeconfig, Namespace: ko.Namespace, Plan: plan, Log: opts.Progress,
	})
	if err := krt.Start(ctx); err != nil {
		return nil, nil, &RuntimeError{fmt.Errorf("start topology %s on kubernetes: %w", sc.Topology.Name, err)}
	}
	var snk *sink
	switch {
	case plan.Backend == kube.BackendEndpoint:
		// Read back from here, when the backend has a query API this host
		// reaches; otherwise the checks that need it are not run.
		if snk, err = openSink(ctx, sc.Backend, sc.File, opts.OTLPEndpoint, opts.RunID, opts.getenv()); err != nil {
			krt.Close(context.WithoutCancel(ctx))
			return nil, nil, err
		}
	case plan.Backend == kube.BackendJaeger:
		snk = &sink{backend: jaeger.New("jaeger:4317 (kubernetes)", krt.BackendURL(), jaeger.WithMaxTraces(maxTraces)), opened: time.Now()}
	default:
		snk = &sink{backend: embedded.NewRemote("backend:4317 (kubernetes)", krt.BackendURL()), opened: time.Now()}
	}
	return krt, snk, nil
}

// kubePlan returns the plan of sc's objects on Kubernetes, and the size of
// Jaeger's store for backend jaeger.
func kubePlan(sc *topology.Scenario, seed uint64, loads []topology.Load, opts Options) (kube.Plan, int, error) {
	ko := opts.Kubernetes
	if ko.Image == "" {
		return kube.Plan{}, 0, errors.New("runtime kubernetes: no image for the pods (--kube-image: tracerig's image, in a registry the cluster pulls from or loaded into its nodes)")
	}
	src, err := scenarioSource(sc)
	if err != nil {
		return kube.Plan{}, 0, fmt.Errorf("runtime kubernetes: %w", err)
	}
	serve := control.DefaultServeConfig()
	serve.Seed = seed
	serve.ExportRetry = exportRetryFor(opts).MaxElapsedTime
	serve.RunID = opts.RunID.String()
	serve.IsolateIDs = sharedBackend(sc.Backend, opts.OTLPEndpoint)
	serve.ResourceAttributes = otlpconf.FormatResourceAttributes(opts.ResourceAttributes)
	plan := kube.Plan{Image: ko.Image, PullPolicy: corev1.PullPolicy(ko.PullPolicy), Source: src, Serve: serve}
	switch {
	case kubeEndpoint(sc, opts):
		export, err := exportConfig(sc.Backend, "", opts.OTLPEndpoint, opts.getenv())
		if err != nil {
			return kube.Plan{}, 0, err
		}
		plan.Backend = kube.BackendEndpoint
		if err := kubeExport(&plan, export); err != nil {
			return kube.Plan{}, 0, err
		}
		return plan, 0, nil
	case sc.Backend.Type == topology.BackendJaeger:
		if ko.JaegerImage == "" {
			return kube.Plan{}, 0, errors.New("runtime kubernetes: backend jaeger needs Jaeger's image (--kube-jaeger-image)")
		}
		maxTraces := sizeBackend(sc.Backend, loads).MaxTraces
		plan.Backend, plan.JaegerImage = kube.BackendJaeger, ko.JaegerImage
		plan.JaegerConfig = jaeger.Config("0.0.0.0:4317", "0.0.0.0:16686", "0.0.0.0:16685", maxTraces)
		return plan, maxTraces, nil
	}
	plan.Backend = kube.BackendEmbedded
	return plan, 0, nil
}

// KubernetesObjects returns the objects a run of sc on Kubernetes creates,
// with opts' image, namespace and run ID (opts.RunID; its seed, loads and
// identity as a run would have them): what `tracerig render kubernetes`
// writes. Without opts.Kubernetes.Namespace they include the run's own
// namespace.
func KubernetesObjects(sc *topology.Scenario, opts Options) (kube.Objects, error) {
	ev := newEvidence(context.Background(), sc, opts)
	plan, _, err := kubePlan(sc, ev.Seed, ev.Loads, opts)
	if err != nil {
		return kube.Objects{}, err
	}
	plan.RunID = opts.RunID.String()
	plan.Namespace, plan.CreateNamespace = opts.Kubernetes.Namespace, opts.Kubernetes.Namespace == ""
	if plan.CreateNamespace {
		plan.Namespace = "tracerig-" + plan.RunID
	}
	return plan.Objects(sc.Topology)
}

// kubeEndpoint reports whether the pods of sc export to an OTLP endpoint of
// the user's (an otlp backend, or --otlp-endpoint), which they must reach.
func kubeEndpoint(sc *topology.Scenario, opts Options) bool {
	return opts.OTLPEndpoint != "" || sc.Backend.Type == topology.BackendOTLP
}

// kubeExport sets plan's endpoint and the instances' export settings to
// c's: protocol, timeout and compression in their environment, header
// values in the run's Secret, certificate files in it too, mounted.
func kubeExport(plan *kube.Plan, c otlpconf.Config) error {
	p, err := c.ForProcess(kube.SecretDir)
	if err != nil {
		return fmt.Errorf("runtime kubernetes: %w", err)
	}
	plan.Endpoint, plan.SecretFiles = p.Endpoint, p.Files
	if p.Headers != "" {
		plan.SecretEnv = map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": p.Headers}
	}
	for _, k := range slices.Sorted(maps.Keys(p.Env)) {
		plan.ExportEnv = append(plan.ExportEnv, corev1.EnvVar{Name: k, Value: p.Env[k]})
	}
	return nil
}
