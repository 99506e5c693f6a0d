package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tracerig/tracerig/assert"
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

// browser starts headless Chromium for t, or skips t without one.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("TRACERIG_REQUIRE_TOOLS") != "" {
			t.Fatalf("chromium is required: %v", err)
		}
		t.Skipf("no chromium: %v", err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 720), chromedp.UserDataDir(t.TempDir()))
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return ctx
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitPage polls expr in the page until it is true, for up to d.
func waitPage(t *testing.T, ctx context.Context, what, expr string, d time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(d); !eval[bool](t, ctx, expr); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (%s)", d, what, expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
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

// requests records the URL of every request the page makes.
type requests struct {
	mu   sync.Mutex
	urls []string
}

func (r *requests) listen(t *testing.T, ctx context.Context) {
	t.Helper()
	err := chromedp.Listen(ctx, func(ev any) {
		var url string
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			url = e.Request.URL
		case network.EventRequestWillBeSent:
			url = e.Request.URL
		default:
			return
		}
		r.mu.Lock()
		r.urls = append(r.urls, url)
		r.mu.Unlock()
	})
	if err != nil {
		t.Fatalf("listen for requests: %v", err)
	}
}

// check fails t on a request outside origin, data: URLs aside.
func (r *requests) check(t *testing.T, origin string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.urls) == 0 {
		t.Error("no request recorded")
	}
	for _, u := range r.urls {
		if !strings.HasPrefix(u, origin+"/") && u != origin && !strings.HasPrefix(u, "data:") {
			t.Errorf("the page requested %s, outside %s", u, origin)
		}
	}
}

// screenshot captures the viewport to dir/name and requires it to be
// real content: the size of the viewport, many colours.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := t.ArtifactDir()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 720 {
		t.Errorf("screenshot %s is %dx%d, want 1280x720", name, b.Dx(), b.Dy())
	}
	colours, top := histogram(img)
	total := img.Bounds().Dx() * img.Bounds().Dy()
	if colours < 32 || top > total*97/100 {
		t.Errorf("screenshot %s looks blank: %d colours, the commonest covers %d of %d pixels", name, colours, top, total)
	}
}

// histogram counts the colours of img and the pixels of the commonest.
func histogram(img image.Image) (colours, top int) {
	counts := map[uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			k := r>>8<<24 | g>>8<<16 | bl>>8<<8 | a>>8
			counts[k]++
			top = max(top, counts[k])
		}
	}
	return len(counts), top
}

// edgeIs is the page expression true when edge cart -> inventory shows
// state in colour.
func edgeIs(state, colour string) string {
	return fmt.Sprintf(`(() => { const p = document.querySelector('path.edge[data-from="cart"][data-to="inventory"]');
		return !!p && p.getAttribute('data-state') === %q && p.getAttribute('stroke') === %q; })()`, state, colour)
}

const pointsOf = `Number(document.querySelector('#series-requests polyline[data-series="sent"]')?.getAttribute('data-points') || 0)`

// TestBrowser drives the live page in headless Chromium: edges follow the
// frames, the series grow, the fault form plants and clears a fault
// through the fault API, the reveal shows the verdicts, and the page asks
// nothing of any other origin.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
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
	var reqs requests
	reqs.listen(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 720), chromedp.Navigate(origin+"/")); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	waitPage(t, ctx, "the setup", `document.getElementById('fault-kind').options.length > 0`, 10*time.Second)
	waitPage(t, ctx, "cart -> inventory continuing", edgeIs("continuing", "#2e8540"), 3*time.Second)
	f.set("breaking")
	waitPage(t, ctx, "cart -> inventory breaking", edgeIs("breaking", "#c62828"), 3*time.Second)
	if w := eval[string](t, ctx, `document.querySelector('path.edge[data-from="cart"][data-to="inventory"]').getAttribute('stroke-width')`); w != "2.8" {
		t.Errorf("a breaking edge is %s wide, want 2.8", w)
	}
	label := eval[string](t, ctx, `document.querySelector('g.edge-label[data-from="cart"][data-to="inventory"] text').textContent`)
	if label != "12.3/s · 2% err · p99 41ms" {
		t.Errorf("edge label %q", label)
	}
	n := eval[int](t, ctx, pointsOf)
	waitPage(t, ctx, "the series to grow", fmt.Sprintf("%s > %d", pointsOf, n+1), 3*time.Second)
	for _, id := range []string{"series-requests", "series-spans", "series-queue", "series-loss"} {
		if eval[int](t, ctx, `document.querySelectorAll('#`+id+` polyline[data-points]').length`) == 0 {
			t.Errorf("chart %s has no line", id)
		}
	}
	plantAndClear(t, ctx, faults)
	screenshot(t, ctx, "live-running.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("stop-load"))); err != nil {
		t.Fatalf("stop: %v", err)
	}
	waitFor(t, "Stop", func() bool { return isClosed(stopped) })
	reveal(t, ctx, v)
	screenshot(t, ctx, "live-reveal.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("reveal-close"))); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitFor(t, "Done", func() bool { return isClosed(v.Done()) })
	if sw := eval[int](t, ctx, `document.documentElement.scrollWidth`); sw > 1280 {
		t.Errorf("the page is %d px wide at 1280", sw)
	}
	reqs.check(t, origin)
	f.halt()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := v.Close(cctx); err != nil {
		t.Fatalf("close the view: %v", err)
	}
	waitPage(t, ctx, "the page to say disconnected", `document.getElementById('conn').textContent === 'disconnected'`, 5*time.Second)
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
	eval[bool](t, ctx, `(() => {
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
	waitPage(t, ctx, "the fault in the list", `!!document.getElementById('fault-clear-1')`, 3*time.Second)
	if txt := eval[string](t, ctx, `document.getElementById('fault-list').textContent`); !strings.Contains(txt, "strip-headers cart -> inventory") {
		t.Errorf("fault list %q", txt)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("fault-clear-1"))); err != nil {
		t.Fatalf("clear: %v", err)
	}
	waitFor(t, "the DELETE", func() bool { _, clears := faults.seen(); return len(clears) > 0 })
	if _, clears := faults.seen(); clears[0] != "/faults/1" {
		t.Errorf("cleared %q, want /faults/1", clears)
	}
	waitPage(t, ctx, "the list to empty", `!document.getElementById('fault-clear-1')`, 3*time.Second)
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
	waitPage(t, ctx, "the reveal", `!document.getElementById('reveal').hidden`, 3*time.Second)
	txt := eval[string](t, ctx, `document.getElementById('reveal').textContent`)
	for _, want := range []string{"FAILED", why, "context lost", "40 of 400", "completeness"} {
		if !strings.Contains(txt, want) {
			t.Errorf("reveal lacks %q: %s", want, txt)
		}
	}
	if i, j := strings.Index(txt, "context lost"), strings.Index(txt, "baseline"); i > j {
		t.Errorf("the failing finding is not first: %s", txt)
	}
	if href := eval[string](t, ctx, `document.getElementById('reveal-report')?.getAttribute('href') || ''`); href != "/report/report.html" {
		t.Errorf("report link %q", href)
	}
}
