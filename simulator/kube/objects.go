package kube

// This file turns a topology into the Kubernetes objects that run it: the
// objects a run creates and `tracerig render kubernetes` writes, from one
// definition.

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// Labels and annotations on everything a run makes.
const (
	// ManagedByLabel is app.kubernetes.io/managed-by=tracerig.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	managedBy      = "tracerig"
	// RunLabel carries the run's ID: one label selector lists a run.
	RunLabel = "tracerig.dev/run"
	// ServiceLabel names the simulated service of a pod, or "backend",
	// "jaeger".
	ServiceLabel = "tracerig.dev/service"
	// HostAnnotation and PIDAnnotation say which process on which host
	// made a run, so `tracerig clean` knows a run whose process is gone.
	HostAnnotation = "tracerig.dev/host"
	PIDAnnotation  = "tracerig.dev/pid"
	// podIndexLabel is the StatefulSet controller's label of a pod's
	// ordinal: the instance index the pod runs.
	podIndexLabel = "apps.kubernetes.io/pod-index"
	// podNameLabel is the StatefulSet controller's label of a pod's name,
	// which the per-instance Services select.
	podNameLabel = "statefulset.kubernetes.io/pod-name"
)

// Ports of every pod.
const (
	ServicePort = 8080
	ControlPort = 9090
	OTLPPort    = 4317
	QueryPort   = 4318
	// JaegerQueryPort is Jaeger's HTTP query API.
	JaegerQueryPort = 16686
)

// Names of the run's shared objects.
const (
	// SourceName is the ConfigMap holding the topology source (and the
	// owner of every other object of a run in a namespace it was given).
	SourceName = "tracerig-topology"
	// SecretName is the Secret of the export settings that are secret.
	SecretName = "tracerig-export"
	// SecretDir is where the instances find SecretFiles.
	SecretDir = "/etc/tracerig/otlp"
	// BackendName is the embedded backend's Deployment and Service.
	BackendName = "backend"
	// JaegerName is Jaeger's Deployment, Service and config ConfigMap.
	JaegerName = "jaeger"
	// topologyDir is where the topology source is mounted in the pods.
	topologyDir = "/etc/tracerig"
	sourceKey   = "topology.yaml"
	jaegerKey   = "jaeger.yaml"
)

// Backend is what the pods export to.
type Backend string

const (
	// BackendEmbedded runs tracerig's embedded backend as a Deployment.
	BackendEmbedded Backend = "embedded"
	// BackendJaeger runs Jaeger as a Deployment (Plan.JaegerImage).
	BackendJaeger Backend = "jaeger"
	// BackendEndpoint runs none: the pods export to Plan.Endpoint.
	BackendEndpoint Backend = "endpoint"
)

// Plan is what a run on Kubernetes is made of, beside its topology.
type Plan struct {
	// Namespace holds the run's objects; CreateNamespace makes the Plan
	// create it (a namespace per run) rather than use an existing one.
	Namespace       string
	CreateNamespace bool
	// RunID labels every object (RunLabel).
	RunID string
	// Image is tracerig's image (`serve`, `backend`); PullPolicy its pull
	// policy ("" leaves Kubernetes' default).
	Image      string
	PullPolicy corev1.PullPolicy
	// Source is the topology or scenario file the pods read.
	Source []byte
	// Serve is the serve settings every instance shares (seed, run ID,
	// IDs, resource attributes, export retry); service, instance, peers,
	// addresses and endpoint are the Plan's.
	Serve control.ServeConfig
	// Backend is what the pods export to; Endpoint the OTLP endpoint of
	// BackendEndpoint; JaegerImage and JaegerConfig Jaeger's image and
	// configuration for BackendJaeger (OTLP/gRPC on 0.0.0.0:4317, query API
	// on 0.0.0.0:16686).
	Backend      Backend
	Endpoint     string
	JaegerImage  string
	JaegerConfig string
	// ExportEnv is the OTEL_EXPORTER_OTLP_* environment of the instances
	// that is no secret; SecretEnv the part that is (header values): it is
	// kept in a Secret the pods read their environment from, never in an
	// object's spec or a command line.
	ExportEnv []corev1.EnvVar
	SecretEnv map[string]string
	// SecretFiles are files the instances read (the export's
	// certificates), by name: kept in the same Secret and mounted at
	// SecretDir.
	SecretFiles map[string][]byte
	// Annotations go on every object (HostAnnotation, PIDAnnotation).
	Annotations map[string]string
}

