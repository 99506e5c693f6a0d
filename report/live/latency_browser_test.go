package live

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/browsertest"
	"github.com/tracerig/tracerig/simulator/control"
	"github.com/tracerig/tracerig/topology"
)

// TestBrowserLatencyReplace plants latency faults that replace a route's
// distribution from the page's form, through the run's real fault API: the
// field takes a latency as routes write it, and what the API refuses is
// shown with its message.
func TestBrowserLatencyReplace(t *testing.T) {
	ctx := browsertest.Start(t, 60*time.Second)
	shop := loadScenario(t, "shop").Topology
	rt := &faultRuntime{}
	api := control.NewServer(rt, shop)
	t.Cleanup(func() { api.Close(t.Context()) })
	v := New(Config{Title: "shop", Targets: TargetsOf(shop)})
	v.SetFaults(api)
	srv := serve(t, v)
	browsertest.Open(t, ctx, srv.URL+"/", nil)
	browsertest.Wait(t, ctx, "the setup", `document.getElementById('fault-kind').options.length > 0`, 10*time.Second)
	browsertest.Eval[bool](t, ctx, `(() => {
		const k = document.getElementById('fault-kind'); k.value = 'latency'; k.dispatchEvent(new Event('change'));
		const g = document.getElementById('fault-target'); g.value = 'cart'; g.dispatchEvent(new Event('change'));
		document.querySelector('#fault-params [data-param="add"] input').value = '';
		return true; })()`)
	ms := time.Millisecond
	tests := []struct {
		field string
		want  topology.Latency // Pos aside
		err   string           // a substring of the message shown instead
	}{
		{field: "40ms", want: topology.Latency{Dist: topology.DistConstant, Value: 40 * ms}},
		{field: "p50=20ms p99=200ms", want: topology.Latency{Dist: topology.DistLognormal, P50: 20 * ms, P99: 200 * ms}},
		{field: "min: 5ms, max: 50ms", want: topology.Latency{Dist: topology.DistUniform, Min: 5 * ms, Max: 50 * ms}},
		{field: "dist=pareto min=1ms alpha=1.5", want: topology.Latency{Dist: topology.DistPareto, Min: ms, Alpha: 1.5}},
		{field: "p50=20ms", err: "p99"},
		{field: "p50=20ms p99=200ms typo=1", err: "typo"},
	}
	for i, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			before := len(rt.Faults())
			browsertest.Eval[bool](t, ctx, fmt.Sprintf(`(() => {
				document.getElementById('fault-msg').textContent = ''; document.getElementById('fault-error').textContent = '';
				document.querySelector('#fault-params [data-param="replace"] input').value = %q; return true; })()`, tt.field))
			browsertest.Click(t, ctx, "fault-plant")
			browsertest.Wait(t, ctx, "the answer", `document.getElementById('fault-msg').textContent !== '' || document.getElementById('fault-error').textContent !== ''`, 5*time.Second)
			msg := browsertest.Eval[string](t, ctx, `document.getElementById('fault-error').textContent`)
			faults := rt.Faults()
			if tt.err != "" {
				if !strings.Contains(msg, tt.err) || len(faults) != before {
					t.Fatalf("case %d: message %q, %d faults planted: want %q shown and none planted", i, msg, len(faults)-before, tt.err)
				}
				return
			}
			if msg != "" || len(faults) != before+1 {
				t.Fatalf("case %d: message %q, %d faults planted", i, msg, len(faults)-before)
			}
			f := faults[len(faults)-1].Fault
			got := f.Latency.Replace
			got.Pos = topology.Pos{}
			if got != tt.want || f.Latency.Add != 0 || f.Target.Service != "cart" {
				t.Errorf("planted %+v on %+v, want replace %+v on cart", f.Latency, f.Target, tt.want)
			}
		})
	}
}
