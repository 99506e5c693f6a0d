package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/assert"
	"github.com/tracerig/tracerig/report"
)

var (
	blastSentRE      = regexp.MustCompile(`(?m)^  sent +(\d+) spans in (\d+) traces`)
	blastDeliveredRE = regexp.MustCompile(`(?m)^  delivered +(\d+) spans = (\d+) spans/s$`)
)

// readBlastReport decodes DIR/blast.json.
func readBlastReport(t *testing.T, dir string) *report.Blast {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "blast.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Blast
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("decode blast.json: %v\n%s", err, data)
	}
	return &rep
}

// checkSeries checks that the series of a report covers the run a point
// per second and adds up to its totals.
func checkSeries(t *testing.T, rep *report.Blast) {
	t.Helper()
	if len(rep.Series) == 0 {
		t.Fatal("blast.json has no series")
	}
	var built, delivered int64
	for i, p := range rep.Series {
		if i < len(rep.Series)-1 && (p.Interval < 900*time.Millisecond || p.Interval > 1100*time.Millisecond) {
			t.Errorf("point %d covers %v, want a second", i, p.Interval)
		}
		if p.RequestedRate != rep.Settings.Rate || p.QueueCap != rep.Settings.Queue {
			t.Errorf("point %d: %+v, settings %+v", i, p, rep.Settings)
		}
		built += p.Built
		delivered += p.Delivered
	}
	if last := rep.Series[len(rep.Series)-1]; last.T != rep.Totals.Elapsed || built != rep.Totals.Sent || delivered != rep.Totals.Delivered {
		t.Fatalf("series ends at %v and adds up to %d built, %d delivered; totals %+v", last.T, built, delivered, rep.Totals)
	}
}

// TestBlastEmbedded blasts the shop into the embedded backend over each
// protocol: every span sent is delivered, the backend holds exactly those,
// the sampled traces are complete, and blast.json says so second by second.
func TestBlastEmbedded(t *testing.T) {
	for _, protocol := range []string{"grpc", "http"} {
		t.Run(protocol, func(t *testing.T) {
			dir := t.TempDir()
			r := runCLI(t, "blast", "--protocol", protocol, "--duration", "1500ms", "--workers", "2", "--conns", "1", "--batch", "512",
				"--out", dir, "shop")
			r.wantCode(t, exitOK)
			out := r.stdout
			sent, delivered := blastSentRE.FindStringSubmatch(out), blastDeliveredRE.FindStringSubmatch(out)
			if sent == nil || delivered == nil {
				t.Fatalf("no sent/delivered lines:\n%s", out)
			}
			if n, _ := strconv.Atoi(sent[1]); n == 0 || sent[1] != delivered[1] {
				t.Fatalf("sent %s, delivered %s:\n%s", sent[1], delivered[1], out)
			}
			if !strings.Contains(out, "read-back  OK: backend holds "+sent[1]+" spans in "+sent[2]+" traces") {
				t.Fatalf("read-back does not confirm %s spans in %s traces:\n%s", sent[1], sent[2], out)
			}
			wantSink := map[string]string{"grpc": "over OTLP/gRPC 127.0.0.1:", "http": "over OTLP/HTTP http://127.0.0.1:"}[protocol]
			for _, want := range []string{wantSink, "undelivered 0 spans", "CPU-s per 1M spans", "peak RSS",
				"\n  queue      ", "\n  verdict    delivered every span\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "rate reached") || strings.Contains(out, "rate not reached") {
				t.Errorf("a rate verdict without --rate:\n%s", out)
			}
			rep := readBlastReport(t, dir)
			if rep.Version != report.BlastVersion || rep.Command != "blast" || rep.Scenario != "shop" || rep.Settings.Protocol != protocol ||
				!rep.Passed || rep.Interrupted || rep.Totals.Sent != rep.Totals.Delivered || strconv.FormatInt(rep.Totals.Sent, 10) != sent[1] {
				t.Fatalf("blast.json: %+v", rep)
			}
			if len(rep.Series) < 2 {
				t.Fatalf("%d points in 1.5s", len(rep.Series))
			}
			checkSeries(t, rep)
			if len(rep.Verdicts) != 2 || rep.Verdicts[0].Check != "delivery" || rep.Verdicts[1].Check != "read-back" {
				t.Fatalf("verdicts %+v", rep.Verdicts)
			}
		})
	}
}

