package scenarios

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracerig/tracerig/topology"
)

func TestScaleExpect(t *testing.T) {
	spans := func(from, to time.Duration) topology.Expect {
		return topology.Expect{Kind: topology.ExpectSpans, Spans: topology.SpansExpect{
			Where: `start > duration("1s")`, During: [2]time.Duration{from, to}, Assert: "true", Count: "all", MinSelected: 1}}
	}
	within := topology.Expect{Kind: topology.ExpectCompleteness, Completeness: topology.CompletenessExpect{Min: 1, Within: 2 * time.Second}}
	tail := topology.Expect{Kind: topology.ExpectTailSampling, TailSampling: topology.TailSamplingExpect{KeepSlowerThan: 500 * time.Millisecond}}
	detect := topology.Expect{Kind: topology.ExpectDetect, Detect: topology.DetectExpect{Fault: 2}}
	prop := topology.Expect{Kind: topology.ExpectPropagation, Propagation: topology.PropagationExpect{Connected: true, Broken: []string{"a -> b"}, DuringFault: 1}}
	all := []topology.Expect{spans(20*time.Second, 35*time.Second), within, tail, detect, prop, spans(0, 0)}
	for _, tt := range []struct {
		name  string
		scale float64
		want  []topology.Expect
	}{
		{"0.2 scales spans.during only", 0.2, []topology.Expect{spans(4*time.Second, 7*time.Second), within, tail, detect, prop, spans(0, 0)}},
		{"0.5", 0.5, []topology.Expect{spans(10*time.Second, 17500*time.Millisecond), within, tail, detect, prop, spans(0, 0)}},
		{"1 keeps everything", 1, all},
		{"0 (unset) keeps everything", 0, all},
		{"above 1 keeps everything", 2, all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]topology.Expect(nil), all...)
			got := scaleExpect(in, tt.scale)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("scaleExpect(%g):\n got %+v\nwant %+v", tt.scale, got, tt.want)
			}
			if !reflect.DeepEqual(in, all) {
				t.Errorf("scaleExpect changed its input: %+v", in)
			}
		})
	}
	// The same rule as the fault windows: a window that opens with a
	// fault still opens with it once both are scaled.
	faults := scaleFaults([]topology.Fault{{Window: topology.Window{At: 20 * time.Second, For: 15 * time.Second}}}, 0.2)
	exp := scaleExpect([]topology.Expect{spans(20*time.Second, 35*time.Second)}, 0.2)
	if w, d := faults[0].Window, exp[0].Spans.During; w.At != d[0] || w.At+w.For != d[1] {
		t.Errorf("fault window %s+%s scaled apart from spans.during %v", w.At, w.For, d)
	}
}

// TestTimeScaleScalesSpansDuring plays a scenario whose spans expectations
// hold only if their during windows shrink with the fault window they
// watch: at time scale 0.25 the errors fault of 5–10 s plays at
// 1.25–2.5 s, and the windows [6s, 9s) and [0s, 4s) must play at
// [1.5s, 2.25s) and [0s, 1s).
func TestTimeScaleScalesSpansDuring(t *testing.T) {
	sc := load(t, "testdata/time-scale.yaml")
	out := t.TempDir()
	start := time.Now()
	rep, err := Run(t.Context(), sc, Options{OutDir: out, TimeScale: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run took %s", time.Since(start).Round(time.Millisecond))
	passAll(t, rep)
	if len(rep.Verdicts) != 3 {
		t.Fatalf("%d verdicts, want the two spans checks and load", len(rep.Verdicts))
	}
	for i, want := range []string{"starting in [1.5s, 2.25s) of the load's timeline", "starting in [0s, 1s) of the load's timeline"} {
		if v := rep.Verdicts[i]; v.Check != "spans" || !strings.Contains(v.Measured, want) {
			t.Errorf("verdict %d: %s measured %q, want the scaled window %q", i, v.Check, v.Measured, want)
		}
	}
	if got := sc.Expect[0].Spans.During; got != [2]time.Duration{6 * time.Second, 9 * time.Second} {
		t.Errorf("the run changed the scenario's expectation: during %v", got)
	}
	b, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		TimeScale float64 `json:"time_scale"`
		Verdicts  []struct {
			Measured string `json:"measured"`
		} `json:"verdicts"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.TimeScale != 0.25 || len(doc.Verdicts) == 0 || !strings.Contains(doc.Verdicts[0].Measured, "[1.5s, 2.25s)") {
		t.Errorf("report.json: time_scale %g, verdicts %+v", doc.TimeScale, doc.Verdicts)
	}
	page, err := os.ReadFile(filepath.Join(out, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"time scale <b>0.25</b>", "starting in [1.5s, 2.25s) of the load&#39;s timeline"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), ", time scale 0.25)") {
		t.Errorf("text summary does not give the time scale:\n%s", text.String())
	}
}
