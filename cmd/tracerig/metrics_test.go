package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMetricsFlag: --metrics listens on loopback unless --allow-remote
// says otherwise, and a bad address is a usage error before anything
// starts, in run, blast and bench alike.
func TestMetricsFlag(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"run, not loopback", []string{"run", "--metrics", "10.0.0.1:0", "testdata/tiny.yaml"}, "--metrics: 10.0.0.1 is not a loopback address; the metrics tell anyone who reaches them the run's services and figures, so pass --allow-remote"},
		{"run, no port", []string{"run", "--metrics", "127.0.0.1", "testdata/tiny.yaml"}, `--metrics: "127.0.0.1" is not HOST:PORT`},
		{"blast, not loopback", []string{"blast", "--metrics", "example.com:9464", "quickstart"}, "--metrics: example.com is not a loopback address"},
		{"blast, allow-remote alone", []string{"blast", "--allow-remote", "quickstart"}, "--allow-remote needs --metrics"},
		{"bench, bad port", []string{"bench", "--metrics", "127.0.0.1:nope"}, `--metrics: bad port in "127.0.0.1:nope"`},
		{"bench hops, not loopback", []string{"bench", "--hops", "--metrics", "0.0.0.0:9464"}, "--metrics: 0.0.0.0 is not a loopback address"},
		{"blast on kubernetes", []string{"blast", "--kubernetes", "--kube-image", "tracerig:dev", "--metrics", "127.0.0.1:0", "quickstart"}, "--metrics and --metrics-otlp-endpoint serve this process's generator"},
		{"run, bad OTLP endpoint", []string{"run", "--metrics-otlp-endpoint", "ftp://collector:21", "testdata/tiny.yaml"}, `--metrics-otlp-endpoint: metrics endpoint "ftp://collector:21": not HOST:PORT nor an http:// or https:// URL`},
		{"blast, OTLP endpoint without a port", []string{"blast", "--metrics-otlp-endpoint", "collector", "quickstart"}, "--metrics-otlp-endpoint: metrics endpoint \"collector\""},
		{"bench hops, bad OTLP endpoint", []string{"bench", "--hops", "--metrics-otlp-endpoint", "https://"}, "--metrics-otlp-endpoint: metrics endpoint"},
		{"blast on kubernetes, OTLP", []string{"blast", "--kubernetes", "--kube-image", "tracerig:dev", "--metrics-otlp-endpoint", "127.0.0.1:4317", "quickstart"}, "--metrics and --metrics-otlp-endpoint serve this process's generator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantStderr, r.stderr)
			}
		})
	}
}

// TestRunMetrics runs a scenario with --metrics on the --control address:
// the address is announced, and while the load runs one listener serves
// the metrics and the fault API.
func TestRunMetrics(t *testing.T) {
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"run", "--quiet", "--out", t.TempDir(), "--duration", "2s",
			"--metrics", "127.0.0.1:0", "--control", "127.0.0.1:0", "quickstart"}, &stdout, &stderr)
	}()
	announced := regexp.MustCompile(`metrics on http://(127\.0\.0\.1:\d+)/metrics`)
	var addr string
	for addr == "" {
		select {
		case code := <-done:
			t.Fatalf("the run ended (%d) before announcing its metrics:\n%s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if m := announced.FindStringSubmatch(stderr.String()); m != nil {
			addr = m[1]
		}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var body string
	for !strings.Contains(body, "tracerig_load_requests_total") || strings.Contains(body, "tracerig_load_requests_total 0\n") {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("scrape during the run: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := client.Get("http://" + addr + "/faults")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the fault API beside the metrics: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
	// A check may fail on a busy machine (the load short of its rate):
	// the metrics are what this test is about.
	if code := <-done; code != exitOK && code != exitCheckFailed {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "control API on http://"+addr) {
		t.Errorf("the control API is not announced on the metrics' address %s:\n%s", addr, stderr.String())
	}
}

// TestMetricsPortTaken: a --metrics address in use is a runtime failure
// (exit 3) that names it, in run and blast.
func TestMetricsPortTaken(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	addr := lis.Addr().String()
	for _, args := range [][]string{
		{"run", "--quiet", "--out", t.TempDir(), "--metrics", addr, "testdata/tiny.yaml"},
		{"blast", "--quiet", "--duration", "1s", "--metrics", addr, "quickstart"},
	} {
		r := runCLI(t, args...)
		r.wantCode(t, exitRuntime)
		if want := "listen for metrics on " + addr; !strings.Contains(r.stderr, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", args[0], want, r.stderr)
		}
	}
}

// TestBenchMetrics: bench announces where it serves the generator's
// metrics, and runs as without them.
func TestBenchMetrics(t *testing.T) {
	t.Setenv(execMainEnv, "1") // the child sink is this test binary re-executed into main
	r := runCLI(t, "bench", "--sink", "count", "--duration", "1s", "--workers", "2", "--metrics", "127.0.0.1:0", "quickstart")
	r.wantCode(t, exitOK)
	if !regexp.MustCompile(`metrics on http://127\.0\.0\.1:\d+/metrics`).MatchString(r.stderr) {
		t.Errorf("bench does not announce its metrics:\n%s", r.stderr)
	}
}
