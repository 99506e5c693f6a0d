package kube

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestObjectsGolden renders the objects of library scenarios and compares
// them with testdata/*.yaml (go test -update rewrites those).
func TestObjectsGolden(t *testing.T) {
	serve := control.DefaultServeConfig()
	serve.RunID = "00f067aa0ba902b7"
	for _, tc := range []struct {
		name, scenario string
		plan           Plan
	}{
		{"quickstart", "quickstart.yaml", Plan{CreateNamespace: true, Namespace: "tracerig-00f067aa0ba902b7", Image: "tracerig/service:test"}},
		{"shop-jaeger-in-namespace", "shop.yaml", Plan{Namespace: "tests", Image: "registry.example/tracerig:1.4",
			PullPolicy: corev1.PullIfNotPresent, Backend: BackendJaeger, JaegerImage: "tracerig/jaeger:test", JaegerConfig: "receivers: {}\n",
			ExportEnv: []corev1.EnvVar{{Name: "OTEL_EXPORTER_OTLP_COMPRESSION", Value: "gzip"}},
			SecretEnv: map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer s3cr3t"}}},
		{"endpoint", "quickstart.yaml", Plan{Namespace: "tests", Image: "tracerig/service:test", Backend: BackendEndpoint, Endpoint: "https://otlp.example:4317"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := topology.LoadScenario(filepath.Join("..", "..", "scenarios", tc.scenario))
			if err != nil {
				t.Fatal(err)
			}
			p := tc.plan
			p.RunID, p.Serve, p.Source = "00f067aa0ba902b7", serve, []byte("name: "+sc.Name+"\n")
			objs, err := p.Objects(sc.Topology)
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
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("rendered objects differ from %s (go test -update rewrites it):\n%s", golden, got)
			}
			// Every document decodes, in creation order, and no secret
			// value is in a spec.
			d := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b.Bytes()), 4096)
			n := 0
			for {
				var m map[string]any
				if err := d.Decode(&m); err != nil {
					break
				}
				n++
			}
			if want := len(objs.List()); n != want {
				t.Errorf("%d documents decode, want %d", n, want)
			}
			for _, s := range objs.StatefulSets {
				if y, _ := manifest(s); strings.Contains(string(y), "s3cr3t") {
					t.Errorf("statefulset %s carries a secret value", s.Name)
				}
			}
		})
	}
}

// TestObjectNames maps topology names to Kubernetes names and rejects
// those it cannot take, all in one error.
func TestObjectNames(t *testing.T) {
	for _, tc := range []struct {
		services []string
		want     map[string]string
		err      []string
	}{
		{[]string{"web", "cart.v2", "pay_svc", "9lives"}, map[string]string{"web": "web", "cart.v2": "cart-v2", "pay_svc": "pay-svc", "9lives": "s-9lives"}, nil},
		{[]string{"cart.v2", "cart_v2", "backend"}, nil, []string{`service "cart_v2": its Kubernetes name "cart-v2" is service "cart.v2"'s too`, `"backend" is the backend's too`}},
		{[]string{strings.Repeat("a", 62)}, nil, []string{"is not a Kubernetes name"}},
	} {
		topo := &topology.Topology{}
		for _, s := range tc.services {
			topo.Services = append(topo.Services, &topology.Service{Name: s, Instances: 1})
		}
		got, err := names(topo)
		for _, e := range tc.err {
			if err == nil || !strings.Contains(err.Error(), e) {
				t.Errorf("names(%v) = %v; want an error with %q", tc.services, err, e)
			}
		}
		if tc.err == nil {
			if err != nil {
				t.Fatalf("names(%v): %v", tc.services, err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("name of %q = %q, want %q", k, got[k], v)
				}
			}
		}
	}
}
