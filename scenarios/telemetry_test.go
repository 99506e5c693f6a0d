package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tracerig/tracerig/report"
	"github.com/tracerig/tracerig/report/metrics"
	"github.com/tracerig/tracerig/simulator/synthetic"
	"github.com/tracerig/tracerig/topology"
)

// scrapeClient scrapes without keeping connections, so that none
// outlives a test.
var scrapeClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// scrape reads the metrics served on addr, each series named as
// name{label="value",...} with its labels in order.
func scrape(addr string) (map[string]float64, error) {
	resp, err := scrapeClient.Get("http://" + addr + metrics.Path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", addr, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse the scrape of %s: %w", addr, err)
	}
	out := make(map[string]float64)
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out, nil
}

// scraper scrapes addr every few tens of milliseconds until stopped,
// keeping every scrape.
type scraper struct {
	stop    chan struct{}
	done    chan struct{}
	scrapes []map[string]float64
	err     error
}

func startScraper(addr string) *scraper {
	s := &scraper{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				m, err := scrape(addr)
				if err != nil {
					s.err = err
					return
				}
				s.scrapes = append(s.scrapes, m)
			}
		}
	}()
	return s
}

func (s *scraper) halt() {
	close(s.stop)
	<-s.done
}

// sumOf sums the series of a metric, whatever their labels.
func sumOf(m map[string]float64, name string) float64 {
	n := 0.0
	for k, v := range m {
		if k == name || strings.HasPrefix(k, name+"{") {
			n += v
		}
	}
	return n
}

// runScraped runs sc with its metrics served and scraped all along, and
// returns its report, the scrapes during the run and the scrape just
// before the metrics stop.
func runScraped(t *testing.T, sc *topology.Scenario, opts Options) (*report.Report, []map[string]float64, map[string]float64) {
	t.Helper()
	var (
		mu    sync.Mutex
		scr   *scraper
		final map[string]float64
		ferr  error
	)
	opts.Metrics = "127.0.0.1:0"
	opts.MetricsReady = func(addr string) {
		mu.Lock()
		defer mu.Unlock()
		scr = startScraper(addr)
	}
	opts.metricsClosing = func(addr string) {
		mu.Lock()
		defer mu.Unlock()
		scr.halt()
		final, ferr = scrape(addr)
	}
	rep, err := Run(context.Background(), sc, opts)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if scr == nil || final == nil {
		t.Fatalf("the metrics were never served, or never scraped at their end (%v)", ferr)
	}
	if scr.err != nil {
		t.Fatalf("scrape during the run: %v", scr.err)
	}
	return rep, scr.scrapes, final
}

