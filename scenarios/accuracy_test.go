package scenarios

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/simulator"
	"github.com/tracerig/tracerig/topology"
)

// knownVerdictBugs turns the failure of a case into a skip, with the reason,
// while the checks are being fixed: keys are case labels, a fault kind alone
// ("crash") or a kind with its variant ("crash (entry)").
// A listed case still counts in the table, its failure logged in full.
var knownVerdictBugs = map[string]string{}

// TestVerdictAccuracy generates topologies from seeds, plants every fault
// kind in each, and requires the checks to be right about what happened:
// every planted fault detected and named on its target, no check failing
// and no finding left unexplained because of a fault whose effect the
// scenario allows, and the clean twin of each topology passing everything.
//
// TRACERIG_ACCURACY_SEEDS=N runs seeds 1 to N (default 1),
// TRACERIG_ACCURACY_SEED=K (or 3-9, or 1,4) those seeds, and
// TRACERIG_ACCURACY_KINDS=a,b only those kinds.
func TestVerdictAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario per fault kind")
	}
	seeds := accuracySeeds(t)
	kinds := accuracyKinds(t)
	tab := newAccuracyTable()
	start := time.Now()
	for _, seed := range seeds {
		g, cases := genCases(seed)
		t.Run(fmt.Sprintf("seed-%d", seed), func(t *testing.T) {
			twinOK := t.Run("clean", func(t *testing.T) { runTwin(t, genTwin(seed, g)) })
			for _, c := range cases {
				if !kinds[c.kind] {
					continue
				}
				t.Run(string(c.kind), func(t *testing.T) {
					out := runCase(t, c)
					if !out.ok() && saturated(out.rep) {
						// The run says the machine did not keep up with
						// its own load: its timing says nothing about the
						// checks. Run the case once more.
						t.Logf("%s: the machine did not keep up with the load; running the case again", c.kind)
						out = runCase(t, c)
					}
					tab.add(c, out, !twinOK)
					reportCase(t, c, out)
				})
			}
		})
	}
	text := tab.String()
	t.Logf("verdict accuracy over %d %s in %s:\n%s", len(seeds), accPlural(len(seeds), "seed"), time.Since(start).Round(time.Second), text)
	if testing.Verbose() {
		fmt.Print(text)
	}
}

// TestAccuracyCasesValidate checks the generator on many seeds without
// running anything: every case parses and validates, every kind finds a
// place, and the clean topology connects every edge by the accuracy model.
func TestAccuracyCasesValidate(t *testing.T) {
	depths := map[int]int{}
	variants := map[string]int{}
	for seed := uint64(1); seed <= 100; seed++ {
		g, cases := genCases(seed)
		depths[g.depth]++
		for _, e := range g.effectiveEdges() {
			if genInjects(e[0].propsOf())&genReads(e[1].propsOf()) == 0 {
				t.Fatalf("seed %d: edge %s shares no trace format", seed, genEdgeName(e[0], e[1]))
			}
		}
		for _, c := range append([]*genCase{genTwin(seed, g)}, cases...) {
			y := c.yaml()
			sc, err := topology.ParseScenario(fmt.Sprintf("accuracy-%d.yaml", seed), []byte(y), nil)
			if err != nil {
				t.Fatalf("seed %d, %s: %v\n%s", seed, c.label(), err, y)
			}
			if len(sc.Faults) != len(c.faults) || len(sc.Expect) != len(c.expects) {
				t.Fatalf("seed %d, %s: parsed %d faults and %d checks, wrote %d and %d\n%s", seed, c.label(),
					len(sc.Faults), len(sc.Expect), len(c.faults), len(c.expects), y)
			}
			variants[c.label()]++
		}
	}
	for d := 2; d <= 4; d++ {
		if depths[d] == 0 {
			t.Errorf("no topology of depth %d in 100 seeds: %v", d, depths)
		}
	}
	t.Logf("depths %v; cases by label: %v", depths, variants)
}

