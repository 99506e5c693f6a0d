package scenarios

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/report/live"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// sseEvent is one server-sent event of the live page.
type sseEvent struct {
	name string
	data []byte
}

// liveEvents reads the live page's events at addr until ctx ends.
func liveEvents(ctx context.Context, t *testing.T, addr string) <-chan sseEvent {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := scrapeClient.Transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("open the event stream: %v", err)
	}
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = append(ev.data, strings.TrimPrefix(line, "data: ")...)
			case line == "" && ev.name != "":
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
				ev = sseEvent{}
			}
		}
	}()
	return out
}

// pagePost sends method to path on the live page at addr and returns the
// status and body.
func pagePost(t *testing.T, method, addr, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := scrapeClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// edgeIn returns the state of from -> to in f.
func edgeIn(f live.Frame, from, to string) live.EdgeState {
	for _, e := range f.Edges {
		if e.From == from && e.To == to && e.Topic == "" {
			return e
		}
	}
	return live.EdgeState{}
}

// awaitEdge reads frames until from -> to is in state, and returns how long
// that took; it fails after limit.
func awaitEdge(t *testing.T, events <-chan sseEvent, from, to, state string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.After(limit)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the event stream ended before %s -> %s was %s", from, to, state)
			}
			if ev.name != "frame" {
				continue
			}
			var f live.Frame
			if err := json.Unmarshal(ev.data, &f); err != nil {
				t.Fatalf("frame: %v", err)
			}
			if e := edgeIn(f, from, to); e.State == state {
				return time.Since(start)
			}
		case <-deadline:
			t.Fatalf("%s -> %s not %s within %s", from, to, state, limit)
		}
	}
}

// runLive runs sc with opts and a live page, handing fn the page's
// address once it listens; it returns the report and what UIWait saw.
func runLive(t *testing.T, ctx context.Context, sc *topology.Scenario, opts Options, fn func(addr string)) (*report.Report, *report.Report) {
	t.Helper()
	addrs := make(chan string, 1)
	var waited *report.Report
	// A test that fails in fn ends the run, and waits for it, before it
	// ends itself.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	closedIn := make(chan bool, 1)
	opts.UI = "127.0.0.1:0"
	opts.UIReady = func(a string) { addrs <- a }
	opts.UIWait = func(rep *report.Report, closed <-chan struct{}) {
		waited = rep
		select {
		case <-closed:
			closedIn <- true
		case <-ctx.Done():
		case <-time.After(30 * time.Second):
			closedIn <- false
		}
	}
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Run(ctx, sc, opts)
		done <- result{rep, err}
	}()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case a := <-addrs:
		fn(a)
	case r := <-done:
		done <- r
		t.Fatalf("the run ended before its page listened: %v", r.err)
	}
	if !<-closedIn {
		t.Error("the page's Close did not end the wait")
	}
	r := <-done
	done <- r // for the deferred wait
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.rep, waited
}

// TestLiveView runs shop with its live page, plants strip-headers cart ->
// inventory through the page's fault API and requires the edge to break
// within 3 s and continue again after the fault is cleared; the series
// grow, Stop load ends the load as its end would, and the reveal names the
// fault that explains the breaks.
func TestLiveView(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	long, rate := 5*time.Minute, topology.Rate{Freq: 50, Per: time.Second}
	rep, waited := runLive(t, ctx, load(t, "shop.yaml"), Options{Duration: &long, Rate: &rate, OutDir: t.TempDir()}, func(addr string) {
		events := liveEvents(ctx, t, addr)
		awaitEdge(t, events, "cart", "inventory", "continuing", 10*time.Second)
		code, body := pagePost(t, http.MethodPost, addr, "/faults", `{"strip-headers": {"from": "cart", "to": "inventory"}}`)
		if code != http.StatusCreated {
			t.Fatalf("plant: %d %s", code, body)
		}
		took := awaitEdge(t, events, "cart", "inventory", "breaking", 3*time.Second)
		t.Logf("cart -> inventory breaking %s after the fault was planted", took.Round(time.Millisecond))
		time.Sleep(2 * time.Second)
		if code, body := pagePost(t, http.MethodDelete, addr, "/faults", ""); code != http.StatusNoContent {
			t.Fatalf("clear: %d %s", code, body)
		}
		took = awaitEdge(t, events, "cart", "inventory", "continuing", 5*time.Second)
		t.Logf("cart -> inventory continuing %s after the fault was cleared", took.Round(time.Millisecond))
		if code, body := pagePost(t, http.MethodPost, addr, "/api/stop", ""); code >= 300 {
			t.Fatalf("stop: %d %s", code, body)
		}
		checkReveal(t, events)
		checkHistory(t, ctx, addr, 5)
		if code, body := pagePost(t, http.MethodPost, addr, "/api/close", ""); code >= 300 {
			t.Fatalf("close: %d %s", code, body)
		}
	})
	if waited != rep {
		t.Error("UIWait was not given the run's report")
	}
	if rep.Interrupted {
		t.Error("a run stopped from its page is marked interrupted")
	}
	if d := rep.Load[0].Duration; d >= long || d < 5*time.Second {
		t.Errorf("the stopped load's duration is %s, want the time it ran", d)
	}
	for _, v := range rep.Verdicts {
		if v.Check == "load" && v.Status != "pass" {
			t.Errorf("load check %s: %s", v.Status, v.Observed)
		}
	}
}

