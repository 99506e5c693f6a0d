package kube

// This file makes the objects of a sharded blast: N generator pods of one
// Indexed Job, each running `tracerig blast-shard` for its completion
// index, beside the embedded backend (or the user's OTLP endpoint), and
// finds their pods.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Names and ports of a sharded blast.
const (
	// ShardJobName is the Indexed Job of the shards, and their
	// ServiceLabel.
	ShardJobName = "blast"
	// ShardPort serves each shard's API (ready, start, result, done).
	ShardPort = 7070
	// ShardSpecPath is where the spec is mounted in the shards' pods.
	ShardSpecPath = topologyDir + "/" + shardSpecKey
	shardSpecKey  = "shard.json"
	// shardIndexEnv is the completion index the Job controller gives
	// every pod of an Indexed Job.
	shardIndexEnv = "JOB_COMPLETION_INDEX"
)

// ShardPlan is what a sharded blast on Kubernetes is made of. Of the
// embedded Plan it uses Namespace, CreateNamespace, RunID, Image,
// PullPolicy, Backend (embedded or endpoint), Endpoint, ExportEnv,
// SecretEnv and Annotations.
type ShardPlan struct {
	Plan
	// Shards is the number of generator pods, N.
	Shards int
	// Spec is the shards' spec (the generator they share), mounted at
	// ShardSpecPath.
	Spec []byte
	// Args are blast-shard's arguments after the command, but for
	// --otlp-endpoint, which the plan adds: the embedded backend's
	// Service, or Plan.Endpoint.
	Args []string
	// HTTP sends to the embedded backend over OTLP/HTTP rather than gRPC.
	HTTP bool
	// Deadline bounds the Job's life (activeDeadlineSeconds): a run whose
	// host is gone ends by itself.
	Deadline time.Duration
}

// ShardObjects are a sharded blast's objects, in the order they are
// created: Objects (namespace, the spec ConfigMap first, secret, backend)
// then the Job. The spec's ConfigMap is named SourceName, as a run's
// topology is: in a namespace the run was given it owns the rest, and
// `tracerig clean` finds it there.
type ShardObjects struct {
	Objects
	Job *batchv1.Job
}

// Objects returns the objects of the plan.
func (p ShardPlan) Objects() (ShardObjects, error) {
	switch {
	case p.Image == "":
		return ShardObjects{}, errors.New("kubernetes objects: no image")
	case p.Shards < 1:
		return ShardObjects{}, fmt.Errorf("kubernetes objects: %d shards, want at least 1", p.Shards)
	case p.Backend == BackendJaeger:
		return ShardObjects{}, errors.New("kubernetes objects: a sharded blast sends to the embedded backend or an OTLP endpoint")
	}
	var o ShardObjects
	if p.CreateNamespace {
		o.Namespace = &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: p.meta(p.Namespace, "")}
		o.Namespace.Namespace = ""
	}
	o.ConfigMaps = append(o.ConfigMaps, &corev1.ConfigMap{TypeMeta: typeMeta("v1", "ConfigMap"),
		ObjectMeta: p.meta(SourceName, ""), Data: map[string]string{shardSpecKey: string(p.Spec)}})
	if len(p.SecretEnv) > 0 {
		o.Secrets = append(o.Secrets, &corev1.Secret{TypeMeta: typeMeta("v1", "Secret"), ObjectMeta: p.meta(SecretName, ""),
			Type: corev1.SecretTypeOpaque, StringData: p.SecretEnv})
	}
	endpoint, err := p.backendObjects(&o.Objects)
	if err != nil {
		return ShardObjects{}, err
	}
	if p.HTTP && p.Backend != BackendEndpoint {
		endpoint = "http://" + envRef(BackendName) + ":" + strconv.Itoa(QueryPort)
	}
	o.Job = p.job(endpoint)
	return o, nil
}

// job returns the Indexed Job of the shards: N pods started at once, none
// restarted or replaced (a shard that dies is reported, not run again: its
// slice would be sent twice), each ready when its API answers.
func (p ShardPlan) job(endpoint string) *batchv1.Job {
	args := append([]string{"blast-shard", "--spec=" + ShardSpecPath, "--listen=0.0.0.0:" + strconv.Itoa(ShardPort)}, p.Args...)
	args = append(args, "--otlp-endpoint="+endpoint)
	c := p.container("shard", p.Image, args, []int32{ShardPort}, "/ready", ShardPort)
	c.Env = append([]corev1.EnvVar{}, p.ExportEnv...)
	for _, k := range slices.Sorted(maps.Keys(p.SecretEnv)) {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: SecretName}, Key: k}}})
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "spec", MountPath: topologyDir, ReadOnly: true}}
	tpl := p.podTemplate(p.labels(ShardJobName), c, []corev1.Volume{configVolume("spec", SourceName)})
	tpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	n := int32(p.Shards)
	zero := int32(0)
	indexed := batchv1.IndexedCompletion
	job := &batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: p.meta(ShardJobName, ShardJobName),
		Spec: batchv1.JobSpec{
			CompletionMode: &indexed,
			Completions:    &n,
			Parallelism:    &n,
			// Per index rather than backoffLimit 0: a Job that fails as a
			// whole deletes its running pods, and the living shards' figures
			// with them.
			BackoffLimitPerIndex: &zero,
			Template:             tpl,
		},
	}
	if p.Deadline > 0 {
		secs := int64(p.Deadline.Seconds())
		job.Spec.ActiveDeadlineSeconds = &secs
	}
	return job
}

// CreateShards creates the objects in order. In a namespace the run was
// given, every object but the spec ConfigMap is owned by it.
func CreateShards(ctx context.Context, cs kubernetes.Interface, o ShardObjects) error {
	if err := create(ctx, cs, o.Objects); err != nil {
		return err
	}
	if o.Namespace == nil {
		cm, err := cs.CoreV1().ConfigMaps(o.Job.Namespace).Get(ctx, SourceName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("create job %s/%s: %w", o.Job.Namespace, o.Job.Name, err)
		}
		o.Job.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID}}
	}
	if _, err := cs.BatchV1().Jobs(o.Job.Namespace).Create(ctx, o.Job, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create job %s/%s: %w", o.Job.Namespace, o.Job.Name, err)
	}
	return nil
}

// DeleteShards removes a sharded run as Delete does, and its Job.
func DeleteShards(ctx context.Context, cs kubernetes.Interface, ns, id string, ownNS bool) error {
	var errs []error
	if !ownNS {
		bg := metav1.DeletePropagationBackground
		errs = append(errs, cs.BatchV1().Jobs(ns).DeleteCollection(ctx, metav1.DeleteOptions{PropagationPolicy: &bg},
			metav1.ListOptions{LabelSelector: runSelector(id)}))
	}
	errs = append(errs, Delete(ctx, cs, ns, id, ownNS))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete sharded run %s: %w", id, err)
	}
	return nil
}

// Render writes the objects as one YAML stream, in creation order.
func (o ShardObjects) Render(w io.Writer) error {
	if err := o.Objects.Render(w); err != nil {
		return err
	}
	y, err := manifest(o.Job)
	if err != nil {
		return fmt.Errorf("render job: %w", err)
	}
	_, err = w.Write(append([]byte("---\n"), y...))
	return err
}
