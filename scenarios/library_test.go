package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/topology"
)

// libraryScale plays every library scenario at a fifth of its length: the
// same story, in a few seconds.
const libraryScale = 0.2

func TestLibraryRuns(t *testing.T) {
	entries, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			sc, err := Open(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{TimeScale: libraryScale, OutDir: t.TempDir()}
			if e.Name == "soak" {
				// An hour at any scale is too long here: a few seconds of it.
				d := 5 * time.Second
				opts = Options{Duration: &d, OutDir: t.TempDir()}
			}
			// Each with its live page, as a trainer runs it.
			rep, seen := watchLive(t, t.Context(), sc, opts)
			checkWatched(t, rep, seen)
			wantFail := e.Name == "broken-proxy"
			if rep.Passed == wantFail {
				for _, v := range rep.Verdicts {
					t.Logf("%s %s: %s | %s", v.Check, v.Status, v.Observed, v.Reason)
					for _, f := range v.Findings {
						t.Logf("    %s: %s (%d of %d) %s", f.Subject, f.Message, f.Count, f.Of, f.Fault)
					}
				}
				t.Errorf("passed = %v, want %v", rep.Passed, !wantFail)
			}
			for _, v := range rep.Verdicts {
				if v.Status == assert.StatusNotRun {
					t.Errorf("%s did not run: %s", v.Check, v.Reason)
				}
			}
		})
	}
}

func TestLibraryListsEveryStory(t *testing.T) {
	entries, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name] = true
		if e.Summary == "" || strings.Contains(e.Summary, "\n") {
			t.Errorf("%s: summary %q", e.Name, e.Summary)
		}
	}
	for _, want := range []string{"quickstart", "shop", "broken-proxy", "payment-brownout", "retry-storm",
		"header-stripping-proxy", "propagator-migration", "skewed-clock", "exporter-outage", "partition", "crash-restart", "soak",
		"order-events", "lost-context-queue"} {
		if !names[want] {
			t.Errorf("library lacks %s", want)
		}
	}
}

// checkWatched requires the live page of a library run to have shown its
// load (a frame a second, and one as it ended), every fault window the report has, every edge the
// propagation check found breaks on in the breaking colour at some time,
// and the report's verdict in its reveal.
func checkWatched(t *testing.T, rep *report.Report, seen watched) {
	t.Helper()
	if seen.frames < 1 {
		t.Errorf("the live page showed %d frames of the load", seen.frames)
	}
	for _, f := range rep.Faults {
		if !seen.faults[f.Desc] {
			t.Errorf("the live page never showed fault window %q; it showed %v", f.Desc, seen.faults)
		}
	}
	for _, v := range rep.Verdicts {
		if v.Check != string(topology.ExpectPropagation) {
			continue
		}
		for _, f := range v.Findings {
			if f.From == "" || f.To == "" || f.Count == 0 {
				continue
			}
			broke := false
			for k, states := range seen.states {
				if strings.HasPrefix(k, f.From+" -> "+f.To) && states["breaking"] {
					broke = true
				}
			}
			if !broke {
				t.Errorf("%d breaks on %s -> %s, never breaking on the live page: %v", f.Count, f.From, f.To, seen.states)
			}
		}
	}
	if seen.reveal == nil || seen.reveal.Passed != rep.Passed {
		t.Errorf("the reveal %+v does not give the report's verdict (passed %v)", seen.reveal, rep.Passed)
	}
}
