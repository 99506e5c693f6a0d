package live

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// faultRuntime is the fault control of a run without its simulator: it
// keeps the faults planted.
type faultRuntime struct {
	mu     sync.Mutex
	next   int
	active []simulator.FaultInfo
}

func (r *faultRuntime) InjectFault(f topology.Fault, number int, live bool) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next++
	r.active = append(r.active, simulator.FaultInfo{ID: r.next, Number: number, Kind: string(f.Kind), Live: live,
		Desc: string(f.Kind) + " " + f.Target.From + " -> " + f.Target.To, Fault: f})
	return r.next, nil
}

func (r *faultRuntime) ClearFault(id int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, f := range r.active {
		if f.ID == id {
			r.active = append(r.active[:i], r.active[i+1:]...)
			return nil
		}
	}
	return simulator.ErrNoFault
}

func (r *faultRuntime) ClearFaults() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active = nil
}

func (r *faultRuntime) Faults() []simulator.FaultInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]simulator.FaultInfo(nil), r.active...)
}

func (r *faultRuntime) FaultWindows() []record.Fault { return nil }

// TestFaultsThroughControl serves the run's real fault API through the
// view: the bodies the page sends are planted, listed and cleared, and
// refused with the API's message.
func TestFaultsThroughControl(t *testing.T) {
	shop := loadScenario(t, "shop").Topology
	api := control.NewServer(&faultRuntime{}, shop)
	t.Cleanup(func() { api.Close(t.Context()) })
	v := New(Config{Title: "shop"})
	v.SetFaults(api)
	srv := serve(t, v)
	tests := []struct {
		method, path, body string
		status             int
		answer             string // a substring of the answer
	}{
		{"POST", "/faults", `{"for":"10s","strip-headers":{"from":"cart","to":"inventory"}}`, 201, `{"id":1}`},
		{"POST", "/faults", `{"partition":{"from":"cart","to":"nowhere"}}`, 400, `"error"`},
		{"GET", "/faults", "", 200, `"desc":"strip-headers cart -> inventory"`},
		{"DELETE", "/faults/1", "", 204, ""},
		{"DELETE", "/faults/1", "", 404, `"error"`},
		{"DELETE", "/faults", "", 204, ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tt.status || !strings.Contains(string(b), tt.answer) {
			t.Errorf("%s %s %s: %d %s, want %d with %s", tt.method, tt.path, tt.body, resp.StatusCode, b, tt.status, tt.answer)
		}
	}
}
