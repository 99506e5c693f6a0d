package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/browsertest"
	"github.com/tracerig/tracerig/report"
)

// fakeFaults is a fault API that records what it is asked: a POST plants
// fault 1, DELETE clears it.
type fakeFaults struct {
	mu     sync.Mutex
	posts  []string
	clears []string
	active bool
}

func (f *fakeFaults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet:
		active := []map[string]any{}
		if f.active {
			active = append(active, map[string]any{"id": 1, "kind": "strip-headers", "desc": "strip-headers cart -> inventory", "live": true})
		}
		json.NewEncoder(w).Encode(map[string]any{"active": active, "windows": []any{}})
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		f.posts = append(f.posts, string(body))
		f.active = true
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"id":1}`)
	case r.Method == http.MethodDelete:
		f.clears = append(f.clears, r.URL.Path)
		f.active = false
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *fakeFaults) seen() (posts, clears []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.posts...), append([]string(nil), f.clears...)
}

// feeder publishes a frame every 200 ms with edge cart -> inventory in
// the state last set, until stopped.
type feeder struct {
	v     *View
	mu    sync.Mutex
	state string
	once  sync.Once
	stop  chan struct{}
	done  chan struct{}
}

func feed(v *View) *feeder {
	f := &feeder{v: v, state: "continuing", stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *feeder) set(state string) {
	f.mu.Lock()
	f.state = state
	f.mu.Unlock()
}

func (f *feeder) run() {
	defer close(f.done)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for s := 1.0; ; s++ {
		f.mu.Lock()
		state := f.state
		f.mu.Unlock()
		f.v.Publish(Frame{T: s, Phase: "load",
			Edges: []EdgeState{
				{From: "cart", To: "inventory", State: state, Rate: 12.3, Errors: 0.02, P99: 41, Hops: int64(s) * 12},
				{From: "frontend", To: "cart", State: "continuing", Rate: 20, P99: 80, Hops: int64(s) * 20},
			},
			Point: Point{T: s, Asked: 20, Sent: 19 + float64(int(s)%3), Ended: 60, Arrived: 55 + float64(int(s)%5),
				Queue: float64(int(s) % 7 * 10), Lost: float64(int(s) % 4)},
			Faults: []FaultWindow{{ID: 1, Number: 1, Kind: "strip-headers", Desc: "strip-headers cart -> inventory", Start: 5, End: min(s, 15), Open: s < 15}},
		})
		select {
		case <-f.stop:
			return
		case <-tick.C:
		}
	}
}

func (f *feeder) halt() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

const pointsOf = `Number(document.querySelector('#series-requests polyline[data-series="sent"]')?.getAttribute('data-points') || 0)`

// TestBrowser drives the live page in headless Chromium: edges follow the
// frames, the series grow, the fault form plants and clears a fault
// through the fault API, the reveal shows the verdicts, and the page asks
// nothing of any other origin.
func TestBrowser(t *testing.T) {
	ctx := browsertest.Start(t, 90*time.Second)
	sc := loadScenario(t, "shop")
	faults := &fakeFaults{}
	stopped := make(chan struct{})
	v := New(Config{Title: sc.Name, SVG: report.LiveTopologySVG(sc.Topology), Targets: TargetsOf(sc.Topology),
		Stop: func() { close(stopped) }, Demo: true})
	v.SetFaults(faults)
	addr, err := v.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := feed(v)
	t.Cleanup(func() {
		f.halt()
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v.Close(cctx)
	})
	origin := "http://" + addr
	var reqs browsertest.Requests
	browsertest.Open(t, ctx, origin+"/", &reqs)
	browsertest.Wait(t, ctx, "the setup", `document.getElementById('fault-kind').options.length > 0`, 10*time.Second)
	browsertest.Wait(t, ctx, "cart -> inventory continuing", browsertest.EdgeIs("cart", "inventory", "continuing", "#2e8540"), 3*time.Second)
	f.set("breaking")
	browsertest.Wait(t, ctx, "cart -> inventory breaking", browsertest.EdgeIs("cart", "inventory", "breaking", "#c62828"), 3*time.Second)
	if w := browsertest.Eval[string](t, ctx, `document.querySelector('path.edge[data-from="cart"][data-to="inventory"]').getAttribute('stroke-width')`); w != "2.8" {
		t.Errorf("a breaking edge is %s wide, want 2.8", w)
	}
	label := browsertest.Eval[string](t, ctx, `document.querySelector('g.edge-label[data-from="cart"][data-to="inventory"] text').textContent`)
	if label != "12/s · 2% err · p99 41ms" {
		t.Errorf("edge label %q", label)
	}
	n := browsertest.Eval[int](t, ctx, pointsOf)
	browsertest.Wait(t, ctx, "the series to grow", fmt.Sprintf("%s > %d", pointsOf, n+1), 3*time.Second)
	for _, id := range []string{"series-requests", "series-spans", "series-queue", "series-loss"} {
		if browsertest.Eval[int](t, ctx, `document.querySelectorAll('#`+id+` polyline[data-points]').length`) == 0 {
			t.Errorf("chart %s has no line", id)
		}
	}
	plantAndClear(t, ctx, faults)
	browsertest.Screenshot(t, ctx, "live-running.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("stop-load"))); err != nil {
		t.Fatalf("stop: %v", err)
	}
	waitFor(t, "Stop", func() bool { return isClosed(stopped) })
	reveal(t, ctx, v)
	browsertest.Screenshot(t, ctx, "live-reveal.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("reveal-close"))); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitFor(t, "Done", func() bool { return isClosed(v.Done()) })
	if sw := browsertest.Eval[int](t, ctx, `document.documentElement.scrollWidth`); sw > 1280 {
		t.Errorf("the page is %d px wide at 1280", sw)
	}
	reqs.Check(t, origin)
	f.halt()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := v.Close(cctx); err != nil {
		t.Fatalf("close the view: %v", err)
	}
	browsertest.Wait(t, ctx, "the page to say disconnected", `document.getElementById('conn').textContent === 'disconnected'`, 5*time.Second)
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// plantAndClear fills the fault form, plants, and clears the fault from
// the list.
func plantAndClear(t *testing.T, ctx context.Context, faults *fakeFaults) {
	t.Helper()
	browsertest.Eval[bool](t, ctx, `(() => {
		const k = document.getElementById('fault-kind'); k.value = 'strip-headers'; k.dispatchEvent(new Event('change'));
		const g = document.getElementById('fault-target'); g.value = 'cart -> inventory'; g.dispatchEvent(new Event('change'));
		return g.value === 'cart -> inventory'; })()`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("fault-for"), "10s"), chromedp.Click(chromedp.ID("fault-plant"))); err != nil {
		t.Fatalf("plant: %v", err)
	}
	waitFor(t, "the POST", func() bool { posts, _ := faults.seen(); return len(posts) > 0 })
	posts, _ := faults.seen()
	var got, want any
	json.Unmarshal([]byte(posts[0]), &got)
	json.Unmarshal([]byte(`{"for":"10s","strip-headers":{"from":"cart","to":"inventory"}}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("planted %s, want %v", posts[0], want)
	}
	browsertest.Wait(t, ctx, "the fault in the list", `!!document.getElementById('fault-clear-1')`, 3*time.Second)
	if txt := browsertest.Eval[string](t, ctx, `document.getElementById('fault-list').textContent`); !strings.Contains(txt, "strip-headers cart -> inventory") {
		t.Errorf("fault list %q", txt)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("fault-clear-1"))); err != nil {
		t.Fatalf("clear: %v", err)
	}
	waitFor(t, "the DELETE", func() bool { _, clears := faults.seen(); return len(clears) > 0 })
	if _, clears := faults.seen(); clears[0] != "/faults/1" {
		t.Errorf("cleared %q, want /faults/1", clears)
	}
	browsertest.Wait(t, ctx, "the list to empty", `!document.getElementById('fault-clear-1')`, 3*time.Second)
}

