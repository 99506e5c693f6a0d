package kubecluster

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// UpDownEnv turns on TestUpDownLeavesNothing, which starts a cluster and takes it down: it cannot
// run while a cluster is up, and needs root and the binaries of tools/kubernetes/build.sh.
const UpDownEnv = "TRACERIG_KUBE_UPDOWN"

// The ranges of tools/kubernetes/settings.sh.
var (
	podCIDR     = netip.MustParsePrefix("10.213.0.0/24")
	serviceCIDR = netip.MustParsePrefix("10.214.0.0/24")
)

// TestUpDownLeavesNothing starts the cluster with up.sh, runs a 2-replica Deployment of the pause
// image behind a ClusterIP Service, takes the cluster down with down.sh, and requires the machine's
// mounts, links, routes, iptables rules, nft tables, kernel settings and folders to be as they were
// before, and no cluster process left.
func TestUpDownLeavesNothing(t *testing.T) {
	if os.Getenv(UpDownEnv) != "1" {
		t.Skipf("set %s=1 to start a cluster with tools/kubernetes/up.sh and take it down again "+
			"(not while a cluster is up; needs root and tools/kubernetes/build.sh)", UpDownEnv)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("%s=1 but not root: up.sh makes links, routes, iptables rules and mounts", UpDownEnv)
	}
	if _, err := os.Stat(Dir()); err == nil {
		t.Fatalf("%s exists: a cluster is up; take it down with tools/kubernetes/down.sh first", Dir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	before := snapshot(ctx, t)

	start := time.Now()
	kubeconfig, err := runScript(ctx, t, "up.sh")
	down := false
	t.Cleanup(func() {
		if !down {
			if _, err := runScript(context.Background(), t, "down.sh"); err != nil {
				t.Errorf("down.sh after a failure: %v", err)
			}
		}
	})
	if err != nil {
		t.Fatalf("up.sh: %v", err)
	}
	kubeconfig = strings.TrimSpace(kubeconfig)
	t.Logf("up.sh: %v; kubeconfig %s", time.Since(start).Round(100*time.Millisecond), kubeconfig)

	runWorkload(ctx, t, kubeconfig)
	logMemory(t)

	start = time.Now()
	_, err = runScript(ctx, t, "down.sh")
	down = true
	if err != nil {
		t.Errorf("down.sh: %v", err)
	}
	t.Logf("down.sh: %v", time.Since(start).Round(100*time.Millisecond))

	after := snapshot(ctx, t)
	if d := diffSnapshots(before, after); d != "" {
		t.Errorf("the machine differs after down.sh from before up.sh (- before, + after):\n%s", d)
	}
	if procs := section(after, "cluster processes"); len(procs) > 0 {
		t.Errorf("cluster processes left after down.sh:\n%s", strings.Join(procs, "\n"))
	}
}

// runWorkload checks that the node is Ready, then runs 2 replicas of the pause image behind a
// ClusterIP Service and waits until both pods are Running and Ready and the Service has both
// endpoints.
func runWorkload(ctx context.Context, t *testing.T, kubeconfig string) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list nodes: %v", err)
	}
	if len(nodes.Items) != 1 {
		t.Fatalf("%d nodes, want 1", len(nodes.Items))
	}
	if !nodeReady(&nodes.Items[0]) {
		t.Fatalf("node %s is not Ready: %+v", nodes.Items[0].Name, nodes.Items[0].Status.Conditions)
	}

	const ns, name = "default", "updown-pause"
	labels := map[string]string{"app": name}
	replicas := int32(2)
	grace := int64(0)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name:            "pause",
						Image:           PauseImage,
						ImagePullPolicy: corev1.PullNever,
						Ports:           []corev1.ContainerPort{{ContainerPort: 8080}},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	svc, err = cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service: %v", err)
	}
	if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err != nil || !serviceCIDR.Contains(ip) {
		t.Errorf("service address %q, want one in %s", svc.Spec.ClusterIP, serviceCIDR)
	}

	start := time.Now()
	var last string
	for {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		ready := 0
		if err != nil {
			last = err.Error()
		} else {
			var states []string
			for i := range pods.Items {
				p := &pods.Items[i]
				states = append(states, fmt.Sprintf("%s %s ip=%s ready=%v", p.Name, p.Status.Phase, p.Status.PodIP, podReady(p)))
				if p.Status.Phase == corev1.PodRunning && podReady(p) {
					ready++
					if ip, err := netip.ParseAddr(p.Status.PodIP); err != nil || !podCIDR.Contains(ip) {
						t.Fatalf("pod %s address %q, want one in %s", p.Name, p.Status.PodIP, podCIDR)
					}
				}
			}
			last = strings.Join(states, "; ")
		}
		if ready == 2 && serviceEndpoints(ctx, cs, ns, name) == 2 {
			break
		}
		if ctx.Err() != nil || time.Since(start) > 2*time.Minute {
			t.Fatalf("pods not Running and Ready with 2 service endpoints in %v: %s; events:\n%s",
				time.Since(start).Round(time.Second), last, events(cs, ns))
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("2 pods Running and Ready behind service %s in %v", svc.Spec.ClusterIP, time.Since(start).Round(100*time.Millisecond))
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// serviceEndpoints counts the ready endpoints of the service's EndpointSlices.
func serviceEndpoints(ctx context.Context, cs kubernetes.Interface, ns, svc string) int {
	slices, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc,
	})
	if err != nil {
		return 0
	}
	n := 0
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				n++
			}
		}
	}
	return n
}

