package scenarios

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/internal/buildinfo"
	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/topology"
)

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func load(t *testing.T, path string) *topology.Scenario {
	t.Helper()
	sc, err := topology.LoadScenario(path)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runFor(t *testing.T, ctx context.Context, sc *topology.Scenario, d time.Duration) *report.Report {
	t.Helper()
	rep, err := Run(ctx, sc, Options{Duration: &d, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// ok reports whether v passed, a warning counting as a pass: on a busy
// machine a load may fall short of its rate, which the load verdict says
// as a warning without failing the run. A warning is logged.
func ok(t *testing.T, v assert.Verdict) bool {
	t.Helper()
	if v.Status == assert.StatusWarn {
		t.Logf("warning: %s: %s", v.Check, v.Observed)
		return true
	}
	return v.Status == assert.StatusPass
}

// passAll logs every verdict of rep and fails t for each that did not
// pass (a warning counts as a pass), with its findings.
func passAll(t *testing.T, rep *report.Report) {
	t.Helper()
	for _, v := range rep.Verdicts {
		t.Logf("%s %s: %s", v.Check, v.Status, v.Observed)
		if ok(t, v) {
			continue
		}
		t.Errorf("%s %s: %s %s", v.Check, v.Status, v.Observed, v.Reason)
		for _, f := range v.Findings {
			t.Logf("    %s: %s (%d of %d) %s", f.Subject, f.Message, f.Count, f.Of, f.Fault)
		}
	}
}

func verdict(t *testing.T, rep *report.Report, check string) assert.Verdict {
	t.Helper()
	for _, v := range rep.Verdicts {
		if v.Check == check {
			return v
		}
	}
	t.Fatalf("no %s verdict in %+v", check, rep.Verdicts)
	return assert.Verdict{}
}

func TestLibraryValidates(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) < 3 {
		t.Fatalf("found %d scenario files, want the library", len(files))
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			sc := load(t, f)
			if sc.Description == "" {
				t.Error("a library scenario needs a description")
			}
		})
	}
}

// TestShopEndToEnd runs the 12-service shop in-process against the embedded
// backend and compares what arrived with the ledger, span by span, and with
// the hops the ledger recorded, service by service.
func TestShopEndToEnd(t *testing.T) {
	sc := load(t, "shop.yaml")
	if n := len(sc.Topology.Services); n < 10 {
		t.Fatalf("shop has %d services, want 10 or more", n)
	}
	d := 2 * time.Second
	rep, err := Run(t.Context(), sc, Options{Duration: &d, KeepRecords: true})
	if err != nil {
		t.Fatal(err)
	}
	passAll(t, rep)
	in := rep.Evidence.Input
	if len(in.Ended) == 0 || len(in.Backend) != len(in.Ended) {
		t.Fatalf("backend holds %d spans, ledger saw %d end", len(in.Backend), len(in.Ended))
	}
	type key struct {
		trace record.TraceID
		id    record.SpanID
	}
	ended := make(map[key]record.Ended, len(in.Ended))
	for _, e := range in.Ended {
		ended[key{e.Trace, e.ID}] = e
	}
	for _, s := range in.Backend {
		e, ok := ended[key{s.Trace, s.ID}]
		if !ok {
			t.Fatalf("backend span %s/%s (%s %s) is not in the ledger", s.Trace, s.ID, s.Service, s.Name)
		}
		if e.Parent != s.Parent || e.Service != s.Service || e.Name != s.Name || e.Kind != s.Kind || e.Start != s.Start || e.End != s.End {
			t.Fatalf("backend span %+v differs from the ledger's %+v", s, e.Span)
		}
		delete(ended, key{s.Trace, s.ID})
	}
	if len(ended) != 0 {
		t.Fatalf("%d ended spans never arrived", len(ended))
	}

	// Independently of the checks: every sampled hop between instrumented
	// services is one client span of the caller and one server span of the
	// callee, every sampled load request one server span at the front door.
	want := map[string]int{}
	for _, h := range in.Hops {
		if h.ClientSpan && h.Sent.Sampled {
			want[h.From+" client"]++
		}
		if h.ServerSpan && h.Server.Sampled {
			want[h.To+" server"]++
		}
	}
	got := map[string]int{}
	for _, s := range in.Backend {
		got[s.Service+" "+s.Kind.String()]++
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s spans: backend has %d, ledger hops say %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("backend span kinds %v, ledger predicts %v", got, want)
	}
	retries := 0
	for _, h := range in.Hops {
		if h.Attempt > 0 {
			retries++
		}
	}
	if retries == 0 {
		t.Error("the flaky fraud service caused no retry")
	}
	sampled := float64(want["frontend server"]) / float64(rep.Load[0].Requests)
	if sampled < 0.4 || sampled > 0.6 {
		t.Errorf("front door sampled %.2f of requests, configured 0.5", sampled)
	}
}

// TestBrokenProxyFailsOnOneEdge: the uninstrumented proxy that drops
// headers breaks exactly the edge behind it, and nothing else is blamed.
func TestBrokenProxyFailsOnOneEdge(t *testing.T) {
	rep := runFor(t, t.Context(), load(t, "broken-proxy.yaml"), time.Second)
	if rep.Passed {
		t.Fatal("broken-proxy passed")
	}
	v := verdict(t, rep, "propagation")
	if v.Status != assert.StatusFail {
		t.Fatalf("propagation %s, want fail", v.Status)
	}
	if len(v.Findings) != 1 || v.Findings[0].Subject != "legacy-proxy -> inventory" {
		t.Fatalf("findings %+v, want exactly one on legacy-proxy -> inventory", v.Findings)
	}
	f := v.Findings[0]
	if f.Count == 0 || f.Count != f.Of {
		t.Errorf("broken %d of %d hops, want all of them", f.Count, f.Of)
	}
	if c := verdict(t, rep, "completeness"); c.Status != assert.StatusPass {
		t.Errorf("completeness %s: %s", c.Status, c.Observed)
	}
}

// TestQuickstartWritesReport runs quickstart as a command line in a log
// would: its report.json and junit.xml record the tracerig version and the
// command line without its secret, and its progress is plain lines.
func TestQuickstartWritesReport(t *testing.T) {
	out := t.TempDir()
	d := time.Second
	var progress strings.Builder
	args := []string{"tracerig", "run", "quickstart", "--duration", "1s", "--api-key", "quickstart-secret"}
	rep, err := Run(t.Context(), load(t, "quickstart.yaml"), Options{Duration: &d, OutDir: out,
		Progress: &progress, ProgressPlain: true, CommandLine: args})
	if err != nil {
		t.Fatal(err)
	}
	if p := progress.String(); strings.Contains(p, "\r") || !strings.HasPrefix(p, "load") || !strings.HasSuffix(p, "\n") {
		t.Errorf("plain progress: %q", p)
	}
	if !rep.Passed {
		t.Fatalf("quickstart failed: %+v", rep.Verdicts)
	}
	var got report.Report
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != report.SchemaVersion || !got.Passed || len(got.Verdicts) != 3 || got.Verdicts[2].Check != "load" || got.Ledger.SpansEnded == 0 {
		t.Errorf("report.json: %s", b)
	}
	if runtime.GOOS == "linux" {
		// The run lasts over a second: its first and last samples at least.
		if m := got.Memory; m == nil || len(m.Samples) < 2 || m.PeakRSS <= 0 || m.Samples[len(m.Samples)-1].At < d {
			t.Errorf("report.json memory: %+v", got.Memory)
		}
	}
	masked := []string{"tracerig", "run", "quickstart", "--duration", "1s", "--api-key", "***"}
	if got.TracerigVersion != buildinfo.Version() || !slices.Equal(got.CommandLine, masked) {
		t.Errorf("report.json records tracerig %q, command line %q; want %q, %q", got.TracerigVersion, got.CommandLine, buildinfo.Version(), masked)
	}
	junit := string(readFileT(t, filepath.Join(out, "junit.xml")))
	for _, want := range []string{`<property name="tracerig_version" value="` + buildinfo.Version() + `">`,
		`<property name="command_line" value="tracerig run quickstart --duration 1s --api-key &#39;***&#39;">`} {
		if !strings.Contains(junit, want) {
			t.Errorf("junit.xml lacks %s", want)
		}
	}
	for _, f := range []string{"report.json", "junit.xml", "report.html"} {
		if strings.Contains(string(readFileT(t, filepath.Join(out, f))), "quickstart-secret") {
			t.Errorf("%s holds the command line's secret", f)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "results.bin")); err != nil || fi.Size() == 0 {
		t.Errorf("vegeta results missing: %v", err)
	}
	// report.json's latencies are report.LatencyPercentile over every
	// result in results.bin.
	f, err := os.Open(filepath.Join(out, "results.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var samples []report.LoadSample
	if err := decodeResults(f, func(s report.LoadSample) { samples = append(samples, s) }); err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	for _, s := range samples {
		lat = append(lat, s.Latency)
	}
	slices.Sort(lat)
	p50, p99, most := report.LatencyPercentile(lat, 0.5), report.LatencyPercentile(lat, 0.99), report.LatencyPercentile(lat, 1)
	if l := got.Load[0]; uint64(len(lat)) != l.Requests || l.LatencyP50 != p50 || l.LatencyP99 != p99 || l.LatencyMax != most {
		t.Errorf("report.json: %d requests, p50 %s p99 %s max %s; results.bin: %d results, p50 %s p99 %s max %s",
			l.Requests, l.LatencyP50, l.LatencyP99, l.LatencyMax, len(lat), p50, p99, most)
	}
}

func TestInterruptedRunStillReports(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	rep := runFor(t, ctx, load(t, "quickstart.yaml"), time.Minute)
	if time.Since(start) > 15*time.Second {
		t.Errorf("an interrupted run took %s to stop", time.Since(start))
	}
	if !rep.Interrupted || rep.Passed {
		t.Errorf("interrupted %v passed %v, want an interrupted, not passed report", rep.Interrupted, rep.Passed)
	}
	if rep.Ledger.SpansEnded == 0 || rep.BackendSpans != rep.Ledger.SpansEnded {
		t.Errorf("an interrupted run flushed %d of %d spans", rep.BackendSpans, rep.Ledger.SpansEnded)
	}
}

func TestUnreachableBackendFailsBeforeLoad(t *testing.T) {
	_, err := Run(t.Context(), load(t, "quickstart.yaml"), Options{OTLPEndpoint: "127.0.0.1:1"})
	var rerr *RuntimeError
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v, want a runtime error", err)
	}
	if want := "127.0.0.1:1"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the endpoint", err)
	}
}

// TestRunSaysRateNotReached asks quickstart for far more than two cores can
// serve through real hops: the load verdict must say so, as a warning, or
// as a failure when the scenario expects load.
func TestRunSaysRateNotReached(t *testing.T) {
	for _, required := range []bool{false, true} {
		sc, err := Open("quickstart")
		if err != nil {
			t.Fatal(err)
		}
		want := assert.StatusWarn
		if required {
			sc.Expect = append(sc.Expect, topology.Expect{Kind: topology.ExpectLoad, Load: topology.LoadExpect{Min: topology.DefaultLoadMin}})
			want = assert.StatusFail
		}
		d := time.Second
		r := topology.Rate{Freq: 200000, Per: time.Second}
		rep, err := Run(t.Context(), sc, Options{Duration: &d, Rate: &r})
		if err != nil {
			t.Fatal(err)
		}
		v := verdict(t, rep, "load")
		t.Logf("%s: %s", v.Status, v.Observed)
		// (The overload fails other checks too: only an expected load
		// must fail the run by itself.)
		if v.Status != want || !strings.Contains(v.Observed, "rate not reached") || required && rep.Passed {
			t.Errorf("expect load %v: load verdict %s %q, run passed %v: want %s", required, v.Status, v.Observed, rep.Passed, want)
		}
	}
}
