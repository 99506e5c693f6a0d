package kube

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestShardObjectsGolden renders the objects of sharded blasts and
// compares them with testdata/shards-*.yaml (go test -update rewrites
// them): an Indexed Job of N pods that are never replaced, the backend
// beside them, every object labelled with the run, no secret in a spec.
func TestShardObjectsGolden(t *testing.T) {
	base := Plan{RunID: "00f067aa0ba902b7", Image: "tracerig/service:test", PullPolicy: corev1.PullNever,
		Annotations: map[string]string{HostAnnotation: "host", PIDAnnotation: "42"}}
	for _, tc := range []struct {
		name string
		plan ShardPlan
	}{
		{"shards-embedded", ShardPlan{Plan: withNS(base, "tracerig-00f067aa0ba902b7", true), Shards: 4,
			Args: []string{"--duration=10s", "--rate=40000"}, Deadline: 15 * time.Minute}},
		{"shards-endpoint-in-namespace", ShardPlan{Plan: withEndpoint(withNS(base, "tests", false), "https://otlp.example:4317"), Shards: 2,
			Args: []string{"--protocol=grpc"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.plan
			p.Spec = []byte(`{"seed":1}`)
			objs, err := p.Objects()
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := objs.Render(&b); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".yaml")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want, err := os.ReadFile(golden); err != nil || b.String() != string(want) {
				t.Errorf("rendered objects differ from %s (%v; go test -update rewrites it):\n%s", golden, err, b.String())
			}
			if strings.Contains(b.String(), "s3cr3t") && !strings.Contains(b.String(), "kind: Secret") {
				t.Error("a secret value is in a spec")
			}
			j := objs.Job.Spec
			if *j.CompletionMode != batchv1.IndexedCompletion || *j.Completions != int32(p.Shards) || *j.Parallelism != int32(p.Shards) ||
				*j.BackoffLimitPerIndex != 0 || j.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("job spec %+v", j)
			}
			for _, m := range []metav1.ObjectMeta{objs.Job.ObjectMeta, j.Template.ObjectMeta} {
				if m.Labels[RunLabel] != p.RunID || m.Annotations[PIDAnnotation] != "42" {
					t.Errorf("%s: labels %v, annotations %v", m.Name, m.Labels, m.Annotations)
				}
			}
		})
	}
}

// TestShardObjectsSecretEnv checks that OTLP header values reach the shards
// through a Secret, never their args.
func TestShardObjectsSecretEnv(t *testing.T) {
	p := ShardPlan{Plan: withEndpoint(withNS(Plan{RunID: "r", Image: "i"}, "tests", false), "otlp.example:4317"), Shards: 1}
	p.SecretEnv = map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s3cr3t"}
	objs, err := p.Objects()
	if err != nil {
		t.Fatal(err)
	}
	c := objs.Job.Spec.Template.Spec.Containers[0]
	if slices.ContainsFunc(c.Args, func(a string) bool { return strings.Contains(a, "s3cr3t") }) ||
		len(c.Env) != 1 || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.SecretKeyRef.Name != SecretName {
		t.Errorf("args %q, env %+v", c.Args, c.Env)
	}
	if len(objs.Secrets) != 1 || objs.Secrets[0].StringData["OTEL_EXPORTER_OTLP_HEADERS"] != "x-api-key=s3cr3t" {
		t.Errorf("secrets %+v", objs.Secrets)
	}
	for _, bad := range []ShardPlan{{Plan: Plan{Image: "i"}}, {Shards: 1}, {Plan: Plan{Image: "i", Backend: BackendJaeger}, Shards: 1}} {
		if _, err := bad.Objects(); err == nil {
			t.Errorf("%+v makes objects", bad)
		}
	}
}

// TestReadyShards sorts a run's pods into ready shards, what is missing,
// and shards that ended before they were ready.
func TestReadyShards(t *testing.T) {
	pod := func(name, svc, index string, phase corev1.PodPhase, ready bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{ServiceLabel: svc},
			Annotations: map[string]string{batchv1.JobCompletionIndexAnnotation: index}}, Status: corev1.PodStatus{Phase: phase}}
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
		return p
	}
	ok := []corev1.Pod{pod("backend-x", BackendName, "", corev1.PodRunning, true),
		pod("blast-0-a", ShardJobName, "0", corev1.PodRunning, true), pod("blast-1-b", ShardJobName, "1", corev1.PodRunning, true)}
	got, missing, ended := readyShards(ok, 2, true)
	if !slices.Equal(got.Shards, []string{"blast-0-a", "blast-1-b"}) || got.Backend != "backend-x" || missing != nil || ended != nil {
		t.Errorf("all ready: %+v, missing %q, ended %q", got, missing, ended)
	}
	if _, missing, _ := readyShards(ok[1:], 3, true); len(missing) != 2 || !strings.Contains(strings.Join(missing, ";"), "shard 2: no pod yet") {
		t.Errorf("missing %q", missing)
	}
	dead := pod("blast-1-c", ShardJobName, "1", corev1.PodFailed, false)
	dead.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 2}}}}
	if _, _, ended := readyShards(append(ok[:2:2], dead), 2, true); !slices.Equal(ended, []string{"blast-1-c: Error (exit code 2)"}) {
		t.Errorf("ended %q", ended)
	}
}

func withNS(p Plan, ns string, own bool) Plan {
	p.Namespace, p.CreateNamespace = ns, own
	return p
}

func withEndpoint(p Plan, endpoint string) Plan {
	p.Backend, p.Endpoint = BackendEndpoint, endpoint
	return p
}