// Objects are a run's Kubernetes objects, in the order they are created.
type Objects struct {
	Namespace    *corev1.Namespace // nil in a namespace given
	ConfigMaps   []*corev1.ConfigMap
	Secrets      []*corev1.Secret
	Services     []*corev1.Service
	Deployments  []*appsv1.Deployment
	StatefulSets []*appsv1.StatefulSet
}

// Instance is a simulated service's instance as the Plan names it.
type Instance struct {
	Service string // the topology's name
	Index   int
	Pod     string // the pod's name (StatefulSet ordinal)
}

var dnsLabelRE = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// ObjectName returns the Kubernetes name of a service of the topology: its
// name where that is a DNS label, else with '.' and '_' as '-' and an "s-"
// before a leading digit.
func ObjectName(service string) string {
	n := strings.NewReplacer(".", "-", "_", "-").Replace(service)
	if n != "" && n[0] >= '0' && n[0] <= '9' {
		n = "s-" + n
	}
	return strings.TrimRight(n, "-")
}

// names maps every simulated service to its object name, rejecting names
// Kubernetes cannot take and two services that would share one.
func names(topo *topology.Topology) (map[string]string, error) {
	out := map[string]string{}
	taken := map[string]string{BackendName: "the backend", JaegerName: "jaeger", SourceName: "the topology"}
	var errs []error
	for _, s := range topo.Services {
		if s.IsExternal() {
			continue
		}
		n := ObjectName(s.Name)
		// The longest instance Service: name-<index>.
		if long := n + "-" + strconv.Itoa(s.Instances-1); len(long) > 63 || !dnsLabelRE.MatchString(n) {
			errs = append(errs, fmt.Errorf("service %q: %q is not a Kubernetes name (a DNS label of at most 63 characters with the instance index)", s.Name, n))
			continue
		}
		if other, ok := taken[n]; ok {
			errs = append(errs, fmt.Errorf("service %q: its Kubernetes name %q is %s's too", s.Name, n, other))
			continue
		}
		taken[n] = fmt.Sprintf("service %q", s.Name)
		for i := range s.Instances {
			taken[n+"-"+strconv.Itoa(i)] = fmt.Sprintf("an instance of service %q", s.Name)
		}
		out[s.Name] = n
	}
	return out, errors.Join(errs...)
}

// Instances returns the simulated instances of topo, in topology order.
func Instances(topo *topology.Topology) ([]Instance, error) {
	n, err := names(topo)
	if err != nil {
		return nil, err
	}
	var out []Instance
	for _, s := range topo.Services {
		if s.IsExternal() {
			continue
		}
		for i := range s.Instances {
			out = append(out, Instance{Service: s.Name, Index: i, Pod: n[s.Name] + "-" + strconv.Itoa(i)})
		}
	}
	return out, nil
}

// Objects returns the objects that run topo as p says: the topology's
// ConfigMap; per simulated service a Service over its instances, one
// Service per instance (a stable address callers balance over, as they do
// in every runtime) and a StatefulSet of as many replicas as instances,
// each pod running `serve` for its ordinal; the backend's Deployment and
// Service. The instances find their peers and the backend through the
// Service environment variables Kubernetes gives every pod (no cluster DNS
// is needed), so the Services come before the workloads.
func (p Plan) Objects(topo *topology.Topology) (Objects, error) {
	if p.Image == "" {
		return Objects{}, errors.New("kubernetes objects: no image")
	}
	n, err := names(topo)
	if err != nil {
		return Objects{}, fmt.Errorf("kubernetes objects: %w", err)
	}
	var o Objects
	if p.CreateNamespace {
		o.Namespace = &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: p.meta(p.Namespace, "")}
		o.Namespace.Namespace = ""
	}
	src := &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: p.meta(SourceName, ""),
		Data: map[string]string{sourceKey: string(p.Source)}}
	o.ConfigMaps = append(o.ConfigMaps, src)
	if len(p.SecretEnv)+len(p.SecretFiles) > 0 {
		sec := &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: p.meta(SecretName, ""), Type: corev1.SecretTypeOpaque}
		if len(p.SecretEnv) > 0 {
			sec.StringData = p.SecretEnv
		}
		if len(p.SecretFiles) > 0 {
			sec.Data = p.SecretFiles
		}
		o.Secrets = append(o.Secrets, sec)
	}
	endpoint, err := p.backendObjects(&o)
	if err != nil {
		return Objects{}, err
	}
	peers := map[string][]string{}
	for _, s := range topo.Services {
		if s.IsExternal() {
			continue
		}
		name := n[s.Name]
		o.Services = append(o.Services, p.service(name, s.Name, map[string]string{ServiceLabel: name}))
		for i := range s.Instances {
			pod := name + "-" + strconv.Itoa(i)
			o.Services = append(o.Services, p.service(pod, s.Name, map[string]string{podNameLabel: pod}))
			peers[s.Name] = append(peers[s.Name], envRef(pod)+":"+strconv.Itoa(ServicePort))
		}
	}
	for _, s := range topo.Services {
		if s.IsExternal() {
			continue
		}
		o.StatefulSets = append(o.StatefulSets, p.statefulSet(n[s.Name], s, peers, endpoint))
	}
	return o, nil
}

