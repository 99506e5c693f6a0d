package assert

import (
	"testing"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// TestPeriodsStayPastHorizon pins what a Stream with faults relies on: a
// time at least the horizon before the windows were read keeps its period
// index when a window's end moves and a later window opens.
func TestPeriodsStayPastHorizon(t *testing.T) {
	s := int64(time.Second)
	planned := []topology.Fault{
		{Kind: topology.FaultExporterOutage},
		{Kind: topology.FaultClockSkew, Window: topology.Window{For: 10 * time.Second},
			Skew: topology.SkewFault{Offset: -2 * time.Second, Drift: -100 * time.Millisecond}},
	}
	horizon := faultHorizon(planned)
	open := record.Fault{ID: 1, Number: 1, Kind: string(topology.FaultExporterOutage), Instance: -1, Start: 20 * s, End: 30 * s, Open: true}
	skew := record.Fault{ID: 2, Number: 2, Kind: string(topology.FaultClockSkew), Service: "cart", Instance: -1, Start: 10 * s, End: 20 * s}
	fs := newLiveFaultSet(Input{Planned: planned, RunStart: 1})
	fs.update([]record.Fault{skew, open})
	before := newTimePeriods(fs)
	a := fs.index[keyOf(&open)]
	label := fs.label(a)

	moved := open
	moved.End, moved.Open = 45*s, false
	later := record.Fault{ID: 3, Number: 1, Kind: string(topology.FaultExporterOutage), Instance: -1, Start: 31 * s, End: 33 * s}
	fs.update([]record.Fault{skew, moved, later})
	after := newTimePeriods(fs)
	for at := int64(0); at <= 30*s-horizon; at += s / 10 {
		if b, a := before.of(at), after.of(at); b != a {
			t.Fatalf("period of %v: %d, then %d", time.Duration(at), b, a)
		}
	}
	if fs.index[keyOf(&open)] != a || fs.label(a) == label {
		t.Errorf("attribution %d labelled %q, then %d labelled %q", a, label, fs.index[keyOf(&open)], fs.label(a))
	}
	if want := "explained by fault #1 (exporter-outage, 20s–45s)"; fs.label(a) != want {
		t.Errorf("label %q, want %q", fs.label(a), want)
	}
}

// TestObserveSkipsOpenWindows checks that a caller's recovery is noted only
// after its window closed, and once the window is final.
func TestObserveSkipsOpenWindows(t *testing.T) {
	s := int64(time.Second)
	crash := record.Fault{ID: 1, Number: 1, Kind: string(topology.FaultCrash), Service: "inventory", Instance: 0,
		Start: 10 * s, End: 20 * s}
	hop := func(at int64) record.Hop {
		return record.Hop{From: "cart", To: "inventory", SentAt: at, Received: true}
	}
	fs := newLiveFaultSet(Input{Planned: []topology.Fault{{Kind: topology.FaultCrash}}, RunStart: 1})
	openCrash := crash
	openCrash.End, openCrash.Open = 15*s, true
	fs.update([]record.Fault{openCrash})
	fs.observe([]record.Hop{hop(14 * s)})
	if w := fs.win(fs.index[keyOf(&crash)]); len(w.recovered) != 0 {
		t.Fatalf("recovered %v while the window was open", w.recovered)
	}
	fs.update([]record.Fault{crash})
	fs.observe([]record.Hop{hop(25 * s), hop(22 * s)})
	if w := fs.win(fs.index[keyOf(&crash)]); w.recovered[caller{"cart", 0}] != 22*s {
		t.Errorf("recovered %v, want cart at 22s", w.recovered)
	}
}