func events(cs kubernetes.Interface, ns string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range evs.Items {
		fmt.Fprintf(&b, "  %s %s/%s: %s: %s\n", e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message)
	}
	return b.String()
}

// logMemory logs the resident memory of each process up.sh started (from its pids folder).
func logMemory(t *testing.T) {
	t.Helper()
	dir := filepath.Join(Dir(), "pids")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Logf("memory: %v", err)
		return
	}
	var total int
	var parts []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		pid, _, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
		kb := rssKB(pid)
		total += kb
		parts = append(parts, fmt.Sprintf("%s %d MB", e.Name(), kb/1024))
	}
	t.Logf("resident memory: %d MB in all: %s", total/1024, strings.Join(parts, ", "))
}

func rssKB(pid string) int {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// scriptDir is tools/kubernetes, from this package's folder (go test runs in it).
func scriptDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "tools", "kubernetes"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// runScript runs tools/kubernetes/NAME and returns its standard output; its standard error goes
// to the test's log.
func runScript(ctx context.Context, t *testing.T, name string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(scriptDir(t), name))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Logf("%s:\n%s", name, s)
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w", name, err)
	}
	return stdout.String(), nil
}

func snapshot(ctx context.Context, t *testing.T) string {
	t.Helper()
	out, err := runScript(ctx, t, "snapshot.sh")
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return out
}

// section returns the lines of the snapshot's section whose title starts with title.
func section(snap, title string) []string {
	var lines []string
	in := false
	for line := range strings.SplitSeq(snap, "\n") {
		if t, ok := strings.CutPrefix(line, "== "); ok {
			in = strings.HasPrefix(t, title)
			continue
		}
		if in && line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// diffSnapshots returns, section by section, the lines only before ("- ") and only after ("+ "),
// counting repeated lines; "" when the snapshots hold the same lines.
func diffSnapshots(before, after string) string {
	parse := func(s string) ([]string, map[string]map[string]int) {
		var order []string
		secs := map[string]map[string]int{}
		cur := ""
		for line := range strings.SplitSeq(s, "\n") {
			if t, ok := strings.CutPrefix(line, "== "); ok {
				cur = t
				if secs[cur] == nil {
					secs[cur] = map[string]int{}
					order = append(order, cur)
				}
				continue
			}
			if line == "" {
				continue
			}
			if secs[cur] == nil {
				secs[cur] = map[string]int{}
				order = append(order, cur)
			}
			secs[cur][line]++
		}
		return order, secs
	}
	orderB, b := parse(before)
	orderA, a := parse(after)
	titles := orderB
	for _, ti := range orderA {
		if _, ok := b[ti]; !ok {
			titles = append(titles, ti)
		}
	}
	var out strings.Builder
	for _, ti := range titles {
		var lines []string
		for l, n := range b[ti] {
			for range n - a[ti][l] {
				lines = append(lines, "- "+l)
			}
		}
		for l, n := range a[ti] {
			for range n - b[ti][l] {
				lines = append(lines, "+ "+l)
			}
		}
		if len(lines) == 0 {
			continue
		}
		slices.SortFunc(lines, func(x, y string) int {
			// By text, then "-" before "+".
			return cmp.Or(strings.Compare(x[2:], y[2:]), -strings.Compare(x[:1], y[:1]))
		})
		fmt.Fprintf(&out, "== %s\n%s\n", ti, strings.Join(lines, "\n"))
	}
	return out.String()
}

// TestClusterAnswers checks that the configured cluster answers: it lists the nodes and requires a
// Ready one. It runs when a kubeconfig is named (TRACERIG_KUBECONFIG or KUBECONFIG) or
// TRACERIG_REQUIRE_KUBERNETES is set, as CI sets it after up.sh.
func TestClusterAnswers(t *testing.T) {
	if !Configured() && !Required() {
		t.Skipf("no cluster: set %s or KUBECONFIG (tools/kubernetes/up.sh prints one), or %s=1", KubeconfigEnv, RequireEnv)
	}
	path, err := Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", path, err)
	}
	cfg.Timeout = 10 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version from %s: %v", cfg.Host, err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list nodes: %v", err)
	}
	var ready []string
	for i := range nodes.Items {
		if nodeReady(&nodes.Items[i]) {
			ready = append(ready, nodes.Items[i].Name)
		}
	}
	if len(ready) == 0 {
		t.Fatalf("%s (%s): none of %d nodes is Ready", cfg.Host, v.GitVersion, len(nodes.Items))
	}
	t.Logf("%s: Kubernetes %s, Ready nodes %v", cfg.Host, v.GitVersion, ready)
}