// checkReveal reads events until the reveal and requires the propagation
// finding on cart -> inventory to be explained by the live fault.
func checkReveal(t *testing.T, events <-chan sseEvent) {
	t.Helper()
	for ev := range events {
		if ev.name != "reveal" {
			continue
		}
		var rv live.Reveal
		if err := json.Unmarshal(ev.data, &rv); err != nil {
			t.Fatalf("reveal: %v", err)
		}
		for _, v := range rv.Verdicts {
			for _, f := range v.Findings {
				if f.From == "cart" && f.To == "inventory" && strings.Contains(f.Fault, "strip-headers cart -> inventory") {
					t.Logf("reveal: %s; %s: %s", rv.Summary, f.Message, f.Fault)
					return
				}
			}
		}
		t.Fatalf("the reveal explains no finding on cart -> inventory by the fault: %s", fmt.Sprint(rv.Verdicts))
	}
	t.Fatal("the event stream ended without a reveal")
}

// checkHistory opens a new stream on the page at addr, as a tab opened
// late does, and requires the whole series and the fault's window in its
// history.
func checkHistory(t *testing.T, ctx context.Context, addr string, points int) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for ev := range liveEvents(ctx, t, addr) {
		if ev.name != "history" {
			continue
		}
		var h struct {
			Points []live.Point       `json:"points"`
			Faults []live.FaultWindow `json:"faults"`
		}
		if err := json.Unmarshal(ev.data, &h); err != nil {
			t.Fatalf("history: %v", err)
		}
		if len(h.Points) < points {
			t.Errorf("a late tab's history has %d points, want at least %d", len(h.Points), points)
		}
		for i := 1; i < len(h.Points); i++ {
			if h.Points[i].T <= h.Points[i-1].T {
				t.Errorf("point %d at %gs after %gs", i, h.Points[i].T, h.Points[i-1].T)
			}
		}
		if len(h.Faults) != 1 || !h.Faults[0].Live || h.Faults[0].Open || h.Faults[0].Desc != "strip-headers cart -> inventory" {
			t.Errorf("history's fault windows %+v, want the live strip-headers, closed", h.Faults)
		}
		return
	}
	t.Fatal("no history")
}

// TestUntilStopped runs quickstart's load until Stop closes: the run ends
// then, is judged as one that ended (not interrupted), and reports the
// time its load ran.
func TestUntilStopped(t *testing.T) {
	sc := load(t, "quickstart.yaml")
	stop := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	opts := Options{UntilStopped: true, Stop: stop, OutDir: t.TempDir()}
	opts.started = func(*simulator.Runtime) { once.Do(func() { close(started) }) }
	go func() {
		<-started
		time.Sleep(3 * time.Second)
		close(stop)
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	begin := time.Now()
	rep, err := Run(ctx, sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > time.Minute {
		t.Fatalf("the run took %s after a stop at 3s", took)
	}
	if rep.Interrupted || rep.Failed() {
		t.Errorf("interrupted %v, failed %v, want a passing run that ended", rep.Interrupted, rep.Failed())
	}
	if d := rep.Load[0].Duration; d < 2*time.Second || d > 20*time.Second {
		t.Errorf("load duration %s, want about 3s", d)
	}
}

// watched is what a tab saw of a run's live page: by edge ("from -> to
// topic"), every state a frame of the load showed it in, and the last
// state it showed continuing with traffic; the fault windows by
// description; the frames of the load; and the reveal.
type watched struct {
	states  map[string]map[string]bool
	flowing map[string]live.EdgeState
	faults  map[string]bool
	frames  int
	reveal  *live.Reveal
}

// liveKey is how watched names an edge: "from -> to topic".
func liveKey(from, to, topic string) string {
	return strings.TrimSpace(from + " -> " + to + " " + topic)
}

// watchLive runs sc with a live page, watched by a tab from its start to
// its reveal, which then closes the page, and returns the report and what
// the tab saw.
func watchLive(t *testing.T, ctx context.Context, sc *topology.Scenario, opts Options) (*report.Report, watched) {
	t.Helper()
	w := watched{states: map[string]map[string]bool{}, flowing: map[string]live.EdgeState{}, faults: map[string]bool{}}
	rep, _ := runLive(t, ctx, sc, opts, func(addr string) {
		w.watch(t, liveEvents(ctx, t, addr))
		if code, body := pagePost(t, http.MethodPost, addr, "/api/close", ""); code >= 300 {
			t.Fatalf("close: %d %s", code, body)
		}
	})
	return rep, w
}

// watch reads events until the reveal.
func (w *watched) watch(t *testing.T, events <-chan sseEvent) {
	t.Helper()
	for ev := range events {
		switch ev.name {
		case "reveal":
			w.reveal = new(live.Reveal)
			if err := json.Unmarshal(ev.data, w.reveal); err != nil {
				t.Fatalf("reveal: %v", err)
			}
			return
		case "frame":
			var f live.Frame
			if err := json.Unmarshal(ev.data, &f); err != nil {
				t.Fatalf("frame: %v", err)
			}
			for _, fw := range f.Faults {
				w.faults[fw.Desc] = true
			}
			if f.Phase != "load" {
				continue
			}
			w.frames++
			for _, e := range f.Edges {
				k := liveKey(e.From, e.To, e.Topic)
				if w.states[k] == nil {
					w.states[k] = map[string]bool{}
				}
				w.states[k][e.State] = true
				if e.State == "continuing" && e.Rate > 0 {
					w.flowing[k] = e
				}
			}
		}
	}
}
