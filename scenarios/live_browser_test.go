package scenarios

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/browsertest"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/topology"
)

// The live page's edge colours (report's graph colours).
const (
	liveGreen = "#2e8540"
	liveRed   = "#c62828"
)

// TestLiveViewInBrowser opens the live page of a shop run in headless
// Chromium, plants strip-headers cart -> inventory through its fault form
// and requires the edge to turn to the breaking colour within 3 s and back
// after the fault is cleared from the list; the series grow; Stop load
// ends the run, whose reveal explains the breaks by the fault and links to
// report.html; screenshots at 1280x720 are kept as the test's artifacts;
// the page asks nothing of any other origin.
func TestLiveViewInBrowser(t *testing.T) {
	ctx := browsertest.Start(t, 3*time.Minute)
	// A third of shop's rate: the page, not the load, is what is tested,
	// and the browser shares the machine with the run (and the race
	// detector).
	long, rate := 10*time.Minute, topology.Rate{Freq: 50, Per: time.Second}
	rep, _ := runLive(t, ctx, load(t, "shop.yaml"), Options{Duration: &long, Rate: &rate, OutDir: t.TempDir()}, func(addr string) {
		origin := "http://" + addr
		var reqs browsertest.Requests
		browsertest.Open(t, ctx, origin+"/", &reqs)
		browsertest.Wait(t, ctx, "the fault panel", `document.getElementById('fault-kind').options.length > 0`, 30*time.Second)
		browsertest.Wait(t, ctx, "cart -> inventory continuing", browsertest.EdgeIs("cart", "inventory", "continuing", liveGreen), 30*time.Second)
		points := browsertest.Eval[int](t, ctx, sentPoints)

		browsertest.Eval[bool](t, ctx, `(() => {
			const k = document.getElementById('fault-kind'); k.value = 'strip-headers'; k.dispatchEvent(new Event('change'));
			const g = document.getElementById('fault-target'); g.value = 'cart -> inventory'; g.dispatchEvent(new Event('change'));
			return g.value === 'cart -> inventory'; })()`)
		breaking := browsertest.EdgeIs("cart", "inventory", "breaking", liveRed)
		timer := browsertest.StartTimer(t, ctx, "plant", "fault-plant", breaking)
		browsertest.Click(t, ctx, "fault-plant")
		if took := timer.Wait(t, ctx, time.Minute); took > 3*time.Second {
			t.Errorf("cart -> inventory in the breaking colour %s after Plant, want within 3s", took.Round(time.Millisecond))
		} else {
			t.Logf("cart -> inventory in the breaking colour %s after Plant", took.Round(time.Millisecond))
		}
		browsertest.Wait(t, ctx, "the fault in the list", `!!document.getElementById('fault-clear-1')`, 15*time.Second)
		browsertest.Wait(t, ctx, "the fault's window on the charts", `document.querySelectorAll('#series-requests rect.band').length > 0`, 15*time.Second)
		browsertest.Screenshot(t, ctx, "live-breaking.png")
		browsertest.Wait(t, ctx, "every edge labelled", `Array.from(document.querySelectorAll('#topology g.edge-label text')).every(t => t.textContent !== '')`, 15*time.Second)
		if o := browsertest.Eval[string](t, ctx, labelOverlaps); o != "" {
			t.Errorf("edge labels cover each other or a service: %s", o)
		}

		timer = browsertest.StartTimer(t, ctx, "clear", "fault-clear-1", browsertest.EdgeIs("cart", "inventory", "continuing", liveGreen))
		browsertest.Click(t, ctx, "fault-clear-1")
		t.Logf("cart -> inventory back in the continuing colour %s after Clear", timer.Wait(t, ctx, time.Minute).Round(time.Millisecond))
		browsertest.Wait(t, ctx, "the series to grow", fmt.Sprintf("%s >= %d", sentPoints, points+3), 15*time.Second)

		browsertest.Click(t, ctx, "stop-load")
		browsertest.Wait(t, ctx, "the reveal", `!document.getElementById('reveal').hidden`, time.Minute)
		txt := browsertest.Eval[string](t, ctx, `document.getElementById('reveal').textContent`)
		if !strings.Contains(txt, "explained by live fault 1 (strip-headers cart -> inventory") {
			t.Errorf("the reveal does not explain the breaks by the fault:\n%s", txt)
		}
		href := browsertest.Eval[string](t, ctx, `document.getElementById('reveal-report').href`)
		if resp, err := scrapeClient.Get(href); err != nil {
			t.Errorf("the reveal's report link %s: %v", href, err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.HasSuffix(href, "/report.html") {
				t.Errorf("the reveal's report link %s answers %s", href, resp.Status)
			}
		}
		browsertest.Screenshot(t, ctx, "live-reveal.png")
		if sw := browsertest.Eval[int](t, ctx, `document.documentElement.scrollWidth`); sw > browsertest.Width {
			t.Errorf("the page is %d px wide at %d", sw, browsertest.Width)
		}
		reqs.Check(t, origin)
		browsertest.Click(t, ctx, "reveal-close")
	})
	if rep.Interrupted {
		t.Error("the run stopped from its page is marked interrupted")
	}
	checkPropagationExplained(t, rep)
}

// sentPoints is the page expression of how many points the requests
// chart's sent line has.
const sentPoints = `Number(document.querySelector('#series-requests polyline[data-series="sent"]')?.getAttribute('data-points') || 0)`

// checkPropagationExplained requires the report's breaks on cart ->
// inventory to be explained by the live fault.
func checkPropagationExplained(t *testing.T, rep *report.Report) {
	t.Helper()
	for _, v := range rep.Verdicts {
		for _, f := range v.Findings {
			if f.From == "cart" && f.To == "inventory" && f.LiveFault == 1 {
				return
			}
		}
	}
	t.Error("no finding on cart -> inventory explained by live fault 1")
}

// labelOverlaps lists, in the page, the edge labels that cover another
// label or a service, as "label ~ other; ...": "" when none do.
const labelOverlaps = `(() => {
	const name = r => { const g = r.closest('g.edge-label'); return g ? g.dataset.from + ' -> ' + g.dataset.to : 'service ' + r.parentNode.textContent; };
	const labels = [], all = [];
	document.querySelectorAll('#topology rect').forEach(r => {
		const b = r.getBoundingClientRect();
		if (b.width === 0) { return; }
		const box = {name: name(r), b: b};
		all.push(box);
		if (r.closest('g.edge-label')) { labels.push(box); }
	});
	const out = [];
	labels.forEach(l => all.forEach(o => {
		if (o === l || (labels.includes(o) && labels.indexOf(o) < labels.indexOf(l))) { return; }
		const a = l.b, b = o.b;
		if (a.right > b.left + 0.5 && b.right > a.left + 0.5 && a.bottom > b.top + 0.5 && b.bottom > a.top + 0.5) { out.push(l.name + ' ~ ' + o.name); }
	}));
	return out.join('; ');
})()`