// TestBlastRate: a rate the sink takes is reached; one that cannot be, for
// a generator with one worker or a sink that answers slowly, is reported
// as not reached, with what limited it, and exits 1.
func TestBlastRate(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		time.Sleep(100 * time.Millisecond)
	}))
	defer slow.Close()
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		want     string
		slowSink bool
	}{
		{"reached", []string{"--rate", "20000", "--duration", "1s", "quickstart"}, exitOK,
			"rate reached: asked 20000 spans/s, achieved ", false},
		{"one worker flat out", []string{"--rate", "1e9", "--workers", "1", "--conns", "1", "--duration", "300ms", "quickstart"}, exitCheckFailed,
			"rate not reached: asked 1000000000 spans/s, achieved ", false},
		{"slow sink", []string{"--protocol", "http", "--otlp-endpoint", slow.URL, "--rate", "50000", "--workers", "1", "--conns", "1",
			"--batch", "500", "--duration", "1s", "quickstart"}, exitCheckFailed,
			"rate not reached: asked 50000 spans/s, achieved ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := runCLI(t, append([]string{"blast", "--out", dir}, tc.args...)...)
			r.wantCode(t, tc.code)
			if !strings.Contains(r.stdout, "\n  verdict    "+tc.want) {
				t.Fatalf("no verdict %q:\n%s", tc.want, r.stdout)
			}
			rep := readBlastReport(t, dir)
			var rate *assert.Verdict
			for i := range rep.Verdicts {
				if rep.Verdicts[i].Check == "rate" {
					rate = &rep.Verdicts[i]
				}
			}
			if rate == nil || !strings.HasPrefix(rate.Observed, tc.want) || (rate.Status == assert.StatusPass) != (tc.code == exitOK) || rep.Passed != (tc.code == exitOK) {
				t.Fatalf("verdicts %+v, passed %v", rep.Verdicts, rep.Passed)
			}
			checkSeries(t, rep)
			if tc.code == exitOK {
				return
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if !strings.Contains(rate.Observed, ", limited by ") {
				t.Errorf("the verdict does not say what limited the rate: %q", rate.Observed)
			}
			if tc.slowSink && !strings.Contains(rate.Observed, "limited by the export: 1 worker busy ") {
				t.Errorf("the sink set the pace, but the verdict says %q", rate.Observed)
			}
		})
	}
}