// backendObjects adds the backend's objects and returns the OTLP endpoint
// the instances export to.
func (p Plan) backendObjects(o *Objects) (string, error) {
	switch p.Backend {
	case BackendEmbedded, "":
		args := append([]string{"backend"}, control.BackendConfig{
			GRPCAddr: "0.0.0.0:" + strconv.Itoa(OTLPPort), HTTPAddr: "0.0.0.0:" + strconv.Itoa(QueryPort)}.Args()...)
		c := p.container("backend", p.Image, args, []int32{OTLPPort, QueryPort}, "/api/stats", QueryPort)
		o.Deployments = append(o.Deployments, p.deployment(BackendName, c, nil))
		o.Services = append(o.Services, p.service(BackendName, "", map[string]string{ServiceLabel: BackendName}, OTLPPort, QueryPort))
		return envRef(BackendName) + ":" + strconv.Itoa(OTLPPort), nil
	case BackendJaeger:
		if p.JaegerImage == "" {
			return "", errors.New("kubernetes objects: backend jaeger without an image")
		}
		cm := &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"), ObjectMeta: p.meta(JaegerName, JaegerName),
			Data: map[string]string{jaegerKey: p.JaegerConfig}}
		o.ConfigMaps = append(o.ConfigMaps, cm)
		c := p.container("jaeger", p.JaegerImage, []string{"--config=file:" + topologyDir + "/" + jaegerKey},
			[]int32{OTLPPort, JaegerQueryPort}, "/api/services", JaegerQueryPort)
		c.VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: topologyDir, ReadOnly: true}}
		o.Deployments = append(o.Deployments, p.deployment(JaegerName, c, []corev1.Volume{configVolume("config", JaegerName)}))
		o.Services = append(o.Services, p.service(JaegerName, "", map[string]string{ServiceLabel: JaegerName}, OTLPPort, JaegerQueryPort))
		return envRef(JaegerName) + ":" + strconv.Itoa(OTLPPort), nil
	case BackendEndpoint:
		if p.Endpoint == "" {
			return "", errors.New("kubernetes objects: no OTLP endpoint to export to")
		}
		return p.Endpoint, nil
	}
	return "", fmt.Errorf("kubernetes objects: unknown backend %q", p.Backend)
}

// statefulSet returns the StatefulSet of service s (object name name):
// replicas = instances, started at once, each pod running serve for its
// ordinal.
func (p Plan) statefulSet(name string, s *topology.Service, peers map[string][]string, endpoint string) *appsv1.StatefulSet {
	serve := p.Serve
	serve.Topology = topologyDir + "/" + sourceKey
	serve.Service = s.Name
	serve.Instance = 0
	serve.Listen = "0.0.0.0:" + strconv.Itoa(ServicePort)
	serve.Control = "0.0.0.0:" + strconv.Itoa(ControlPort)
	serve.Peers = peers
	serve.OTLPEndpoint = endpoint
	// Kubernetes expands $(VAR) in args: the pod's ordinal, and the
	// Services' addresses in --peers and --otlp-endpoint.
	args := append([]string{"serve", "--instance=$(TRACERIG_INSTANCE)"}, serve.Args()...)
	c := p.container("serve", p.Image, args, []int32{ServicePort, ControlPort}, control.HealthPath, ControlPort)
	c.Env = append([]corev1.EnvVar{{Name: "TRACERIG_INSTANCE", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['" + podIndexLabel + "']"}}}}, p.ExportEnv...)
	for _, k := range slices.Sorted(maps.Keys(p.SecretEnv)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: SecretName}, Key: k}}})
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "topology", MountPath: topologyDir, ReadOnly: true}}
	vols := []corev1.Volume{configVolume("topology", SourceName)}
	if len(p.SecretFiles) > 0 {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "export", MountPath: SecretDir, ReadOnly: true})
		var items []corev1.KeyToPath
		for _, k := range slices.Sorted(maps.Keys(p.SecretFiles)) {
			items = append(items, corev1.KeyToPath{Key: k, Path: k})
		}
		vols = append(vols, corev1.Volume{Name: "export", VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: SecretName, Items: items}}})
	}
	replicas := int32(s.Instances)
	labels := p.labels(name)
	return &appsv1.StatefulSet{
		TypeMeta:   typeMeta("apps/v1", "StatefulSet"),
		ObjectMeta: p.meta(name, name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            &replicas,
			ServiceName:         name,
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Selector:            &metav1.LabelSelector{MatchLabels: map[string]string{RunLabel: p.RunID, ServiceLabel: name}},
			Template:            p.podTemplate(labels, c, vols),
		},
	}
}