// accuracySeeds returns the seeds to run.
func accuracySeeds(t *testing.T) []uint64 {
	if v := os.Getenv("TRACERIG_ACCURACY_SEED"); v != "" {
		var seeds []uint64
		for part := range strings.SplitSeq(v, ",") {
			lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
			a, err1 := strconv.ParseUint(lo, 10, 64)
			b, err2 := a, error(nil)
			if isRange {
				b, err2 = strconv.ParseUint(hi, 10, 64)
			}
			if err1 != nil || err2 != nil || b < a {
				t.Fatalf("TRACERIG_ACCURACY_SEED=%q: want seeds like 7, 3-9 or 1,4", v)
			}
			for k := a; k <= b; k++ {
				seeds = append(seeds, k)
			}
		}
		return seeds
	}
	n := 1
	if v := os.Getenv("TRACERIG_ACCURACY_SEEDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("TRACERIG_ACCURACY_SEEDS=%q: want a positive number", v)
		}
	}
	seeds := make([]uint64, n)
	for i := range seeds {
		seeds[i] = uint64(i + 1)
	}
	return seeds
}

// accuracyKinds returns the fault kinds to run.
func accuracyKinds(t *testing.T) map[topology.FaultKind]bool {
	out := map[topology.FaultKind]bool{}
	v := os.Getenv("TRACERIG_ACCURACY_KINDS")
	for _, k := range topology.FaultKinds {
		out[k] = v == ""
	}
	for name := range strings.SplitSeq(v, ",") {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		if _, ok := out[topology.FaultKind(name)]; !ok {
			t.Fatalf("TRACERIG_ACCURACY_KINDS: unknown fault kind %q", name)
		}
		out[topology.FaultKind(name)] = true
	}
	return out
}

// A run in which the machine kept the process from running for this long
// (other builds on a shared machine) was not played as its timeline says:
// it is run again, up to accAttempts times in all, and not judged when no
// attempt ran undisturbed.
const (
	accStallLimit = time.Second
	accAttempts   = 3
)

// runScenario parses a generated case through the project's parser and
// runs it; rep is nil when every attempt was disturbed.
func runScenario(t *testing.T, c *genCase) (*topology.Scenario, *report.Report) {
	t.Helper()
	y := c.yaml()
	sc, err := topology.ParseScenario(fmt.Sprintf("accuracy-%d.yaml", c.seed), []byte(y), nil)
	if err != nil {
		t.Fatalf("the generated scenario does not validate: %v\n%s", err, y)
	}
	for attempt := 1; attempt <= accAttempts; attempt++ {
		began := time.Now()
		stalled := watchStalls()
		rep, err := Run(t.Context(), sc, Options{})
		stall := stalled()
		if err != nil {
			t.Fatalf("run: %v\n%s", err, y)
		}
		t.Logf("%s: ran in %s, longest stall %s", c.label(), time.Since(began).Round(10*time.Millisecond), stall.Round(time.Millisecond))
		if stall < accStallLimit {
			return sc, rep
		}
		t.Logf("the machine stalled the run for %s (limit %s): not judged", stall.Round(time.Millisecond), accStallLimit)
	}
	return sc, nil
}

// watchStalls measures, until the returned function is called, the
// longest time a ticking goroutine waited beyond its period: how long the
// machine kept the run from running.
func watchStalls() func() time.Duration {
	const period = 5 * time.Millisecond
	done := make(chan struct{})
	result := make(chan time.Duration)
	go func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		last, worst := time.Now(), time.Duration(0)
		for {
			select {
			case now := <-tick.C:
				worst = max(worst, now.Sub(last)-period)
				last = now
			case <-done:
				result <- worst
				return
			}
		}
	}()
	return func() time.Duration {
		close(done)
		return <-result
	}
}

// runTwin runs a clean twin, which must pass every check.
func runTwin(t *testing.T, c *genCase) {
	_, rep := runScenario(t, c)
	if rep == nil {
		t.Skipf("not judged: the machine stalled all %d runs", accAttempts)
	}
	var bad []string
	for _, v := range rep.Verdicts {
		if !ok(t, v) {
			bad = append(bad, fmt.Sprintf("%s %s: %s %s", v.Check, v.Status, v.Observed, v.Reason))
		}
	}
	if len(bad) > 0 {
		t.Logf("clean twin:\n%s", c.yaml())
		logVerdicts(t, rep)
		for _, b := range bad {
			t.Errorf("the clean twin fails: %s", b)
		}
	}
}

// accuracyOutcome is what the checks said about one planted fault.
type accuracyOutcome struct {
	rep *report.Report
	// missed: a detect verdict that did not pass.
	missed []string
	// misnamed: a fault detected, or a finding explained by it, that does
	// not name the fault's target.
	misnamed []string
	// falseAlarms: a check that failed although the scenario allows the
	// fault's effect, or a finding no fault explains.
	falseAlarms []string
}

