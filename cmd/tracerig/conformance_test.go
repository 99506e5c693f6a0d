package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/w3c"
)

// TestConformanceCmd starts `tracerig conformance --listen 127.0.0.1:0`,
// drives /test as the specification's harness does (a nested call back
// into /test included) and stops it with the context, as Ctrl-C does.
func TestConformanceCmd(t *testing.T) {
	for _, args := range [][]string{
		{"conformance", "--listen", "127.0.0.1:0"},
		{"serve", "--conformance", "127.0.0.1:0"},
	} {
		t.Run(args[0], func(t *testing.T) { testConformance(t, args) })
	}
}

func testConformance(t *testing.T, args []string) {
	var mu sync.Mutex
	got := map[string]http.Header{}
	harness := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.Header.Clone()
		mu.Unlock()
	}))
	defer harness.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, args, &stdout, &stderr) }()

	re := regexp.MustCompile(`participant at (http://\S+/test)`)
	var testURL string
	for deadline := time.Now().Add(10 * time.Second); testURL == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			testURL = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no address printed; stdout %q stderr %q", stdout.String(), stderr.String())
		}
	}

	inner, _ := json.Marshal([]w3c.Call{{URL: harness.URL + "/callback/inner", Arguments: json.RawMessage("[]")}})
	body, _ := json.Marshal([]w3c.Call{
		{URL: testURL, Arguments: inner},
		{URL: harness.URL + "/callback/outer", Arguments: json.RawMessage("[]")},
	})
	req, _ := http.NewRequest(http.MethodPost, testURL, strings.NewReader(string(body)))
	req.Header["TrAcEpArEnT"] = []string{"00-12345678901234567890123456789012-1234567890123456-01"}
	req.Header["tracestate"] = []string{"foo=1", "bar=2"}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/test: %d %s", resp.StatusCode, raw)
	}
	mu.Lock()
	for _, path := range []string{"/callback/inner", "/callback/outer"} {
		h, ok := got[path]
		if !ok {
			t.Errorf("no call to %s: %s", path, raw)
			continue
		}
		tp := h.Values("traceparent")
		if len(tp) != 1 || !strings.HasPrefix(tp[0], "00-12345678901234567890123456789012-") || strings.Contains(tp[0], "1234567890123456-01") {
			t.Errorf("%s traceparent %q: want the trace continued with a new parent id", path, tp)
		}
		if ts := h.Values("tracestate"); len(ts) != 1 || ts[0] != "foo=1,bar=2" {
			t.Errorf("%s tracestate %q, want one header foo=1,bar=2", path, ts)
		}
	}
	mu.Unlock()

	// Remote URLs are refused without --allow-remote; nothing is sent.
	resp, err = client.Post(testURL, "application/json", strings.NewReader(`[{"url":"http://192.0.2.1/","arguments":[]}]`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("remote URL: status %d, want 400", resp.StatusCode)
	}

	cancel()
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit %d; stderr %q", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("conformance did not stop")
	}
}

func TestConformanceCmdUsage(t *testing.T) {
	for _, args := range [][]string{
		{"conformance", "--listen", "0.0.0.0:0"},
		{"conformance", "--listen", "192.0.2.1:5000"},
		{"conformance", "--listen", "nohost"},
		{"conformance", "extra"},
		{"conformance", "--max-calls", "0"},
	} {
		r := runCLI(t, args...)
		r.wantCode(t, exitUsage)
	}
	r := runCLI(t, "conformance", "-h")
	r.wantCode(t, exitOK)
	if !strings.Contains(r.stdout, "test.py") {
		t.Errorf("help does not say how to run the suite: %q", r.stdout)
	}
}
