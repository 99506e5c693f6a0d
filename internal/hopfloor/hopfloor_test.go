package hopfloor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMeasure(t *testing.T) {
	r, err := Measure(t.Context(), 300*time.Millisecond, 4)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Hops != r.Requests*HopsPerRequest {
		t.Fatalf("requests %d, hops %d", r.Requests, r.Hops)
	}
	if r.Wall < 300*time.Millisecond {
		t.Errorf("wall %s, want at least the 300ms asked for", r.Wall)
	}
	if runtime.GOOS == "linux" && (r.CPU <= 0 || r.PerHop() <= 0) {
		t.Errorf("cpu %s, per hop %s: want both measured", r.CPU, r.PerHop())
	}
	t.Logf("%d requests, %s CPU per hop", r.Requests, r.PerHop())
}

func TestChainAnswersThroughBothServers(t *testing.T) {
	c, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := newClient()
	defer client.CloseIdleConnections()
	if err := get(t.Context(), client, c.URL); err != nil {
		t.Fatal(err)
	}
	// With the back server gone, the front one answers 502 and get says so.
	c.back.Close()
	if err := get(t.Context(), client, c.URL); err == nil {
		t.Fatal("no error with the back server closed")
	}
}

func TestGetFailsOnAnErrorStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	client := newClient()
	defer client.CloseIdleConnections()
	if err := get(context.Background(), client, srv.URL); err == nil {
		t.Fatal("a 503 read as success")
	}
}

func TestPerHopOfNothing(t *testing.T) {
	if got := (Result{CPU: time.Second}).PerHop(); got != 0 {
		t.Fatalf("PerHop of no hops = %s, want 0", got)
	}
}

func TestResultAdd(t *testing.T) {
	a := Result{Requests: 1, Hops: 2, CPU: 3, Wall: 4}
	b := Result{Requests: 10, Hops: 20, CPU: 30, Wall: 40}
	if got, want := a.Add(b), (Result{Requests: 11, Hops: 22, CPU: 33, Wall: 44}); got != want {
		t.Fatalf("%+v.Add(%+v) = %+v, want %+v", a, b, got, want)
	}
}
