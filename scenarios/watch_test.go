package scenarios

import (
	"sync/atomic"

	"github.com/tracerig/tracerig/assert"
)

// loadWatch records a run's verifier and what it had judged when its load
// ended: the proof that a run was verified as it went.
type loadWatch struct {
	ver        *verifier
	duringLoad assert.Checked
	atLoad     atomic.Bool
}

// watch returns opts with the hooks that fill w.
func (w *loadWatch) watch(opts Options) Options {
	opts.verifying = func(v *verifier) { w.ver = v }
	opts.LoadDone = func() {
		if w.ver != nil {
			w.duringLoad = w.ver.checked()
			w.atLoad.Store(true)
		}
	}
	return opts
}
