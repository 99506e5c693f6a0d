package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestUIFlag: --ui listens on loopback unless --allow-remote says
// otherwise, and a bad address is a usage error before anything starts.
func TestUIFlag(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"not loopback", []string{"run", "--ui", "10.0.0.1:8080", "testdata/tiny.yaml"}, "--ui: 10.0.0.1 is not a loopback address; the live page lets anyone who reaches it inject faults, so pass --allow-remote"},
		{"no port", []string{"run", "--ui", "127.0.0.1", "testdata/tiny.yaml"}, `--ui: "127.0.0.1" is not HOST:PORT`},
		{"allow-remote alone", []string{"run", "--allow-remote", "testdata/tiny.yaml"}, "--allow-remote needs --control, --metrics or --ui"},
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

// TestRunUntilStopped runs quickstart with --ui and --until-stopped: the
// page is announced and served, its Stop load ends the load, the report is
// printed once, before the page's Close, and the run exits as one that
// ended.
func TestRunUntilStopped(t *testing.T) {
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(context.Background(), []string{"run", "--quiet", "--out", t.TempDir(),
			"--ui", "127.0.0.1:0", "--until-stopped", "quickstart"}, &stdout, &stderr)
	}()
	addr := awaitLine(t, &stderr, done, regexp.MustCompile(`live page on http://(127\.0\.0\.1:\d+)/`))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "quickstart") {
		t.Fatalf("the page: %s\n%.300s", resp.Status, page)
	}
	time.Sleep(3 * time.Second) // the load runs
	post := func(path string) {
		resp, err := client.Post("http://"+addr+path, "", nil)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %s", path, resp.Status)
		}
	}
	post("/api/stop")
	awaitLine(t, &stderr, done, regexp.MustCompile(`()the live page shows the verdicts`))
	if !strings.Contains(stdout.String(), "scenario quickstart") {
		t.Errorf("the report is not printed while the page shows the verdicts:\n%s", stdout.String())
	}
	post("/api/close")
	if code := <-done; code != exitOK {
		t.Errorf("exit %d, want 0\n%s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "scenario quickstart"); n != 1 {
		t.Errorf("the report is printed %d times", n)
	}
}

// awaitLine waits until stderr holds a line re matches and returns its
// first group; it fails when the command ends first.
func awaitLine(t *testing.T, stderr *syncBuffer, done <-chan int, re *regexp.Regexp) string {
	t.Helper()
	for {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("the run ended (%d) before printing %q:\n%s", code, re, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
