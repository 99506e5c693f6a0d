package recorded

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tracerig/tracerig/topology/infer"
)

// Fidelity is how well a run of an inferred scenario reproduced the spans
// it was inferred from, route by route: each side is what infer derived
// from its spans, the source's at index 0 and the run's at index 1.
type Fidelity struct {
	Routes  []RouteFidelity
	Entries []EntryFidelity
	// Extra names routes the run served that the source did not.
	Extra []string
}

// RouteFidelity compares one route of the source with the run's.
type RouteFidelity struct {
	Service, Route string
	// Missing is set when the run served no request of the route.
	Missing bool
	// Tree is each side's call tree as written ("auth GET /verify; {a, b}"),
	// equal when the trees are.
	Tree [2]string
	// P50 and P99 are the route's own latency (its span minus its calls).
	P50, P99 [2]time.Duration
	// ErrorRate is the share of requests that failed on their own, over
	// Clean requests (those whose calls all succeeded).
	ErrorRate [2]float64
	Clean     [2]int64
}

// EntryFidelity compares the traces rooted at one entry route.
type EntryFidelity struct {
	Service, Route string
	SpansPerTrace  [2]float64
}

// TreeEqual reports whether the run's call tree is the source's.
func (r RouteFidelity) TreeEqual() bool { return !r.Missing && r.Tree[0] == r.Tree[1] }

// LatencyGap is the larger relative gap of p50 and p99 between the sides.
func (r RouteFidelity) LatencyGap() float64 {
	return max(relGap(r.P50[0], r.P50[1]), relGap(r.P99[0], r.P99[1]))
}

func relGap(a, b time.Duration) float64 {
	if a == b {
		return 0
	}
	return math.Abs(float64(b-a)) / math.Max(float64(a), float64(time.Microsecond))
}

// ErrorsAgree reports whether the two error rates could be one rate: a
// two-proportion z-test at 99.9% (|z| <= 3.29), with a rate of zero on
// both sides agreeing.
func (r RouteFidelity) ErrorsAgree() bool {
	k0, k1 := r.ErrorRate[0]*float64(r.Clean[0]), r.ErrorRate[1]*float64(r.Clean[1])
	n0, n1 := float64(r.Clean[0]), float64(r.Clean[1])
	if n0 == 0 || n1 == 0 {
		return n0 == n1
	}
	p := (k0 + k1) / (n0 + n1)
	if p == 0 || p == 1 {
		return true
	}
	se := math.Sqrt(p * (1 - p) * (1/n0 + 1/n1))
	return math.Abs(r.ErrorRate[0]-r.ErrorRate[1]) <= 3.29*se
}

// Compare matches the run's model against the source's, route by route.
func Compare(src, run *infer.Model) *Fidelity {
	f := &Fidelity{}
	runRoutes := map[string]*infer.Route{}
	for _, s := range run.Services {
		for _, r := range s.Routes {
			runRoutes[s.Name+" "+r.Name] = r
		}
	}
	seen := map[string]bool{}
	for _, s := range src.Services {
		for _, r := range s.Routes {
			key := s.Name + " " + r.Name
			seen[key] = true
			rf := RouteFidelity{Service: s.Name, Route: r.Name, Tree: [2]string{Tree(r), ""},
				P50: [2]time.Duration{r.Own.P50}, P99: [2]time.Duration{r.Own.P99},
				ErrorRate: [2]float64{r.ErrorRate}, Clean: [2]int64{r.Clean}}
			if o := runRoutes[key]; o == nil {
				rf.Missing = true
			} else {
				rf.Tree[1], rf.P50[1], rf.P99[1] = Tree(o), o.Own.P50, o.Own.P99
				rf.ErrorRate[1], rf.Clean[1] = o.ErrorRate, o.Clean
			}
			f.Routes = append(f.Routes, rf)
		}
	}
	for key := range runRoutes {
		if !seen[key] {
			f.Extra = append(f.Extra, key)
		}
	}
	slices.Sort(f.Extra)
	runEntries := map[string]infer.Entry{}
	for _, e := range run.Entries {
		runEntries[e.Service+" "+e.Route] = e
	}
	for _, e := range src.Entries {
		ef := EntryFidelity{Service: e.Service, Route: e.Route, SpansPerTrace: [2]float64{e.SpansPerTrace}}
		if o, ok := runEntries[e.Service+" "+e.Route]; ok {
			ef.SpansPerTrace[1] = o.SpansPerTrace
		}
		f.Entries = append(f.Entries, ef)
	}
	return f
}

