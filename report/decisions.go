package report

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/tracerig/tracerig/internal/record"
)

// decisionsHeader names the columns of decisions.tsv.
const decisionsHeader = "request\thop\tparent\tfrom\tto\tinstance\troute\tattempt\treceived\tcallee_error\ttrace\tsampled\n"

// WriteDecisions writes the run's decision log to path: one line per hop of
// the evidence, ordered by request and hop ID, with what the seed decided
// (which instance, which attempt, whether the callee failed, which trace it
// joined). Two runs with the same seed and topology write the same lines,
// except for requests a fault window's edge cut differently.
func (r *Report) WriteDecisions(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write decision log: %w", err)
	}
	w := bufio.NewWriter(f)
	err = encodeDecisions(w, r.evidence().Input.Hops)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write decision log: %w", err)
	}
	return nil
}

func encodeDecisions(w io.Writer, hops []record.Hop) error {
	sorted := slices.Clone(hops)
	slices.SortFunc(sorted, compareHops)
	if _, err := io.WriteString(w, decisionsHeader); err != nil {
		return err
	}
	var line []byte
	for i := range sorted {
		line = appendDecision(line[:0], &sorted[i])
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// compareHops orders hops as the decision log does: by request, then hop ID.
func compareHops(a, b record.Hop) int {
	return cmp.Or(cmp.Compare(a.Request, b.Request), cmp.Compare(a.ID, b.ID))
}

// appendDecision appends h's line of the decision log to b.
func appendDecision(b []byte, h *record.Hop) []byte {
	from := h.From
	if from == "" {
		from = "load"
	}
	return fmt.Appendf(b, "%d\t%016x\t%016x\t%s\t%s\t%d\t%s\t%d\t%t\t%t\t%s\t%t\n",
		h.Request, h.ID, h.Parent, from, h.To, h.ToInstance, h.Route, h.Attempt,
		h.Received, h.CalleeError, h.Server.Trace, h.Server.Sampled)
}
