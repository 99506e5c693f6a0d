package assert

import (
	"math"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// liveFaults is what a Stream of a run with faults keeps: the fault set as
// the run revealed it, and the groups added but not yet judged.
type liveFaults struct {
	faults  *faultSet
	held    []heldGroup
	horizon int64
}

// heldGroup is a group waiting to be judged, with the latest time its
// records carry.
type heldGroup struct {
	g        Group
	end      int64
	observed bool // its hops are in the fault set's recoveries
}

// horizonMargin covers a window that opened just before the windows were
// read but was not among them yet.
const horizonMargin = int64(time.Second)

// NewFaultStream returns a Stream for a run whose faults come as it goes:
// planned (base.Planned) or added live. base is as for NewStream; its
// Faults are the windows known so far. Groups are judged by Advance and
// Finish; base.RunStart should be set, since windows are named relative to
// it.
func NewFaultStream(base Input, expects []topology.Expect) *Stream {
	fs := newLiveFaultSet(base)
	fs.update(base.Faults)
	live := &liveFaults{faults: fs, horizon: faultHorizon(base.Planned)}
	return newStream(base, expects, live)
}

// faultHorizon is how long after a group's last record a window may still
// change what its records are judged to be: a pipeline fault's lead
// (pipelinePre) before a window that opens later, how far a planned clock
// skew moves timestamps back, and a margin. A clock skew that drifts for
// the rest of the run moves them without bound: every group then waits for
// Finish.
func faultHorizon(planned []topology.Fault) int64 {
	var skew time.Duration
	for _, p := range planned {
		if p.Kind != topology.FaultClockSkew {
			continue
		}
		if p.Skew.Drift != 0 && p.Window.For <= 0 {
			return math.MaxInt64
		}
		total := p.Skew.Offset + time.Duration(float64(p.Skew.Drift)*p.Window.For.Seconds())
		skew = max(skew, p.Skew.Offset.Abs(), total.Abs())
	}
	return pipelinePre + int64(skew) + horizonMargin
}

// faultBinder is a tally whose verdict depends on the windows even when
// no group was judged: a Stream with faults gives it its fault set at once.
type faultBinder interface {
	bindFaults(fs *faultSet)
}

// hold keeps g until Advance or Finish judges it.
func (l *liveFaults) hold(g Group) {
	l.held = append(l.held, heldGroup{g: g, end: groupEnd(&g)})
}

// groupEnd is the latest time g's records carry.
func groupEnd(g *Group) int64 {
	var end int64
	for i := range g.Hops {
		end = max(end, g.Hops[i].SentAt, g.Hops[i].AnsweredAt)
	}
	for i := range g.Ended {
		end = max(end, g.Ended[i].End, g.Ended[i].ExportAt)
	}
	for i := range g.Backend {
		end = max(end, g.Backend[i].End)
	}
	return end
}

// Advance takes the windows as they stand now (an open one ends now:
// record.Fault.Open) and judges every group that ended at least the
// horizon before watermark. Every hop sent before watermark must have been
// added (simulator.Ledger.DrainedBefore gives that time), and windows must
// be read after the groups were taken from the ledger. Without faults it
// does nothing.
func (s *Stream) Advance(windows []record.Fault, watermark int64) {
	if s.live == nil {
		return
	}
	s.live.update(windows)
	if s.live.horizon == math.MaxInt64 {
		return
	}
	s.release(watermark - s.live.horizon)
}

// Finish takes the run's final windows and judges every group still held.
func (s *Stream) Finish(windows []record.Fault) {
	if s.live == nil {
		return
	}
	s.live.faults.final = true
	s.live.update(windows)
	s.release(math.MaxInt64)
}

// update takes the windows and observes the hops of the groups added since.
func (l *liveFaults) update(windows []record.Fault) {
	l.faults.update(windows)
	for i := range l.held {
		if h := &l.held[i]; !h.observed {
			l.faults.observe(h.g.Hops)
			h.observed = true
		}
	}
}

// release judges the held groups that ended at or before until, in the
// order they were added, and lets them go.
func (s *Stream) release(until int64) {
	kept := s.live.held[:0]
	for _, h := range s.live.held {
		if h.end > until {
			kept = append(kept, h)
			continue
		}
		s.judge(h.g, s.live.faults)
	}
	clear(s.live.held[len(kept):])
	s.live.held = kept
}