func (o *accuracyOutcome) ok() bool {
	return len(o.missed)+len(o.misnamed)+len(o.falseAlarms) == 0
}

// saturated reports whether a run's load verdict says the load did not
// reach its rate: this machine, shared and busy, did not keep up.
func saturated(rep *report.Report) bool {
	if rep == nil {
		return false
	}
	for _, v := range rep.Verdicts {
		if v.Check == string(topology.ExpectLoad) && v.Status != assert.StatusPass && strings.Contains(v.Observed, "rate not reached") {
			return true
		}
	}
	return false
}

// runCase runs a faulted case and judges its verdicts.
func runCase(t *testing.T, c *genCase) *accuracyOutcome {
	sc, rep := runScenario(t, c)
	o := &accuracyOutcome{rep: rep}
	if rep == nil {
		return o
	}
	desc := func(n int) string { return simulator.Describe(sc.Faults[n-1]) }
	for _, v := range rep.Verdicts {
		if v.Check == string(topology.ExpectDetect) {
			n := 0
			fmt.Sscanf(v.Subject, "fault #%d", &n)
			switch {
			case n < 1 || n > len(sc.Faults):
				o.missed = append(o.missed, fmt.Sprintf("detect verdict about %q, not a planted fault", v.Subject))
				continue
			case v.Subject != fmt.Sprintf("fault #%d (%s)", n, desc(n)):
				o.misnamed = append(o.misnamed, fmt.Sprintf("detect names %q, want fault #%d (%s)", v.Subject, n, desc(n)))
			}
			if v.Status != assert.StatusPass {
				o.missed = append(o.missed, fmt.Sprintf("detect %s %s: %s", v.Subject, v.Status, v.Observed+v.Reason))
			}
		} else if !ok(t, v) {
			o.falseAlarms = append(o.falseAlarms, fmt.Sprintf("%s %s: %s%s", v.Check, v.Status, v.Observed, v.Reason))
		}
		for _, f := range v.Findings {
			where := fmt.Sprintf("%s finding %q on %s (%d)", v.Check, f.Message, f.Subject, f.Count)
			if f.Fault == "unexplained" {
				o.falseAlarms = append(o.falseAlarms, "unexplained "+where)
				continue
			}
			n := f.FaultNumber
			if n == 0 {
				if f.Fault != "" {
					o.misnamed = append(o.misnamed, fmt.Sprintf("%s is %s, not a planted fault", where, f.Fault))
				}
				continue
			}
			if n > len(sc.Faults) {
				o.misnamed = append(o.misnamed, fmt.Sprintf("%s is explained by fault #%d of %d", where, n, len(sc.Faults)))
				continue
			}
			if want := fmt.Sprintf("explained by fault #%d (%s, ", n, desc(n)); !strings.HasPrefix(f.Fault, want) {
				o.misnamed = append(o.misnamed, fmt.Sprintf("%s is %s, want a label starting %q", where, f.Fault, want))
			}
			if !c.inScope(n, f) {
				o.misnamed = append(o.misnamed, fmt.Sprintf("%s is %s, but names no service next to its target", where, f.Fault))
			}
		}
	}
	return o
}

// inScope reports whether finding f, explained by fault n, names a service
// the fault can reach; a finding naming no service (the backend, traces)
// is in scope.
func (c *genCase) inScope(n int, f assert.Finding) bool {
	scope := c.scope[n]
	names := slices.DeleteFunc([]string{f.Service, f.From, f.To}, func(s string) bool { return c.topo.service(s) == nil })
	if scope == nil || len(names) == 0 {
		return true
	}
	return slices.ContainsFunc(names, func(s string) bool { return scope[s] })
}

