package assert

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/tracerig/tracerig/internal/record"
)

// reasonUnknown stands for the reason of a failed export the ledger did not
// record.
const reasonUnknown = "reason not recorded"

// countFailed counts a span lost on export under its reason and service.
func (t *compTally) countFailed(e *record.Ended) {
	reason := e.ExportReason
	if reason == "" {
		reason = reasonUnknown
	}
	at := t.failed[reason]
	if at == nil {
		at = make(map[string]int)
		t.failed[reason] = at
	}
	at[e.Service]++
}

// failedSummary says why exports failed, reason by reason from the most
// spans, with where: " (grpc Unauthenticated: 100 at checkout, connection
// refused: 30 (20 at cart, 10 at web))"; "" when none failed or no
// reason was recorded (a ledger from before reasons were). A reason names
// its first three services.
func (t *compTally) failedSummary() string {
	if _, unknown := t.failed[reasonUnknown]; unknown && len(t.failed) == 1 {
		return ""
	}
	type count struct {
		name  string
		spans int
	}
	byCount := func(a, b count) int { return cmp.Or(b.spans-a.spans, cmp.Compare(a.name, b.name)) }
	var reasons []count
	for r, at := range t.failed {
		n := 0
		for _, k := range at {
			n += k
		}
		reasons = append(reasons, count{r, n})
	}
	slices.SortFunc(reasons, byCount)
	parts := make([]string, 0, len(reasons))
	for _, r := range reasons {
		var at []count
		for svc, n := range t.failed[r.name] {
			at = append(at, count{svc, n})
		}
		slices.SortFunc(at, byCount)
		if len(at) == 1 {
			parts = append(parts, fmt.Sprintf("%s: %d at %s", r.name, r.spans, at[0].name))
			continue
		}
		where := make([]string, 0, 4)
		for i, a := range at {
			if i == 3 {
				n := len(at) - i
				where = append(where, fmt.Sprintf("%d more %s", n, plural(n, "service", "services")))
				break
			}
			where = append(where, fmt.Sprintf("%d at %s", a.spans, a.name))
		}
		parts = append(parts, fmt.Sprintf("%s: %d (%s)", r.name, r.spans, strings.Join(where, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
