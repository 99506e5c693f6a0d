package scenarios

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSameSeedSameDecisions runs a story with faults twice with one seed and
// compares the decision logs: every request's hops, instance picks, retries,
// failures and trace IDs. Requests in flight when a fault window opened or
// closed, and requests a caller's timeout cut short, are left out: those
// are timing, not decisions.
func TestSameSeedSameDecisions(t *testing.T) {
	sc := load(t, "testdata/determinism.yaml")
	run := func(seed uint64) map[string][]string {
		out := t.TempDir()
		// The records say which requests were near a window's edge.
		rep, err := Run(t.Context(), sc, Options{OutDir: out, Seed: &seed, KeepRecords: true})
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, "decisions.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		// A request is near an edge when any of its hops was sent within
		// 250ms of a window opening or closing.
		var edges []int64
		for _, f := range rep.Faults {
			edges = append(edges, f.Start, f.End)
		}
		near := map[uint64]bool{}
		for _, h := range rep.Evidence.Input.Hops {
			for _, e := range edges {
				if d := h.SentAt - e; d > -int64(250*time.Millisecond) && d < int64(250*time.Millisecond) {
					near[h.Request] = true
				}
			}
		}
		// A retry after an attempt whose callee did not fail was caused by
		// the caller's timeout: wall-clock time, not a seeded decision (a
		// loaded machine makes it). Such requests are left out too.
		type call struct {
			parent uint64
			to     string
			route  string
		}
		failed := map[call][]bool{}
		for _, h := range rep.Evidence.Input.Hops {
			c := call{h.Parent, h.To, h.Route}
			for len(failed[c]) <= int(h.Attempt) {
				failed[c] = append(failed[c], false)
			}
			failed[c][h.Attempt] = h.CalleeError
		}
		for _, h := range rep.Evidence.Input.Hops {
			if h.Attempt > 0 && !failed[call{h.Parent, h.To, h.Route}][h.Attempt-1] {
				near[h.Request] = true
			}
		}
		byRequest := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
			req, _, _ := strings.Cut(line, "\t")
			n, _ := strconv.ParseUint(req, 10, 64)
			if !near[n] {
				byRequest[req] = append(byRequest[req], line)
			}
		}
		return byRequest
	}
	a, b, other := run(7), run(7), run(8)
	compared, differ := 0, 0
	for req, lines := range a {
		if blines, ok := b[req]; ok {
			compared++
			if !slices.Equal(lines, blines) {
				differ++
				if differ <= 3 {
					t.Errorf("request %s decided differently:\n%s\n---\n%s", req, strings.Join(lines, "\n"), strings.Join(blines, "\n"))
				}
			}
		}
	}
	t.Logf("compared %d requests, %d decided differently", compared, differ)
	if compared < 100 {
		t.Fatalf("compared only %d requests", compared)
	}
	same := 0
	for req, lines := range a {
		if slices.Equal(lines, other[req]) {
			same++
		}
	}
	if same > compared/10 {
		t.Errorf("seeds 7 and 8 decided %d of %d requests alike", same, compared)
	}
}
