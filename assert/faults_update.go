package assert

import (
	"cmp"
	"slices"
	"time"

	"github.com/tracerig/tracerig/internal/record"
	"github.com/tracerig/tracerig/topology"
)

// winKey identifies a fault window across updates: its end moves while it
// is open, nothing else does.
type winKey struct {
	id, number int
	kind       string
	start      int64
	dup        int // the n-th window with the same fields in one update
}

func keyOf(f *record.Fault) winKey {
	return winKey{id: f.ID, number: f.Number, kind: f.Kind, start: f.Start}
}

// update adds the windows not seen before and takes the new end of those
// that moved (a window still open ends now, see record.Fault.Open). A
// window keeps the attribution it was first given.
func (fs *faultSet) update(windows []record.Fault) {
	changed := false
	seen := make(map[winKey]int, len(windows))
	for i := range windows {
		f := &windows[i]
		k := keyOf(f)
		k.dup = seen[k]
		seen[keyOf(f)]++
		if a, ok := fs.index[k]; ok {
			w := fs.win(a)
			if w.End != f.End || w.Open != f.Open {
				w.Fault = *f
				fs.derive(w)
				changed = true
			}
			continue
		}
		a := attribution(int(attrUnexplained) + 1 + len(fs.wins))
		fs.index[k] = a
		fs.wins = append(fs.wins, faultWin{Fault: *f, kind: topology.FaultKind(f.Kind), attr: a})
		fs.derive(&fs.wins[len(fs.wins)-1])
		changed = true
	}
	if !changed {
		return
	}
	fs.version++
	slices.SortFunc(fs.wins, func(a, b faultWin) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Number, b.Number), cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.attr, b.attr))
	})
	fs.pos = make([]int, len(fs.wins))
	for i := range fs.wins {
		fs.pos[int(fs.wins[i].attr)-int(attrUnexplained)-1] = i
	}
	fs.refreshCuts()
}

// derive sets what w's attribution needs from its bounds.
func (fs *faultSet) derive(w *faultWin) {
	w.inst = ""
	if w.Service != "" && w.Instance >= 0 {
		w.inst = instanceName(w.Service, w.Instance)
	}
	w.shiftLo, w.shiftHi = 0, 0
	if p := fs.plan(w.Number); p != nil && w.kind == topology.FaultClockSkew {
		total := p.Skew.Offset + time.Duration(float64(p.Skew.Drift)*time.Duration(w.End-w.Start).Seconds())
		w.shiftLo = int64(min(0, p.Skew.Offset, total))
		w.shiftHi = int64(max(0, p.Skew.Offset, total))
	}
}

// ver is the windows' version; 0 without faults.
func (fs *faultSet) ver() int {
	if fs == nil {
		return 0
	}
	return fs.version
}

// settled reports whether the windows are final: no window will come or
// move. Without faults (nil) none will.
func (fs *faultSet) settled() bool { return fs == nil || fs.final }

// records returns the windows as they stand, in order.
func (fs *faultSet) records() []record.Fault {
	if fs == nil {
		return nil
	}
	out := make([]record.Fault, len(fs.wins))
	for i := range fs.wins {
		out[i] = fs.wins[i].Fault
	}
	return out
}