// reveal sends the verdicts and requires the page to show them.
func reveal(t *testing.T, ctx context.Context, v *View) {
	t.Helper()
	const why = "explained by fault #1 (strip-headers cart -> inventory, 5s–15s)"
	v.Reveal(Reveal{Passed: false, Summary: "2 checks: 1 passed, 1 failed", Report: "/report/report.html",
		Verdicts: []assert.Verdict{
			{Check: "propagation", Status: assert.StatusFail, Observed: "1 broken edge", Findings: []assert.Finding{
				{Subject: "cart -> inventory", Status: assert.FindingInfo, Message: "baseline", Count: 1},
				{Subject: "cart -> inventory", Status: assert.FindingFailing, Message: "context lost", Count: 40, Of: 400, Fault: why},
			}},
			{Check: "completeness", Status: assert.StatusPass, Observed: "every span arrived"},
		}})
	browsertest.Wait(t, ctx, "the reveal", `!document.getElementById('reveal').hidden`, 3*time.Second)
	txt := browsertest.Eval[string](t, ctx, `document.getElementById('reveal').textContent`)
	for _, want := range []string{"FAILED", why, "context lost", "40 of 400", "completeness"} {
		if !strings.Contains(txt, want) {
			t.Errorf("reveal lacks %q: %s", want, txt)
		}
	}
	if i, j := strings.Index(txt, "context lost"), strings.Index(txt, "baseline"); i > j {
		t.Errorf("the failing finding is not first: %s", txt)
	}
	if href := browsertest.Eval[string](t, ctx, `document.getElementById('reveal-report')?.getAttribute('href') || ''`); href != "/report/report.html" {
		t.Errorf("report link %q", href)
	}
}

