package metrics

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServer(t *testing.T) {
	s, err := Listen("127.0.0.1:0", NewRunCollector(func() Run { return Run{SpansEnded: 7} }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	base := "http://" + s.Addr()
	tests := []struct {
		name   string
		mount  http.Handler
		path   string
		code   int
		substr string
	}{
		{name: "metrics", path: Path, code: 200, substr: "tracerig_spans_ended_total 7"},
		{name: "go runtime too", path: Path, code: 200, substr: "go_goroutines"},
		{name: "nothing mounted", path: "/v1/faults", code: 404},
		{name: "mounted", mount: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "faults") }),
			path: "/v1/faults", code: 200, substr: "faults"},
		{name: "metrics beside the mount", mount: http.NotFoundHandler(), path: Path, code: 200, substr: "tracerig_spans_ended_total 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Mount(tt.mount)
			defer s.Mount(nil)
			code, body := get(t, base+tt.path)
			if code != tt.code || !strings.Contains(body, tt.substr) {
				t.Errorf("GET %s = %d %.200q, want %d with %q", tt.path, code, body, tt.code, tt.substr)
			}
		})
	}
}

func TestListenTaken(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	_, err = Listen(s.Addr())
	if err == nil || !strings.Contains(err.Error(), "listen for metrics on "+s.Addr()) {
		t.Errorf("Listen on a taken address: %v", err)
	}
}