// deployment returns a one-replica Deployment of container c.
func (p Plan) deployment(name string, c corev1.Container, vols []corev1.Volume) *appsv1.Deployment {
	one := int32(1)
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: p.meta(name, name),
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{RunLabel: p.RunID, ServiceLabel: name}},
			Template: p.podTemplate(p.labels(name), c, vols),
		},
	}
}

// podTemplate returns the pod template of one container: no service
// account token (the pods never call the API server), a short grace.
func (p Plan) podTemplate(labels map[string]string, c corev1.Container, vols []corev1.Volume) corev1.PodTemplateSpec {
	grace := int64(5)
	no := false
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: p.Annotations},
		Spec: corev1.PodSpec{
			Containers:                    []corev1.Container{c},
			Volumes:                       vols,
			TerminationGracePeriodSeconds: &grace,
			AutomountServiceAccountToken:  &no,
		},
	}
}

// container returns a container of image running args, serving ports,
// ready when path answers on readyPort.
func (p Plan) container(name, image string, args []string, ports []int32, path string, readyPort int32) corev1.Container {
	c := corev1.Container{Name: name, Image: image, Args: args, ImagePullPolicy: p.PullPolicy}
	for _, port := range ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: portName(port), ContainerPort: port, Protocol: corev1.ProtocolTCP})
	}
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromInt32(readyPort)}},
		PeriodSeconds: 1, FailureThreshold: 3,
	}
	return c
}

// service returns a ClusterIP Service named name selecting selector, on
// the instances' ports (or ports given).
func (p Plan) service(name, of string, selector map[string]string, ports ...int32) *corev1.Service {
	if len(ports) == 0 {
		ports = []int32{ServicePort, ControlPort}
	}
	sel := map[string]string{RunLabel: p.RunID}
	for k, v := range selector {
		sel[k] = v
	}
	svc := &corev1.Service{TypeMeta: typeMeta("v1", "Service"), ObjectMeta: p.meta(name, ObjectName(of)),
		Spec: corev1.ServiceSpec{Selector: sel}}
	if of == "" {
		svc.Labels[ServiceLabel] = name
	}
	for _, port := range ports {
		svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: portName(port), Port: port,
			TargetPort: intstr.FromInt32(port), Protocol: corev1.ProtocolTCP})
	}
	return svc
}

func portName(port int32) string {
	switch port {
	case ServicePort:
		return "service"
	case ControlPort:
		return "control"
	case OTLPPort:
		return "otlp-grpc"
	case QueryPort:
		return "query"
	case JaegerQueryPort:
		return "jaeger-query"
	}
	return "p" + strconv.Itoa(int(port))
}

// meta returns the metadata of an object of the run; service, when set,
// is the ServiceLabel.
func (p Plan) meta(name, service string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Namespace: p.Namespace, Labels: p.labels(service)}
	if len(p.Annotations) > 0 {
		m.Annotations = map[string]string{}
		for k, v := range p.Annotations {
			m.Annotations[k] = v
		}
	}
	return m
}

func (p Plan) labels(service string) map[string]string {
	l := map[string]string{ManagedByLabel: managedBy, RunLabel: p.RunID}
	if service != "" {
		l[ServiceLabel] = service
	}
	return l
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func configVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}}}}
}

// envRef is the reference Kubernetes expands in a container's args to the
// cluster IP of the Service named name: $(NAME_SERVICE_HOST).
func envRef(name string) string {
	return "$(" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_SERVICE_HOST)"
}
