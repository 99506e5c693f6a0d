package live

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve serves v on a test server, closed with the test.
func serve(t *testing.T, v *View) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(v)
	t.Cleanup(func() {
		v.Close(context.Background())
		srv.Close()
	})
	return srv
}

// tab is one page's event stream.
type tab struct {
	t      *testing.T
	br     *bufio.Reader
	cancel context.CancelFunc
}

func openTab(t *testing.T, url string) *tab {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	tb := &tab{t: t, br: bufio.NewReader(resp.Body), cancel: func() { cancel(); resp.Body.Close() }}
	t.Cleanup(tb.cancel)
	return tb
}

// next returns the next event's name and data, skipping comments.
func (tb *tab) next() (string, string) {
	tb.t.Helper()
	var name, data string
	for {
		line, err := tb.br.ReadString('\n')
		if err != nil {
			tb.t.Fatalf("read event: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// expect reads the next event, requires its name and decodes its data.
func (tb *tab) expect(name string, into any) {
	tb.t.Helper()
	got, data := tb.next()
	if got != name {
		tb.t.Fatalf("event %q (%s), want %q", got, data, name)
	}
	if into != nil {
		if err := json.Unmarshal([]byte(data), into); err != nil {
			tb.t.Fatalf("event %s: %v", name, err)
		}
	}
}

func frameAt(t float64) Frame {
	return Frame{T: t, Phase: "load", Point: Point{T: t, Sent: 10 * t},
		Edges: []EdgeState{{From: "cart", To: "inventory", State: "continuing", Rate: 12.3}}}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTabsGetSetupHistoryAndFrames(t *testing.T) {
	v := New(Config{Title: "shop", Demo: true, Stop: func() {},
		Targets: Targets{Services: []Service{{Name: "cart", Routes: []string{"GET /cart"}, Instances: 2}}}})
	srv := serve(t, v)
	v.Publish(frameAt(1))
	tabs := []*tab{openTab(t, srv.URL), openTab(t, srv.URL)}
	for i, tb := range tabs {
		var s setup
		tb.expect("setup", &s)
		if s.Title != "shop" || !s.Demo || !s.Stop || len(s.Catalog) == 0 || len(s.Targets.Services) != 1 {
			t.Errorf("tab %d: setup %+v", i, s)
		}
		var h history
		tb.expect("history", &h)
		if len(h.Points) != 1 {
			t.Errorf("tab %d: history has %d points, want 1", i, len(h.Points))
		}
		var f Frame
		if tb.expect("frame", &f); f.T != 1 {
			t.Errorf("tab %d: first frame at %gs, want the latest, at 1s", i, f.T)
		}
	}
	v.Publish(frameAt(2))
	v.Publish(frameAt(3))
	for i, tb := range tabs {
		for _, want := range []float64{2, 3} {
			var f Frame
			tb.expect("frame", &f)
			if f.T != want || len(f.Edges) != 1 {
				t.Errorf("tab %d: frame %+v, want t=%g", i, f, want)
			}
		}
	}
	if n := v.subscribers(); n != 2 {
		t.Fatalf("%d subscribers, want 2", n)
	}
	tabs[0].cancel()
	waitFor(t, "the closed tab's subscriber to go", func() bool { return v.subscribers() == 1 })
	v.Publish(frameAt(4))
	var f Frame
	tabs[1].expect("frame", &f)
	if f.T != 4 {
		t.Errorf("frame t=%g after a tab closed, want 4", f.T)
	}
}

func TestLateTabGetsHistoryAndReveal(t *testing.T) {
	v := New(Config{Title: "shop"})
	srv := serve(t, v)
	for i := range 30 {
		f := frameAt(float64(i + 1))
		f.Faults = []FaultWindow{{ID: 1, Number: 1, Kind: "strip-headers", Start: 5, End: float64(i + 1), Open: true}}
		v.Publish(f)
	}
	v.Reveal(Reveal{Passed: false, Summary: "1 check: 1 failed", Report: "/report/report.html"})
	tb := openTab(t, srv.URL)
	tb.expect("setup", nil)
	var h history
	tb.expect("history", &h)
	if len(h.Points) != 30 || h.Points[29].T != 30 || len(h.Faults) != 1 || h.Faults[0].End != 30 {
		t.Errorf("history: %d points, faults %+v", len(h.Points), h.Faults)
	}
	var f Frame
	tb.expect("frame", &f)
	if f.T != 30 {
		t.Errorf("a late tab's first frame is at %gs, want the latest, at 30s", f.T)
	}
	var r Reveal
	tb.expect("reveal", &r)
	if r.Summary != "1 check: 1 failed" || r.Report != "/report/report.html" {
		t.Errorf("reveal %+v", r)
	}
}

// TestPublishDoesNotWait publishes to a tab that never reads: Publish
// must not wait for it, and the tab keeps the reveal.
func TestPublishDoesNotWait(t *testing.T) {
	v := New(Config{Title: "shop", SVG: strings.Repeat("<g/>", 1000)})
	srv := serve(t, v)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	waitFor(t, "the stalled tab to subscribe", func() bool { return v.subscribers() == 1 })
	start := time.Now()
	for i := range 10000 {
		f := frameAt(float64(i))
		f.Edges = append(f.Edges, make([]EdgeState, 20)...)
		v.Publish(f)
	}
	v.Reveal(Reveal{Summary: "the end"})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("10000 frames took %s", d)
	}
	// A tab with frames still to write has the reveal still to write too.
	v.hub.mu.Lock()
	for s := range v.hub.subs {
		s.mu.Lock()
		if len(s.frames) > subBuffer || s.reveal == nil && len(s.frames) > 0 {
			t.Errorf("the stalled tab holds %d frames, reveal %q", len(s.frames), s.reveal)
		}
		s.mu.Unlock()
	}
	v.hub.mu.Unlock()
}

func TestCloseEndsStreams(t *testing.T) {
	v := New(Config{Title: "shop"})
	addr, err := v.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if v.Addr() != addr {
		t.Errorf("Addr %q, Listen %q", v.Addr(), addr)
	}
	tb := openTab(t, "http://"+addr)
	tb.expect("setup", nil)
	tb.expect("history", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := io.ReadAll(tb.br); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Logf("stream ended with %v", err)
	}
}

func TestPage(t *testing.T) {
	v := New(Config{Title: "shop <demo>", SVG: `<svg class="topology"><path class="edge" data-from="a" data-to="b"/></svg>`, Demo: true, Stop: func() {}})
	rec := httptest.NewRecorder()
	v.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	for _, want := range []string{`<svg class="topology"><path class="edge" data-from="a"`, "shop &lt;demo&gt;", `id="stop-load"`, `id="series-requests"`, `id="fault-plant"`, "EventSource"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	own := strings.ReplaceAll(body, "http://www.w3.org/2000/svg", "")
	for _, bad := range []string{"http://", "https://", "//cdn", "@import", "url(http", "src=\"//"} {
		if strings.Contains(own, bad) {
			t.Errorf("page names another origin: %q", bad)
		}
	}
	if n := len(body); n > 60<<10 {
		t.Errorf("page is %d bytes", n)
	}
}

// do sends a request to v and returns the status and body.
func do(t *testing.T, v *View, method, path string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(`{"for":"10s"}`)
	}
	rec := httptest.NewRecorder()
	v.ServeHTTP(rec, httptest.NewRequest(method, path, body))
	return rec.Code, rec.Body.String()
}

func TestFaultsForward(t *testing.T) {
	var got []string
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+r.URL.Path+" "+string(body))
		w.WriteHeader(http.StatusTeapot)
	})
	v := New(Config{})
	tests := []struct {
		method, path string
		set          bool
		status       int
		forwarded    string
	}{
		{"GET", "/faults", false, 503, ""},
		{"GET", "/faults", true, 418, "GET /faults "},
		{"POST", "/faults", true, 418, `POST /faults {"for":"10s"}`},
		{"DELETE", "/faults/3", true, 418, "DELETE /faults/3 "},
		{"DELETE", "/faults", true, 418, "DELETE /faults "},
		{"POST", "/faults", false, 503, ""},
		{"DELETE", "/faults/3", false, 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			got = nil
			v.SetFaults(nil)
			if tt.set {
				v.SetFaults(fake)
			}
			status, body := do(t, v, tt.method, tt.path)
			if status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
			if tt.forwarded == "" {
				var e map[string]string
				if len(got) != 0 || json.Unmarshal([]byte(body), &e) != nil || e["error"] == "" {
					t.Errorf("forwarded %q, answered %s", got, body)
				}
				return
			}
			if len(got) != 1 || got[0] != tt.forwarded {
				t.Errorf("forwarded %q, want %q", got, tt.forwarded)
			}
		})
	}
}

