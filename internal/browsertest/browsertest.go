// Package browsertest drives pages in headless Chromium for tests
// (chromedp): it starts the browser, evaluates expressions, waits on the
// page, records every request the page makes, and takes screenshots that
// must show real content.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Width and Height are the window every page is shown in: a projector's.
const (
	Width  = 1280
	Height = 720
)

// Start starts headless Chromium for t in a Width x Height window and
// returns the context of its first tab, cancelled when t ends (or after
// limit). Without chromium t is skipped, or fails when
// TRACERIG_REQUIRE_TOOLS is set.
func Start(t *testing.T, limit time.Duration) context.Context {
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
		chromedp.WindowSize(Width, Height), chromedp.UserDataDir(t.TempDir()))
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, limit)
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return ctx
}

// Open records the page's requests into reqs (when not nil) and loads url
// in a Width x Height viewport.
func Open(t *testing.T, ctx context.Context, url string, reqs *Requests) {
	t.Helper()
	if reqs != nil {
		reqs.listen(t, ctx)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(Width, Height), chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// Wait polls expr in the page until it is true and returns how long that
// took; it fails t after d.
func Wait(t *testing.T, ctx context.Context, what, expr string, d time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !Eval[bool](t, ctx, expr) {
		if time.Since(start) > d {
			t.Fatalf("timed out after %s waiting for %s (%s)", d, what, expr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// Click clicks the element with the id.
func Click(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))); err != nil {
		t.Fatalf("click #%s: %v", id, err)
	}
}

// Requests records the URL of every request a page makes.
type Requests struct {
	mu   sync.Mutex
	urls []string
}

func (r *Requests) listen(t *testing.T, ctx context.Context) {
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

// Check fails t on a request outside origin ("http://HOST:PORT"), data:
// URLs aside, and when none was recorded at all.
func (r *Requests) Check(t *testing.T, origin string) {
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

// Screenshot captures the viewport into t's artifact folder as name and
// requires real content: a Width x Height PNG of many colours, none
// covering nearly all of it.
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	CheckPNG(t, name, data, Width, Height)
}

// CheckPNG requires data, the screenshot called name, to be a PNG of w x h
// with real content: many colours, none covering nearly all of it.
func CheckPNG(t *testing.T, name string, data []byte, w, h int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("screenshot %s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), w, h)
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

// EdgeIs is the page expression true when the live page's edge from -> to
// shows state in colour.
func EdgeIs(from, to, state, colour string) string {
	return fmt.Sprintf(`(() => { const p = document.querySelector('path.edge[data-from=%q][data-to=%q]');
		return !!p && p.getAttribute('data-state') === %q && p.getAttribute('stroke') === %q; })()`, from, to, state, colour)
}

// Timer measures, in the page's own clock, the time from a click on the
// element with the id clickID to the moment the expression cond turns
// true after it: what a viewer sees, whatever the test's round trips to
// the browser cost. Start it before the click; Wait returns the time.
type Timer struct {
	name string
}

// StartTimer installs a Timer called name (a JavaScript identifier).
func StartTimer(t *testing.T, ctx context.Context, name, clickID, cond string) *Timer {
	t.Helper()
	Eval[bool](t, ctx, fmt.Sprintf(`(() => {
		const m = (window.__timers = window.__timers || {})[%[1]q] = {};
		document.addEventListener('click', (e) => {
			if (m.start === undefined && e.target.closest('#' + %[2]q)) { m.start = performance.now(); }
		}, {capture: true});
		const check = () => { if (m.start !== undefined && m.end === undefined && (%[3]s)) { m.end = performance.now(); } };
		new MutationObserver(check).observe(document.body, {attributes: true, childList: true, subtree: true, characterData: true});
		return true; })()`, name, clickID, cond))
	return &Timer{name: name}
}

// Wait waits up to limit (test time) for the condition and returns the
// time the page measured from the click to it.
func (tm *Timer) Wait(t *testing.T, ctx context.Context, limit time.Duration) time.Duration {
	t.Helper()
	m := fmt.Sprintf(`window.__timers[%q]`, tm.name)
	Wait(t, ctx, tm.name, m+`.end !== undefined`, limit)
	ms := Eval[float64](t, ctx, m+`.end - `+m+`.start`)
	return time.Duration(ms * float64(time.Millisecond))
}
