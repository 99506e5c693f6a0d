package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
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
			rep, err := Run(t.Context(), sc, opts)
			if err != nil {
				t.Fatal(err)
			}
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