func TestStopAndClose(t *testing.T) {
	var stops atomic.Int32
	v := New(Config{Stop: func() { stops.Add(1) }})
	for range 3 {
		if status, _ := do(t, v, "POST", "/api/stop"); status != http.StatusNoContent {
			t.Errorf("stop: %d", status)
		}
	}
	if n := stops.Load(); n != 1 {
		t.Errorf("Stop called %d times, want 1", n)
	}
	if status, _ := do(t, New(Config{}), "POST", "/api/stop"); status != http.StatusNotFound {
		t.Errorf("stop without Stop: %d, want 404", status)
	}
	select {
	case <-v.Done():
		t.Fatal("done before close")
	default:
	}
	for range 2 {
		if status, _ := do(t, v, "POST", "/api/close"); status != http.StatusNoContent {
			t.Errorf("close: %d", status)
		}
	}
	select {
	case <-v.Done():
	default:
		t.Fatal("not done after close")
	}
}

func TestReports(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "report.html"), []byte("<p>the report"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(filepath.Dir(dir), "secret.txt"), []byte("top secret"), 0o644)
	v := New(Config{})
	if status, _ := do(t, v, "GET", "/report/report.html"); status != http.StatusNotFound {
		t.Errorf("before ServeReports: %d, want 404", status)
	}
	v.ServeReports(dir)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/report/report.html", 200, "<p>the report"},
		{"/report/", 404, ""},
		{"/report/sub", 404, ""},
		{"/report/nothing.json", 404, ""},
		{"/report/../secret.txt", 0, ""},
		{"/report/%2e%2e/secret.txt", 0, ""},
		{"/report/..%2fsecret.txt", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body := do(t, v, "GET", tt.path)
			if tt.status == 0 {
				if status == http.StatusOK || strings.Contains(body, "top secret") {
					t.Errorf("%s escaped: %d %q", tt.path, status, body)
				}
				return
			}
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("%d %q, want %d %q", status, body, tt.status, tt.body)
			}
		})
	}
}

