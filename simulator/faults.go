package simulator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// activeFault is one fault applied to the running topology.
type activeFault struct {
	id      int
	number  int // 1-based index among the scenario's faults; 0 for live ones
	f       topology.Fault
	desc    string
	live    bool
	start   time.Time
	done    chan struct{} // closed when the fault is cleared
	applied chan struct{} // closed once apply has returned
	undo    func()        // reverts what applying it changed, if anything
}

// faultSet is an immutable snapshot of the active faults; the hot paths
// load it once per decision and pay nothing when it is empty.
type faultSet struct{ faults []*activeFault }

// faults holds the runtime's fault state.
type faults struct {
	mu      sync.Mutex
	set     atomic.Pointer[faultSet]
	nextID  int
	windows []record.Fault // closed windows, and open ones at snapshot
	// taken are faults being reverted, their windows not yet closed.
	taken []*activeFault
	// skews lists clock-skew windows for the exporters, including closed
	// ones: spans are exported after they end.
	skews atomic.Pointer[[]skewWindow]
}

type skewWindow struct {
	service  string
	instance int
	from, to int64 // unix ns; to 0 while open
	skew     topology.SkewFault
}

func (fs *faultSet) each(fn func(*activeFault) bool) {
	if fs == nil {
		return
	}
	for _, a := range fs.faults {
		if !fn(a) {
			return
		}
	}
}

// FaultInfo describes an active fault.
type FaultInfo struct {
	ID     int            `json:"id"`
	Number int            `json:"number,omitempty"`
	Kind   string         `json:"kind"`
	Desc   string         `json:"desc"`
	Live   bool           `json:"live"`
	Since  time.Time      `json:"since"`
	Fault  topology.Fault `json:"-"`
}

// ErrNoFault is returned by ClearFault for an ID that is not active.
var ErrNoFault = errors.New("no such active fault")

// InjectFault applies f to the running topology now and records its window
// in the ledger; number is its 1-based index among the scenario's faults (0
// for a fault added live). It returns the fault's ID for ClearFault.
func (rt *Runtime) InjectFault(f topology.Fault, number int, live bool) (int, error) {
	if err := rt.checkFault(f); err != nil {
		return 0, err
	}
	rt.fx.mu.Lock()
	rt.fx.nextID++
	a := &activeFault{
		id: rt.fx.nextID, number: number, f: f, desc: Describe(f), live: live,
		start: time.Now(), done: make(chan struct{}), applied: make(chan struct{}),
	}
	old := rt.fx.set.Load()
	next := &faultSet{}
	if old != nil {
		next.faults = slices.Clone(old.faults)
	}
	next.faults = append(next.faults, a)
	rt.fx.set.Store(next)
	rt.fx.mu.Unlock()
	// Applying may take a while (a queue swap flushes the old queue), so
	// it runs outside the lock; clearing waits for it.
	a.undo = rt.apply(a)
	close(a.applied)
	return a.id, nil
}

// ClearFault reverts the fault with the given ID and closes its window.
func (rt *Runtime) ClearFault(id int) error {
	a, err := rt.takeFault(id)
	if err != nil {
		return err
	}
	rt.revert(a)
	return nil
}

// revert undoes a taken fault and then closes its window: a fault lasts
// until it is undone (a crashed instance until it answers again).
func (rt *Runtime) revert(a *activeFault) {
	a.revert()
	rt.fx.mu.Lock()
	rt.fx.windows = append(rt.fx.windows, a.window(time.Now(), false))
	rt.fx.taken = slices.DeleteFunc(rt.fx.taken, func(t *activeFault) bool { return t == a })
	rt.fx.mu.Unlock()
}

// takeFault removes an active fault; the caller reverts it.
func (rt *Runtime) takeFault(id int) (*activeFault, error) {
	rt.fx.mu.Lock()
	defer rt.fx.mu.Unlock()
	old := rt.fx.set.Load()
	if old == nil {
		return nil, fmt.Errorf("clear fault %d: %w", id, ErrNoFault)
	}
	i := slices.IndexFunc(old.faults, func(a *activeFault) bool { return a.id == id })
	if i < 0 {
		return nil, fmt.Errorf("clear fault %d: %w", id, ErrNoFault)
	}
	a := old.faults[i]
	rt.fx.set.Store(&faultSet{faults: slices.Delete(slices.Clone(old.faults), i, i+1)})
	close(a.done)
	rt.fx.taken = append(rt.fx.taken, a)
	return a, nil
}

// revert undoes what applying the fault changed, once it has been applied.
func (a *activeFault) revert() {
	<-a.applied
	if a.undo != nil {
		a.undo()
	}
}

// ClearFaults reverts every active fault.
func (rt *Runtime) ClearFaults() {
	for _, a := range rt.activeFaults() {
		if taken, err := rt.takeFault(a.id); err == nil {
			rt.revert(taken)
		}
	}
}

func (rt *Runtime) activeFaults() []*activeFault {
	if s := rt.fx.set.Load(); s != nil {
		return s.faults
	}
	return nil
}

// Faults lists the active faults, oldest first.
func (rt *Runtime) Faults() []FaultInfo {
	out := []FaultInfo{}
	for _, a := range rt.activeFaults() {
		out = append(out, FaultInfo{ID: a.id, Number: a.number, Kind: string(a.f.Kind), Desc: a.desc, Live: a.live, Since: a.start, Fault: a.f})
	}
	return out
}

