//go:build unix

package launch

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

// python returns the python3 to run testdata/forward.py with: Debian's,
// else the first on $PATH. Without one the test is skipped, or fails when
// TRACERIG_REQUIRE_PYTHON=1.
func python(t *testing.T) string {
	t.Helper()
	if st, err := os.Stat("/usr/bin/python3"); err == nil && st.Mode()&0o111 != 0 {
		return "/usr/bin/python3"
	}
	if p, err := exec.LookPath("python3"); err == nil {
		return p
	}
	if os.Getenv("TRACERIG_REQUIRE_PYTHON") == "1" {
		t.Fatal("python3 is neither /usr/bin/python3 nor on $PATH, and TRACERIG_REQUIRE_PYTHON=1")
	}
	t.Skip("python3 is neither /usr/bin/python3 nor on $PATH: the Python command node is not tested (TRACERIG_REQUIRE_PYTHON=1 makes this a failure)")
	return ""
}

// TestPythonCommandNode starts testdata/forward.py as a topology's command
// node would be, {port} substituted, and calls it: it reaches inventory
// through INVENTORY_URL, forwarding traceparent unless told to drop it.
func TestPythonCommandNode(t *testing.T) {
	t.Parallel()
	py := python(t)
	script, err := filepath.Abs("testdata/forward.py")
	if err != nil {
		t.Fatal(err)
	}
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name string
		args []string
		env  []string
		want []string // the traceparent headers inventory saw
	}{
		{name: "forwards traceparent", want: []string{traceparent}},
		{name: "--drop", args: []string{"--drop"}, want: []string{""}},
		{name: "DROP_TRACEPARENT=1", env: []string{"DROP_TRACEPARENT=1"}, want: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var seen []string
			inventory := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen = append(seen, r.Header.Get("traceparent"))
				mu.Unlock()
				io.WriteString(w, "in stock\n")
			}))
			t.Cleanup(inventory.Close)
			port, err := FreePort()
			if err != nil {
				t.Fatal(err)
			}
			l := &topology.Launch{Command: append([]string{py, script, "--port", topology.PortPlaceholder}, tt.args...)}
			p := Process{
				Name:    "forward",
				Argv:    Args(l, port),
				Env:     append([]string{"INVENTORY_URL=" + inventory.URL}, tt.env...),
				Port:    port,
				Wait:    topology.Wait{HTTP: "/healthz", Timeout: 10 * time.Second},
				LogPath: filepath.Join(t.TempDir(), "forward.log"),
				Grace:   2 * time.Second,
			}
			if !slices.Contains(p.Argv, strconv.Itoa(port)) {
				t.Fatalf("{port} not substituted: %q", p.Argv)
			}
			n := mustStart(t, p)

			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+n.Addr()+"/reserve", nil)
			req.Header.Set("traceparent", traceparent)
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "in stock\n" {
				t.Fatalf("GET /reserve: %s %q\n%s", resp.Status, body, LastLines(p.LogPath, 20))
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(seen, tt.want) {
				t.Errorf("inventory saw traceparent %q, want %q", seen, tt.want)
			}
		})
	}
}