// reportCase fails t for each problem of the outcome, or skips it when the
// case is a known verdict bug, after logging the scenario and the verdicts.
func reportCase(t *testing.T, c *genCase, o *accuracyOutcome) {
	if o.rep == nil {
		t.Skipf("not judged: the machine stalled all %d runs", accAttempts)
	}
	if o.ok() {
		return
	}
	t.Logf("seed %d, %s:\n%s", c.seed, c.label(), c.yaml())
	logVerdicts(t, o.rep)
	var problems []string
	for _, m := range o.missed {
		problems = append(problems, "missed: "+m)
	}
	for _, m := range o.misnamed {
		problems = append(problems, "misnamed: "+m)
	}
	for _, m := range o.falseAlarms {
		problems = append(problems, "false alarm: "+m)
	}
	if why, ok := knownBug(c); ok {
		t.Skipf("known verdict bug (%s): %s", why, strings.Join(problems, "; "))
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// knownBug returns the reason a case's failure is a known verdict bug.
func knownBug(c *genCase) (string, bool) {
	if why, ok := knownVerdictBugs[c.label()]; ok {
		return why, true
	}
	why, ok := knownVerdictBugs[string(c.kind)]
	return why, ok
}

// logVerdicts logs the fault windows and every verdict with its findings.
func logVerdicts(t *testing.T, rep *report.Report) {
	t.Helper()
	for _, w := range rep.Faults {
		t.Logf("fault #%d %s: window %s", w.Number, w.Desc, rep.Window(w))
	}
	for _, v := range rep.Verdicts {
		t.Logf("%s %s %s: %s", v.Check, v.Subject, v.Status, v.Observed+v.Reason)
		for _, f := range v.Findings {
			t.Logf("    %s: %s (%d of %d) %s", f.Subject, f.Message, f.Count, f.Of, f.Fault)
			for _, ex := range f.Examples[:min(len(f.Examples), 2)] {
				t.Logf("        %s", ex)
			}
		}
	}
}

// accuracyRow counts the runs of one fault kind.
type accuracyRow struct {
	runs, detected, missed, falseAlarms, misnamed, twinFailures, known, notJudged int
}

// accuracyTable counts outcomes by fault kind.
type accuracyTable struct {
	mu   sync.Mutex
	rows map[topology.FaultKind]*accuracyRow
}

func newAccuracyTable() *accuracyTable {
	return &accuracyTable{rows: map[topology.FaultKind]*accuracyRow{}}
}

func (tb *accuracyTable) add(c *genCase, o *accuracyOutcome, twinFailed bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	r := tb.rows[c.kind]
	if r == nil {
		r = &accuracyRow{}
		tb.rows[c.kind] = r
	}
	if o.rep == nil {
		r.notJudged++
		return
	}
	r.runs++
	if len(o.missed)+len(o.misnamed) == 0 {
		r.detected++
	}
	if len(o.missed) > 0 {
		r.missed++
	}
	if len(o.misnamed) > 0 {
		r.misnamed++
	}
	if len(o.falseAlarms) > 0 {
		r.falseAlarms++
	}
	if twinFailed {
		r.twinFailures++
	}
	if _, ok := knownBug(c); ok && !o.ok() {
		r.known++
	}
}

// String renders the table in Markdown, one row per kind and a total.
func (tb *accuracyTable) String() string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	b.WriteString("| kind | runs | detected | missed | false alarms | misnamed | twin failures |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	var total accuracyRow
	known := 0
	for _, k := range topology.FaultKinds {
		r := tb.rows[k]
		if r == nil {
			continue
		}
		name := "`" + string(k) + "`"
		if r.known > 0 {
			name += fmt.Sprintf(" (%d known)", r.known)
			known += r.known
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d |\n", name, r.runs, r.detected, r.missed, r.falseAlarms, r.misnamed, r.twinFailures)
		total.runs += r.runs
		total.detected += r.detected
		total.missed += r.missed
		total.falseAlarms += r.falseAlarms
		total.misnamed += r.misnamed
		total.twinFailures += r.twinFailures
		total.notJudged += r.notJudged
	}
	fmt.Fprintf(&b, "| total | %d | %d | %d | %d | %d | %d |\n", total.runs, total.detected, total.missed, total.falseAlarms, total.misnamed, total.twinFailures)
	if total.notJudged > 0 {
		fmt.Fprintf(&b, "(%d %s not judged: the machine stalled every attempt for %s or more)\n", total.notJudged, accPlural(total.notJudged, "case"), accStallLimit)
	}
	if known > 0 {
		fmt.Fprintf(&b, "(%d failing %s listed in knownVerdictBugs)\n", known, accPlural(known, "run"))
	}
	return b.String()
}

// accPlural returns "n noun" or "n nouns" without the number.
func accPlural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