// Tree writes the shape of a route's written call tree on one line: steps
// in order separated by "; ", a parallel group in braces, each call as
// "service route" (a publish as "publish topic"), with "×N" for repeated
// calls; a consume route's tree begins with its topic and mode. Retries
// are left out: they
// show only where an attempt failed, which a sample may not hold.
func Tree(r *infer.Route) string {
	var steps []string
	for _, group := range r.Steps {
		calls := make([]string, 0, len(group))
		for _, c := range group {
			s := c.Service + " " + c.Route
			if c.Topic != "" {
				s = "publish " + c.Topic
			}
			if c.Times > 1 {
				s += fmt.Sprintf(" ×%d", c.Times)
			}
			calls = append(calls, s)
		}
		if len(calls) > 1 {
			slices.Sort(calls)
			steps = append(steps, "{"+strings.Join(calls, ", ")+"}")
		} else {
			steps = append(steps, calls...)
		}
	}
	if c := r.Consume; c != nil {
		// A batch's size is a maximum, which a sample reaches or not:
		// the shape says whether the route takes batches.
		batch := ""
		if c.Batch > 1 {
			batch = ", batches"
		}
		steps = append([]string{fmt.Sprintf("consume %s (%s%s)", c.Topic, c.Mode, batch)}, steps...)
	}
	if len(steps) == 0 {
		return "(no calls)"
	}
	return strings.Join(steps, "; ")
}

// Write prints the comparison as two tables: per route the tree, own
// latency and error rate of source and run; per entry route the spans
// per trace.
func (f *Fidelity) Write(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUTE\tCALL TREE\tP50 SOURCE/RUN\tP99 SOURCE/RUN\tERRORS SOURCE/RUN")
	for _, r := range f.Routes {
		if r.Missing {
			fmt.Fprintf(tw, "%s %s\tnot served in the run\t%s/-\t%s/-\t%.2f%%/-\n", r.Service, r.Route, r.P50[0], r.P99[0], 100*r.ErrorRate[0])
			continue
		}
		tree := "equal"
		if !r.TreeEqual() {
			tree = fmt.Sprintf("differs: %s | run: %s", r.Tree[0], r.Tree[1])
		}
		agree := ""
		if !r.ErrorsAgree() {
			agree = " (differ)"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s/%s\t%s/%s (%+.0f%%)\t%.2f%%/%.2f%%%s\n", r.Service, r.Route, tree,
			r.P50[0], r.P50[1], r.P99[0], r.P99[1], 100*signedGap(r.P99[0], r.P99[1]),
			100*r.ErrorRate[0], 100*r.ErrorRate[1], agree)
	}
	for _, e := range f.Extra {
		fmt.Fprintf(tw, "%s\tserved in the run only\t\t\t\n", e)
	}
	fmt.Fprintln(tw, "\nENTRY ROUTE\tSPANS PER TRACE SOURCE/RUN")
	for _, e := range f.Entries {
		fmt.Fprintf(tw, "%s %s\t%.2f/%.2f\n", e.Service, e.Route, e.SpansPerTrace[0], e.SpansPerTrace[1])
	}
	return tw.Flush()
}

func signedGap(a, b time.Duration) float64 {
	if a == 0 {
		return 0
	}
	return float64(b-a) / float64(a)
}