// FaultWindows returns every fault window so far; windows still open end now.
func (rt *Runtime) FaultWindows() []record.Fault {
	rt.fx.mu.Lock()
	defer rt.fx.mu.Unlock()
	out := append([]record.Fault{}, rt.fx.windows...)
	now := time.Now()
	for _, a := range rt.activeFaults() {
		out = append(out, a.window(now, true))
	}
	for _, a := range rt.fx.taken {
		out = append(out, a.window(now, true))
	}
	slices.SortFunc(out, func(a, b record.Fault) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// window is a's window ending at end; open says a is still active, so end
// is only when the window was read.
func (a *activeFault) window(end time.Time, open bool) record.Fault {
	t := a.f.Target
	return record.Fault{
		ID: a.id, Number: a.number, Kind: string(a.f.Kind), Desc: a.desc,
		Service: t.Service, Instance: t.Instance, From: t.From, To: t.To, Broker: t.Broker,
		Start: a.start.UnixNano(), End: end.UnixNano(), Open: open, Live: a.live,
		Forward: a.f.Kind == topology.FaultUninstrument && a.f.Forward, Propagators: propagatorNames(a.f),
	}
}

// propagatorNames returns the formats a propagator-mismatch fault imposes,
// nil for every other kind.
func propagatorNames(f topology.Fault) []string {
	if f.Kind != topology.FaultPropagatorSwitch {
		return nil
	}
	out := make([]string, len(f.Propagators))
	for i, p := range f.Propagators {
		out[i] = string(p)
	}
	return out
}

// Describe returns a fault's one-line description: its kind and target.
func Describe(f topology.Fault) string {
	t := f.Target
	var b strings.Builder
	b.WriteString(string(f.Kind))
	switch {
	case t.Broker != "":
		fmt.Fprintf(&b, " %s", t.Broker)
	case t.From != "":
		fmt.Fprintf(&b, " %s -> %s", t.From, t.To)
	case t.Service != "":
		fmt.Fprintf(&b, " %s", t.Service)
		if t.Route != "" {
			fmt.Fprintf(&b, " %s", t.Route)
		}
		if t.Instance >= 0 && isInstanceFault(f.Kind) || t.Instance > 0 {
			fmt.Fprintf(&b, "-%d", t.Instance)
		}
	}
	if f.Name != "" {
		return f.Name + " (" + b.String() + ")"
	}
	return b.String()
}

func isInstanceFault(k topology.FaultKind) bool {
	return k == topology.FaultCrash || k == topology.FaultRestart || k == topology.FaultPause
}

// checkFault rejects a fault the running topology cannot apply; the
// topology's validation catches these in files, this guards live ones.
func (rt *Runtime) checkFault(f topology.Fault) error {
	if !slices.Contains(topology.FaultKinds, f.Kind) {
		return fmt.Errorf("inject fault: unknown kind %q", f.Kind)
	}
	t := f.Target
	for _, s := range []string{t.Service, t.From, t.To} {
		if s != "" && len(rt.peers[s]) == 0 {
			return fmt.Errorf("inject %s: service %q is not running", f.Kind, s)
		}
	}
	if t.Service != "" && t.Instance >= len(rt.peers[t.Service]) {
		return fmt.Errorf("inject %s: service %q has %d instances, no instance %d", f.Kind, t.Service, len(rt.peers[t.Service]), t.Instance)
	}
	if f.Kind == topology.FaultBrokerOutage {
		if ref := rt.msg.brokers[t.Broker]; rt.cfg.applier == nil && (ref == nil || ref.embedded == nil) {
			return fmt.Errorf("inject %s: broker %q is not one tracerig runs", f.Kind, t.Broker)
		}
	}
	if (f.Kind == topology.FaultExporterOutage || f.Kind == topology.FaultSlowBackend) && rt.cfg.pipe == nil && rt.cfg.applier == nil {
		return fmt.Errorf("inject %s: the runtime has no export pipe to act on", f.Kind)
	}
	return nil
}

// targets reports whether fault a applies to instance in (and route, when
// the fault names one).
func (a *activeFault) targets(in *instance, route string) bool {
	t := a.f.Target
	return t.Service == in.svc.Name &&
		(t.Instance < 0 || t.Instance == in.index) &&
		(t.Route == "" || t.Route == route)
}

// onEdge reports whether fault a applies to calls from → to.
func (a *activeFault) onEdge(from, to string) bool {
	return a.f.Target.From == from && a.f.Target.To == to
}

// PlayFaults applies the scenario's faults on their timeline from start
// until ctx ends, then clears whatever is still active. It returns at once;
// the returned wait blocks until the timeline goroutines have stopped.
func (rt *Runtime) PlayFaults(ctx context.Context, faults []topology.Fault, start time.Time) (wait func()) {
	var wg sync.WaitGroup
	for i, f := range faults {
		wg.Go(func() { rt.playFault(ctx, f, i+1, start) })
	}
	return wg.Wait
}

func (rt *Runtime) playFault(ctx context.Context, f topology.Fault, number int, start time.Time) {
	w := f.Window
	for n := 0; w.Count == 0 || n < w.Count; n++ {
		at := start.Add(w.At + time.Duration(n)*w.Every)
		if !sleepUntil(ctx, at) {
			return
		}
		id, err := rt.InjectFault(f, number, false)
		if err != nil {
			rt.fail(err)
			return
		}
		if f.Kind == topology.FaultRestart && w.For == 0 {
			rt.ClearFault(id) // down and straight back up
		} else if w.For > 0 {
			// The window lasts For from when the fault took effect: an
			// applier that took a while (docker pause on a busy engine)
			// does not eat into it.
			if !sleepUntil(ctx, later(at, time.Now()).Add(w.For)) {
				rt.ClearFault(id)
				return
			}
			rt.ClearFault(id)
		} else {
			<-ctx.Done()
			rt.ClearFault(id)
			return
		}
		if w.Every <= 0 {
			return
		}
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sleepUntil waits until t; false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