// TestMetricsEqualLedger scrapes a run's metrics while it runs a fault
// that breaks an edge: its counters only grow, the fault shows active
// while it is, and at the end every counter equals the report's figure:
// the ledger's totals, the spans lost by why, the breaks per edge.
func TestMetricsEqualLedger(t *testing.T) {
	sc := load(t, "header-stripping-proxy.yaml")
	rep, during, final := runScraped(t, sc, Options{TimeScale: 0.1, OutDir: t.TempDir()})
	if len(during) < 10 {
		t.Fatalf("%d scrapes during the run, want at least 10", len(during))
	}
	counters := []string{"tracerig_load_requests_total", "tracerig_hops_total", "tracerig_spans_ended_total",
		"tracerig_spans_exported_total", "tracerig_spans_export_failed_total", "tracerig_export_retries_total",
		"tracerig_spans_verified_total", "tracerig_spans_dropped_total", "tracerig_propagation_breaks_total",
		"tracerig_load_requests_asked_total"}
	sawFault, sawSpans := false, false
	prev := map[string]float64{}
	for _, m := range append(during, final) {
		for _, c := range counters {
			if v := sumOf(m, c); v < prev[c] {
				t.Errorf("%s went down from %g to %g", c, prev[c], v)
			} else {
				prev[c] = v
			}
		}
		sawFault = sawFault || m[`tracerig_fault_active{kind="strip-headers",target="cart->inventory"}`] == 1
		sawSpans = sawSpans || m["tracerig_spans_ended_total"] > 0 && m["tracerig_spans_ended_total"] < final["tracerig_spans_ended_total"]
	}
	if !sawFault || !sawSpans {
		t.Errorf("no scrape during the run saw the fault active (%v) or spans ending (%v)", sawFault, sawSpans)
	}

	l := rep.Ledger
	dropped, _, missing := rep.Evidence.Series.Lost()
	want := map[string]float64{
		"tracerig_load_requests_total":                                                float64(l.Requests),
		"tracerig_hops_total":                                                         float64(l.Hops),
		"tracerig_spans_ended_total":                                                  float64(l.SpansEnded),
		"tracerig_spans_exported_total":                                               float64(l.SpansExported),
		"tracerig_spans_export_failed_total":                                          float64(l.ExportFailed),
		"tracerig_export_retries_total":                                               float64(l.ExportRetries),
		"tracerig_spans_verified_total":                                               float64(rep.Evidence.Series.Spans()),
		"tracerig_spans_dropped_total":                                                float64(dropped),
		"tracerig_spans_missing_total":                                                float64(missing),
		"tracerig_propagation_breaks_total":                                           float64(findingsOn(rep, "cart", "inventory")),
		`tracerig_propagation_breaks_total{edge="cart->inventory"}`:                   float64(findingsOn(rep, "cart", "inventory")),
		`tracerig_fault_windows_total{kind="strip-headers",target="cart->inventory"}`: 1,
		`tracerig_fault_active{kind="strip-headers",target="cart->inventory"}`:        0,
		"tracerig_load_requests_asked_total":                                          150, // 50/s for 3s
		"tracerig_export_queue_spans":                                                 0,
	}
	for name, w := range want {
		if got := sumOf(final, name); got != w {
			t.Errorf("at the end %s = %g, the report says %g", name, got, w)
		}
	}
	if l.SpansEnded == 0 || findingsOn(rep, "cart", "inventory") == 0 {
		t.Errorf("the run ended no span or broke no hop on cart -> inventory: %+v", l)
	}
}

// findingsOn sums the propagation findings' counts on the edge from -> to.
func findingsOn(rep *report.Report, from, to string) int {
	n := 0
	for _, v := range rep.Verdicts {
		if v.Check != string(topology.ExpectPropagation) {
			continue
		}
		for _, f := range v.Findings {
			if f.From == from && f.To == to {
				n += f.Count
			}
		}
	}
	return n
}

// TestMetricsShareControl serves the control API on the metrics' address:
// both answer on one listener while load runs.
func TestMetricsShareControl(t *testing.T) {
	sc := load(t, "quickstart.yaml")
	d := 700 * time.Millisecond
	var controlAddr string
	var codes []int
	opts := Options{Duration: &d, Control: "127.0.0.1:0", ControlReady: func(addr string) { controlAddr = addr }}
	opts.LoadDone = func() {
		for _, p := range []string{metrics.Path, "/faults"} {
			resp, err := scrapeClient.Get("http://" + controlAddr + p)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
		}
	}
	rep, _, final := runScraped(t, sc, opts)
	if !slices.Equal(codes, []int{200, 200}) {
		t.Errorf("GET /metrics and /faults on the shared address %s: %v, want 200 200", controlAddr, codes)
	}
	if got := final["tracerig_spans_ended_total"]; got != float64(rep.Ledger.SpansEnded) || got == 0 {
		t.Errorf("spans ended %g, the ledger's %d", got, rep.Ledger.SpansEnded)
	}
}