// TestSubscriberDropsOldFrames requires a tab that does not read to keep
// the latest frames and the reveal.
func TestSubscriberDropsOldFrames(t *testing.T) {
	s := &subscriber{wake: make(chan struct{}, 1)}
	for i := range 100 {
		s.push([]byte(strconv.Itoa(i)), nil)
	}
	s.push(nil, []byte("reveal"))
	for i := 100; i < 200; i++ {
		s.push([]byte(strconv.Itoa(i)), nil)
	}
	frames, reveal := s.take()
	if len(frames) != subBuffer || string(frames[0]) != strconv.Itoa(200-subBuffer) || string(frames[subBuffer-1]) != "199" {
		t.Errorf("kept %q", frames)
	}
	if string(reveal) != "reveal" {
		t.Errorf("reveal %q", reveal)
	}
	if frames, reveal := s.take(); frames != nil || reveal != nil {
		t.Errorf("taken twice: %q %q", frames, reveal)
	}
}

func TestKeepalive(t *testing.T) {
	v := New(Config{Title: "shop"})
	v.keepalive = 20 * time.Millisecond
	srv := serve(t, v)
	tb := openTab(t, srv.URL)
	tb.expect("setup", nil)
	tb.expect("history", nil)
	line, err := tb.br.ReadString('\n')
	if err != nil || line != ": keepalive\n" {
		t.Errorf("read %q, %v; want a keepalive comment", line, err)
	}
}

// TestOtherOrigins: a page of another origin cannot plant faults, stop
// the run or close the view through a viewer's browser; the page's own
// origin, and clients that send no Origin, can.
func TestOtherOrigins(t *testing.T) {
	var stops atomic.Int32
	v := New(Config{Stop: func() { stops.Add(1) }})
	v.SetFaults(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
	tests := []struct {
		method, path, origin string
		want                 int
	}{
		{"POST", "/faults", "http://evil.example", http.StatusForbidden},
		{"DELETE", "/faults/1", "http://127.0.0.1:9999", http.StatusForbidden},
		{"POST", "/api/stop", "null", http.StatusForbidden},
		{"POST", "/api/close", "http://evil.example", http.StatusForbidden},
		{"POST", "/faults", "http://example.com", http.StatusCreated}, // httptest's host
		{"POST", "/faults", "", http.StatusCreated},
		{"GET", "/faults", "http://evil.example", http.StatusCreated}, // reads change nothing
	}
	for _, tt := range tests {
		req := httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}"))
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		rec := httptest.NewRecorder()
		v.ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("%s %s from %q: %d, want %d (%s)", tt.method, tt.path, tt.origin, rec.Code, tt.want, rec.Body)
		}
	}
	if n := stops.Load(); n != 0 {
		t.Errorf("stopped %d times from another origin", n)
	}
	select {
	case <-v.Done():
		t.Error("closed from another origin")
	default:
	}
}