// TestBrowserThinsLikeTheView feeds a page more points than it keeps: the
// page that saw every frame thins its series as the view does, so it
// draws exactly what a page opened afterwards is given.
func TestBrowserThinsLikeTheView(t *testing.T) {
	ctx := browsertest.Start(t, 90*time.Second)
	sc := loadScenario(t, "shop")
	v := New(Config{Title: sc.Name, SVG: report.LiveTopologySVG(sc.Topology), Targets: TargetsOf(sc.Topology)})
	const limit, seconds = 40, 130
	v.hub.limit = limit
	addr, err := v.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v.Close(cctx)
	})
	url := "http://" + addr + "/"
	browsertest.Open(t, ctx, url, nil)
	waitFor(t, "the page's event stream", func() bool { return v.subscribers() == 1 })
	clock := func(s int) string {
		return fmt.Sprintf(`document.getElementById('elapsed').textContent === '%d:%02d'`, s/60, s%60)
	}
	for s := 1; s <= seconds; s++ {
		p := second(s)
		if s > 33 {
			p.Asked = -1 // the load ended: the merged stretch across it too
		}
		v.Publish(Frame{T: float64(s), Phase: "load", Point: p})
		// Fewer frames at a time than a stream holds: the page sees every one.
		if s%8 == 0 || s == seconds {
			browsertest.Wait(t, ctx, fmt.Sprintf("frame %d", s), clock(s), 5*time.Second)
		}
	}
	v.hub.mu.Lock()
	kept := len(v.hub.points)
	v.hub.mu.Unlock()
	if kept > limit || kept < limit/2 {
		t.Fatalf("the view keeps %d points of %d, limit %d", kept, seconds, limit)
	}
	if n := browsertest.Eval[int](t, ctx, pointsOf); n != kept {
		t.Errorf("the page draws %d points, the view keeps %d", n, kept)
	}
	const lines = `Array.from(document.querySelectorAll('svg polyline[data-series]')).map(p => p.dataset.series + ' ' + p.getAttribute('points')).join('\n')`
	early := browsertest.Eval[string](t, ctx, lines)
	late, cancel := chromedp.NewContext(ctx)
	defer cancel()
	browsertest.Open(t, late, url, nil)
	browsertest.Wait(t, late, "the history", clock(seconds), 5*time.Second)
	if got := browsertest.Eval[string](t, late, lines); got != early {
		t.Errorf("a page opened late draws\n%s\nthe page that saw every frame\n%s", got, early)
	}
}