func TestAsked(t *testing.T) {
	rate := func(freq int, per time.Duration) topology.Rate { return topology.Rate{Freq: freq, Per: per} }
	tests := []struct {
		name    string
		loads   []topology.Load
		elapsed time.Duration
		want    float64
	}{
		{"constant", []topology.Load{{Rate: rate(100, time.Second), Duration: 5 * time.Second}}, 2 * time.Second, 200},
		{"past the duration", []topology.Load{{Rate: rate(100, time.Second), Duration: 5 * time.Second}}, time.Minute, 500},
		{"per 100ms", []topology.Load{{Rate: rate(5, 100*time.Millisecond), Duration: time.Second}}, time.Second, 50},
		{"count limit", []topology.Load{{Rate: rate(100, time.Second), Requests: 30}}, time.Second, 30},
		{"ramp", []topology.Load{{Rate: topology.Rate{Freq: 10, Per: time.Second, Ramp: true, To: 30}, Duration: 10 * time.Second}}, 10 * time.Second, 200},
		{"two loads", []topology.Load{{Rate: rate(10, time.Second), Duration: time.Second}, {Rate: rate(20, time.Second), Duration: time.Second}}, time.Second, 30},
		{"flat out", []topology.Load{{Rate: rate(10, time.Second)}, {Rate: rate(0, 0), Duration: time.Second}}, time.Second, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := asked(tt.loads, tt.elapsed); got != tt.want {
				t.Errorf("asked = %g, want %g", got, tt.want)
			}
		})
	}
}

// TestBlastMetricsEqualTotals scrapes a blast's metrics while it sends to
// the embedded backend, with a progress of its own beside them: its
// counters only grow, and at the end they equal the report's totals.
func TestBlastMetricsEqualTotals(t *testing.T) {
	var (
		mu       sync.Mutex
		scr      *scraper
		final    map[string]float64
		ferr     error
		progress int
	)
	opts := BlastOptions{
		Command: "blast", Scenario: "quickstart", Metrics: "127.0.0.1:0",
		Run: synthetic.RunOptions{Duration: 600 * time.Millisecond, Rate: 20000, Workers: 2, Conns: 1, Batch: 256,
			SampleEvery: 100 * time.Millisecond, OnSample: func(synthetic.Sample) { progress++ }},
		MetricsReady: func(addr string) { scr = startScraper(addr) },
	}
	opts.metricsClosing = func(addr string) {
		mu.Lock()
		defer mu.Unlock()
		scr.halt()
		final, ferr = scrape(addr)
	}
	rep, err := Blast(context.Background(), load(t, "quickstart.yaml"), opts)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ferr != nil || scr.err != nil {
		t.Fatalf("scrape: %v, %v", ferr, scr.err)
	}
	if len(scr.scrapes) < 5 || progress == 0 {
		t.Errorf("%d scrapes during the run, %d samples to the progress; want at least 5 and 1", len(scr.scrapes), progress)
	}
	prev := 0.0
	for _, m := range append(scr.scrapes, final) {
		if v := m["tracerig_blast_spans_delivered_total"]; v < prev {
			t.Errorf("delivered went down from %g to %g", prev, v)
		} else {
			prev = v
		}
	}
	tot := rep.Totals
	for name, want := range map[string]int64{
		"tracerig_blast_spans_sent_total":      tot.Sent,
		"tracerig_blast_spans_delivered_total": tot.Delivered,
		"tracerig_blast_spans_failed_total":    tot.Failed,
		"tracerig_blast_spans_rejected_total":  tot.Rejected,
		"tracerig_blast_export_requests_total": tot.Requests,
		"tracerig_blast_export_retries_total":  tot.Retries,
	} {
		if got := final[name]; got != float64(want) {
			t.Errorf("at the end %s = %g, the report says %d", name, got, want)
		}
	}
	if tot.Delivered == 0 || final["tracerig_blast_export_queue_capacity_batches"] != 2 {
		t.Errorf("delivered %d, queue capacity %g; want some, and 2 (the workers)", tot.Delivered, final["tracerig_blast_export_queue_capacity_batches"])
	}
}