// TestBlastUnreachable: a sink that is not there stops blast before any
// load, with exit code 3 and the reason.
func TestBlastUnreachable(t *testing.T) {
	for _, protocol := range []string{"grpc", "http"} {
		t.Run(protocol, func(t *testing.T) {
			r := runCLI(t, "blast", "--protocol", protocol, "--duration", "300ms", "--otlp-endpoint", "127.0.0.1:1", "quickstart")
			r.wantCode(t, exitRuntime)
			if r.stdout != "" || !strings.Contains(r.stderr, "preflight export to "+protocol+" 127.0.0.1:1 refused") ||
				!strings.Contains(r.stderr, "connection refused") || !strings.Contains(r.stderr, "; check the endpoint: nothing answers there") {
				t.Fatalf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestBench runs bench against each child sink over each protocol: the
// sink's own count matches what was delivered.
func TestBench(t *testing.T) {
	// The child sink is this test binary re-executed into main.
	t.Setenv(execMainEnv, "1")
	for _, tc := range []struct{ sink, protocol string }{
		{"count", "grpc"},
		{"count", "http"},
		{"backend", "http"},
	} {
		t.Run(tc.sink+"/"+tc.protocol, func(t *testing.T) {
			dir := t.TempDir()
			r := runCLI(t, "bench", "--sink", tc.sink, "--protocol", tc.protocol, "--duration", "1s", "--workers", "2",
				"--batch", "512", "--out", dir, "quickstart")
			r.wantCode(t, exitOK)
			delivered := blastDeliveredRE.FindStringSubmatch(r.stdout)
			if delivered == nil || delivered[1] == "0" {
				t.Fatalf("nothing delivered:\n%s", r.stdout)
			}
			for _, want := range []string{"read-back  OK: sink holds " + delivered[1] + " spans", "\n  sink cpu   ", "\n  verdict    delivered every span\n"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			rep := readBlastReport(t, dir)
			if rep.Command != "bench" || rep.Settings.Protocol != tc.protocol || !rep.Passed || rep.Totals.SinkCPU <= 0 {
				t.Fatalf("blast.json: %+v", rep)
			}
			checkSeries(t, rep)
		})
	}
}

// TestBenchHops measures real-hop mode against the backend child: every
// span the services exported is in the sink, the CPU per span is reported
// and compared with the bare hop floor measured in the same run, and the
// CPU profile asked for is written.
func TestBenchHops(t *testing.T) {
	t.Setenv(execMainEnv, "1")
	dir := t.TempDir()
	prof := filepath.Join(dir, "hops.pprof")
	r := runCLI(t, "bench", "--hops", "--duration", "1s", "--floor", "1s", "--cpuprofile", prof, "--out", dir, "quickstart")
	r.wantCode(t, exitOK)
	find := func(re string) []string {
		t.Helper()
		m := regexp.MustCompile(re).FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("no match for %s in output:\n%s", re, r.stdout)
		}
		return m
	}
	exported := find(`spans: \d+ ended, (\d+) exported`)[1]
	held := find(`sink \(tracerig backend\): holds (\d+) spans`)[1]
	if exported == "0" || exported != held {
		t.Fatalf("exported %s, the sink holds %s", exported, held)
	}
	positive := func(what, v string) {
		t.Helper()
		if f, _ := strconv.ParseFloat(v, 64); f <= 0 {
			t.Errorf("%s %q", what, v)
		}
	}
	positive("CPU per 1M spans", find(`during the load: .* = ([0-9.]+) CPU-s per 1M spans exported`)[1])
	positive("floor per hop", find(`floor, a bare net/http hop .*: ([0-9.]+) CPU-µs per hop`)[1])
	positive("ratio to the floor", find(`during the load: [0-9.]+ CPU-µs per hop = ([0-9.]+)× the floor`)[1])
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" && runtime.GOOS == "linux" {
		find(`garbage collector: GOGC=400 GOMEMLIMIT=\d+MiB`)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("cpu profile: %v", err)
	}
	var hr hopsReport
	b, err := os.ReadFile(filepath.Join(dir, "hops.json"))
	if err == nil {
		err = json.Unmarshal(b, &hr)
	}
	if err != nil {
		t.Fatalf("hops.json: %v", err)
	}
	if !hr.Passed || strconv.Itoa(hr.SpansExported) != exported || hr.Sink == nil || hr.Sink.Spans != int64(hr.SpansExported) ||
		hr.Floor == nil || hr.Floor.PerHop <= 0 || hr.FloorRatio <= 0 || hr.LoadCPUPerMillion <= 0 {
		t.Errorf("hops.json: %s", b)
	}

	for _, args := range [][]string{
		{"bench", "--hops", "--rate", "1000", "quickstart"},
		{"bench", "--hops", "--floor", "-1s", "quickstart"},
		{"bench", "--floor", "1s", "quickstart"},
	} {
		if bad := runCLI(t, args...); bad.code != exitUsage {
			t.Errorf("%q: exit %d, want 2\n%s", args, bad.code, bad.stderr)
		}
	}
}

func TestBlastBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"blast"},
		{"blast", "--duration", "0s", "shop"},
		{"blast", "--workers", "0", "shop"},
		{"blast", "--retries", "-1", "shop"},
		{"blast", "--protocol", "udp", "shop"},
		{"blast", "--protocol", "http", "--otlp-endpoint", "ftp://127.0.0.1:4318", "shop"},
		{"blast", "--protocol", "http", "--otlp-endpoint", "127.0.0.1", "shop"},
		{"blast", "no-such-scenario"},
		{"bench", "--sink", "nope"},
		{"bench", "--protocol", "quic"},
		{"bench", "a", "b"},
	} {
		r := runCLI(t, args...)
		if r.code != exitUsage {
			t.Errorf("%q: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
}
